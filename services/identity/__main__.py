"""`python -m services.identity`: serve the API and run the subscribers."""

from __future__ import annotations

from services.identity.config import IdentitySettings
from shared.http.serving import serve


def main() -> None:
    serve("services.identity.bootstrap:create_app", IdentitySettings())


if __name__ == "__main__":
    main()
