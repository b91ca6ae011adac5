"""`python -m services.identity`: serve the API and run the subscribers."""

from __future__ import annotations

import uvicorn

from services.identity.config import IdentitySettings


def main() -> None:
    settings = IdentitySettings()
    uvicorn.run(
        "services.identity.bootstrap:create_app",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    main()
