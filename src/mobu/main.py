"""The FastAPI application: ``create_app(config)`` builds it, its lifespan owns the process.

The reference's container starts ``uvicorn --factory mobu.main:create_app --host 0.0.0.0 --port
8080``; that works here too (and ``uvicorn mobu.main:app``): the configuration then comes from
``MOBU_CONFIG_PATH`` (default ``/etc/mobu/config.yaml`` when it exists) and the environment.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Security
from fastapi.security import HTTPBearer
from safir.middleware.x_forwarded import XForwardedMiddleware

from mobu.config import Config, ConfigError, default_config_path, load_config
from mobu.dependencies.auth import AuthMiddleware
from mobu.factory import ProcessContext
from mobu.handlers import api, flocks, github, history, internal, metrics, ui
from mobu.handlers.errors import install_error_handlers
from mobu.handlers.limits import BodyLimitMiddleware
from mobu.logsetup import configure_logging, get_logger
from mobu.registry import BusinessRegistry

__all__ = ["app_context", "create_app"]


def app_context(app: FastAPI) -> ProcessContext | None:
    """Return the process context of ``app`` (None before its lifespan built one).

    ``app.state`` holds the context and nothing else: the configuration, the autostart and
    the shutdown in progress are the context's.
    """
    context: ProcessContext | None = getattr(app.state, "context", None)
    return context


def _describe_options_openly(app: FastAPI) -> None:
    """Describe ``business.options`` as an open object in the OpenAPI schema.

    The options model depends on ``business.type`` (a plugin), so the static schema of the base
    options would wrongly forbid every business's own keys; ``GET {prefix}/businesses`` gives
    the schema of each type's options.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for name, component in schema.get("components", {}).get("schemas", {}).items():
                if name.startswith("BusinessConfig") and "options" in component["properties"]:
                    described = component["properties"]["options"]
                    component["properties"]["options"] = {
                        "type": "object",
                        "additionalProperties": True,
                        "title": "Options",
                        "description": described.get("description", ""),
                    }
        return app.openapi_schema or generate()

    app.openapi = openapi  # type: ignore[method-assign]


def _include_github(
    app: FastAPI, config: Config, prefix: str, dependencies: list[Any]
) -> list[str]:
    """Mount the configured GitHub apps' routes; return the (anonymous) webhook paths."""
    open_paths = []
    if config.github_refresh_app is not None:
        app.include_router(github.refresh_router, prefix=prefix)
        open_paths.append(prefix + github.REFRESH_WEBHOOK)
    if config.github_ci_app is not None:
        app.include_router(github.ci_webhook_router, prefix=prefix)
        app.include_router(github.ci_router, prefix=prefix, dependencies=dependencies)
        open_paths.append(prefix + github.CI_WEBHOOK)
    return open_paths


def _config_from_environment(registry: BusinessRegistry) -> Config:
    """The configuration of ``MOBU_CONFIG_PATH`` and the environment; exit 2 if it is bad."""
    try:
        return load_config(default_config_path(), registry=registry)
    except ConfigError as exc:
        print(f"mobu: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def create_app(config: Config | None = None, *, context: ProcessContext | None = None) -> FastAPI:
    """Create the application for ``config`` (default: from ``MOBU_*`` and the config file).

    Parameters
    ----------
    config
        The configuration; by default loaded from the file named by ``MOBU_CONFIG_PATH`` (if
        set; else ``/etc/mobu/config.yaml`` if it exists) and the ``MOBU_*`` environment
        variables. The app then cannot see the address it is bound to, so ``auth: none``
        serves loopback clients only.
    context
        A prebuilt process context (tests, embedding); built from ``config`` by the lifespan
        otherwise. The lifespan enters it and starts it (the ``autostart:`` flocks); on
        shutdown, leaving it stops every flock. ``app.state.context`` is that context.
    """
    registry = context.registry if context is not None else BusinessRegistry()
    loopback_only = config is None
    if config is None:
        config = _config_from_environment(registry)
    configure_logging(config.logging)
    logger = get_logger("mobu")
    prefix = config.path_prefix.rstrip("/")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        process = context or ProcessContext(config, logger=logger, registry=registry)
        app.state.context = process
        async with process:
            await process.start()
            logger.info(
                "mobu started",
                data_dir=str(process.config.data_dir),
                flocks=len(process.manager.list_flocks()),
                autostart_failures=len(process.manager.autostart_failures),
            )
            yield
            logger.info("Shutting down: stopping all flocks")
        logger.info("All flocks stopped")

    app = FastAPI(
        title="mobu",
        description=api.DESCRIPTION,
        version=api.metadata(config.name).version,
        openapi_url=f"{prefix}/openapi.json",
        docs_url=f"{prefix}/docs",
        redoc_url=f"{prefix}/redoc",
        lifespan=lifespan,
    )
    if context is not None:
        app.state.context = context
    open_paths = _include_routers(app, config, prefix)
    install_error_handlers(app)
    _describe_options_openly(app)
    _add_middleware(app, config, loopback_only=loopback_only, open_paths=open_paths)
    return app


def _include_routers(app: FastAPI, config: Config, prefix: str) -> list[str]:
    """Mount every router; return the paths that skip authentication (signed webhooks)."""
    dependencies: list[Any] = []
    if config.auth.mode == "tokens":
        dependencies.append(Security(HTTPBearer(auto_error=False, description="Admin token")))
    app.include_router(api.router, prefix=prefix, dependencies=dependencies)
    app.include_router(flocks.router, prefix=prefix, dependencies=dependencies)
    open_paths = _include_github(app, config, prefix, dependencies)
    app.include_router(history.router, prefix=prefix, dependencies=dependencies)
    *open_routers, live = ui.routers(config.auth.mode)
    for router in open_routers:
        app.include_router(router, prefix=prefix)
    app.include_router(live, prefix=prefix, dependencies=dependencies)
    app.include_router(internal.router)
    app.include_router(metrics.router)
    return open_paths


def _add_middleware(
    app: FastAPI, config: Config, *, loopback_only: bool, open_paths: list[str]
) -> None:
    """Authentication (inside), the body limit, then X-Forwarded (outside)."""
    prefix = config.path_prefix.rstrip("/")
    app.add_middleware(
        AuthMiddleware,
        config=config.auth,
        prefix=prefix,
        loopback_only=loopback_only,
        open_paths=open_paths,
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.max_request_bytes)
    app.add_middleware(XForwardedMiddleware)  # behind the ingress: scheme and client from it


def __getattr__(name: str) -> Any:
    """``mobu.main:app``: the application of the environment's configuration, made on first use.

    For ``uvicorn mobu.main:app``; a bad configuration raises :class:`mobu.config.ConfigError`.
    """
    if name == "app":
        return create_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
