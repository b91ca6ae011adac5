"""`python -m services.civil_registry`: serve the civil registry stand-in (one worker)."""

from __future__ import annotations

import uvicorn

from services.civil_registry.config import RegistrySettings


def main() -> None:
    settings = RegistrySettings()
    uvicorn.run(
        "services.civil_registry.app:create_app",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
