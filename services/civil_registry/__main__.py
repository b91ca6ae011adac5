"""`python -m services.civil_registry`: serve the civil registry stand-in (one worker)."""

from __future__ import annotations

from services.civil_registry.config import RegistrySettings
from shared.http.serving import serve


def main() -> None:
    serve("services.civil_registry.app:create_app", RegistrySettings())


if __name__ == "__main__":
    main()
