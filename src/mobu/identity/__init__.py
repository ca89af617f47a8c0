"""Identity providers, selected by the ``identity:`` configuration section.

A provider is one module here (:mod:`mobu.identity.jupyterhub`, :mod:`mobu.identity.static`)
(and :mod:`mobu.identity.gafaelfawr`)
plus its config model in :mod:`mobu.identity.config`; :func:`build_identity` picks it.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
from rubin.repertoire import DiscoveryClient
from structlog.typing import FilteringBoundLogger

from mobu.alerts.reporting import FailureReport
from mobu.identity.base import (
    AnonymousIdentity,
    IdentityError,
    IdentityProvider,
    release_users,
)
from mobu.identity.config import (
    GafaelfawrIdentityConfig,
    IdentityConfig,
    JupyterHubIdentityConfig,
    StaticIdentityConfig,
)
from mobu.identity.gafaelfawr import GafaelfawrIdentity
from mobu.identity.jupyterhub import JupyterHubIdentity
from mobu.identity.static import StaticIdentity

__all__ = [
    "AnonymousIdentity",
    "GafaelfawrIdentity",
    "GafaelfawrIdentityConfig",
    "IdentityConfig",
    "IdentityError",
    "IdentityProvider",
    "JupyterHubIdentity",
    "JupyterHubIdentityConfig",
    "StaticIdentity",
    "StaticIdentityConfig",
    "build_identity",
    "release_users",
]


def build_identity(
    config: IdentityConfig,
    *,
    hub_url: str | None,
    http: httpx.AsyncClient,
    logger: FilteringBoundLogger,
    gafaelfawr_token: str | None = None,
    repertoire: DiscoveryClient | None = None,
    report: Callable[[FailureReport], None] | None = None,
) -> IdentityProvider:
    """Build the provider selected by ``config``.

    ``gafaelfawr_token`` (``MOBU_GAFAELFAWR_TOKEN``), ``repertoire`` (the Repertoire client)
    and ``report`` (where renewal failures go) serve the gafaelfawr provider.

    Raises
    ------
    IdentityError
        The jupyterhub provider has no hub URL (neither identity.hub_url nor discovery), or
        the gafaelfawr provider has no admin token or no Repertoire.
    """
    if isinstance(config, StaticIdentityConfig):
        return StaticIdentity(config)
    if isinstance(config, GafaelfawrIdentityConfig):
        secret = config.admin_token.get_secret_value() if config.admin_token else gafaelfawr_token
        if not secret:
            raise IdentityError(
                "identity provider gafaelfawr needs MOBU_GAFAELFAWR_TOKEN or identity.admin_token"
            )
        if repertoire is None:
            raise IdentityError(
                "identity provider gafaelfawr finds Gafaelfawr through Repertoire:"
                " set REPERTOIRE_BASE_URL"
            )
        return GafaelfawrIdentity(
            config, admin_token=secret, discovery=repertoire, http=http, logger=logger,
            report=report,
        )  # fmt: skip
    url = str(config.hub_url) if config.hub_url is not None else hub_url
    if url is None:
        raise IdentityError(
            "identity provider jupyterhub needs identity.hub_url or discovery.services.hub"
        )
    return JupyterHubIdentity(config, hub_url=url, http=http, logger=logger)
