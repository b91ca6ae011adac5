"""`python -m services.agreements`: serve the API and run the subscribers."""

from __future__ import annotations

from services.agreements.config import AgreementsSettings
from shared.http.serving import serve


def main() -> None:
    serve("services.agreements.bootstrap:create_app", AgreementsSettings())


if __name__ == "__main__":
    main()
