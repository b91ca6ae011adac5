"""`python -m services.agreements`: serve the API and run the subscribers."""

from __future__ import annotations

import uvicorn

from services.agreements.config import AgreementsSettings


def main() -> None:
    settings = AgreementsSettings()
    uvicorn.run(
        "services.agreements.bootstrap:create_app",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    main()
