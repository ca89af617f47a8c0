"""Where the local platform's services are installed (``MOBU_PLATFORM_DIR``, read here only).

``scripts/install/*.sh`` install JupyterHub's proxy, giftless' venv and DaCHS' data under one
directory (``.services/`` of the repository); the launchers of :mod:`mobu.platform` take a
:class:`PlatformSettings` and find everything below its ``services_dir``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["PlatformSettings"]


class PlatformSettings(BaseSettings):
    """Settings of the local platform (the servers ``mobu demo`` and the tests start).

    Read from the environment: ``MOBU_PLATFORM_DIR`` sets ``services_dir``; the default is
    ``.services`` under the current working directory. The Makefile and the tests' conftest set
    it to the repository's ``.services``.
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    services_dir: Path = Field(
        default_factory=lambda: Path.cwd() / ".services",
        validation_alias=AliasChoices("services_dir", "MOBU_PLATFORM_DIR"),
        description="Directory the install scripts install the local services into.",
    )

    @property
    def configurable_http_proxy(self) -> Path:
        """npm's ``configurable-http-proxy`` (``scripts/install/jupyter.sh``)."""
        return self.services_dir / "jupyter" / "node_modules" / ".bin" / "configurable-http-proxy"

    @property
    def giftless_venv(self) -> Path:
        """The venv giftless runs from (``scripts/install/lfs.sh``)."""
        return self.services_dir / "giftless-venv"

    @property
    def dachs_dir(self) -> Path:
        """Parent of the private DaCHS servers' directories (template and ``run-*``)."""
        return self.services_dir / "dachs"
