"""`python -m services.programs`: serve the API and run the subscribers."""

from __future__ import annotations

from services.programs.config import ProgramsSettings
from shared.http.serving import serve


def main() -> None:
    serve("services.programs.bootstrap:create_app", ProgramsSettings())


if __name__ == "__main__":
    main()
