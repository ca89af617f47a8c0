"""Identity providers, selected by the ``identity:`` configuration section.

A provider is one module here (:mod:`mobu.identity.jupyterhub`, :mod:`mobu.identity.static`)
plus its config model in :mod:`mobu.identity.config`; :func:`build_identity` picks it.
"""

from __future__ import annotations

import httpx
from structlog.typing import FilteringBoundLogger

from mobu.identity.base import AnonymousIdentity, IdentityError, IdentityProvider
from mobu.identity.config import IdentityConfig, JupyterHubIdentityConfig, StaticIdentityConfig
from mobu.identity.jupyterhub import JupyterHubIdentity
from mobu.identity.static import StaticIdentity

__all__ = [
    "AnonymousIdentity",
    "IdentityConfig",
    "IdentityError",
    "IdentityProvider",
    "JupyterHubIdentity",
    "JupyterHubIdentityConfig",
    "StaticIdentity",
    "StaticIdentityConfig",
    "build_identity",
]


def build_identity(
    config: IdentityConfig,
    *,
    hub_url: str | None,
    http: httpx.AsyncClient,
    logger: FilteringBoundLogger,
) -> IdentityProvider:
    """Build the provider selected by ``config``.

    Raises
    ------
    IdentityError
        The jupyterhub provider has no hub URL (neither identity.hub_url nor discovery).
    """
    if isinstance(config, StaticIdentityConfig):
        return StaticIdentity(config)
    url = str(config.hub_url) if config.hub_url is not None else hub_url
    if url is None:
        raise IdentityError(
            "identity provider jupyterhub needs identity.hub_url or discovery.services.hub"
        )
    return JupyterHubIdentity(config, hub_url=url, http=http, logger=logger)
