"""The FastAPI application: ``create_app(config)`` builds it, its lifespan owns the process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from mobu.config import Config
from mobu.factory import ProcessContext
from mobu.logsetup import configure_logging, get_logger

__all__ = ["create_app"]


def create_app(config: Config | None = None, *, context: ProcessContext | None = None) -> FastAPI:
    """Create the application for ``config`` (default: from ``MOBU_*`` and the config file).

    Parameters
    ----------
    config
        The configuration.
    context
        A prebuilt process context (tests); built from ``config`` by the lifespan otherwise.
    """
    if config is None:
        import os  # noqa: PLC0415
        from pathlib import Path  # noqa: PLC0415

        from mobu.config import load_config  # noqa: PLC0415

        path = os.environ.get("MOBU_CONFIG_PATH")
        config = load_config(Path(path) if path else None)
    configure_logging(config.logging)
    logger = get_logger("mobu")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        process = context or ProcessContext(config, logger=logger)
        async with process:
            app.state.context = process
            await process.manager.autostart(config.autostart)
            yield
            logger.info("Shutting down: stopping all flocks")

    app = FastAPI(
        title="mobu",
        description="Simulated users of a science platform, for monitoring and load testing",
        openapi_url=f"{config.path_prefix}/openapi.json",
        docs_url=f"{config.path_prefix}/docs",
        redoc_url=f"{config.path_prefix}/redoc",
        lifespan=lifespan,
    )
    app.state.config = config

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
