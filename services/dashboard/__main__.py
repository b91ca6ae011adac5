"""`python -m services.dashboard`: serve the pages and run the subscribers."""

from __future__ import annotations

from services.dashboard.config import DashboardSettings
from shared.http.serving import serve


def main() -> None:
    serve("services.dashboard.bootstrap:create_app", DashboardSettings())


if __name__ == "__main__":
    main()
