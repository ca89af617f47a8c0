"""``mobu.platform.settings``: the one setting that says where the local services are installed."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from mobu.platform.dachs import default_base_dir
from mobu.platform.hub import find_configurable_http_proxy
from mobu.platform.lfs import lfs_unavailable_reason
from mobu.platform.settings import PlatformSettings


def test_services_dir_defaults_to_dot_services_of_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``MOBU_PLATFORM_DIR`` the services are looked for in ``./.services``."""
    monkeypatch.delenv("MOBU_PLATFORM_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert PlatformSettings().services_dir == tmp_path / ".services"
    assert default_base_dir() == tmp_path / ".services" / "dachs"


def test_services_dir_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``MOBU_PLATFORM_DIR`` sets ``services_dir``, and the launchers look there."""
    monkeypatch.setenv("MOBU_PLATFORM_DIR", str(tmp_path))
    settings = PlatformSettings()
    assert settings.services_dir == tmp_path
    assert settings.giftless_venv == tmp_path / "giftless-venv"
    assert default_base_dir() == tmp_path / "dachs"


def test_launchers_use_the_settings_they_are_given(tmp_path: Path) -> None:
    """The proxy, giftless and DaCHS are found under the ``services_dir`` passed in."""
    settings = PlatformSettings(services_dir=tmp_path)
    proxy = settings.configurable_http_proxy
    proxy.parent.mkdir(parents=True)
    proxy.write_text("#!/bin/sh\n")
    proxy.chmod(proxy.stat().st_mode | stat.S_IXUSR)
    assert find_configurable_http_proxy(settings) == str(proxy)
    assert default_base_dir(settings) == tmp_path / "dachs"
    if shutil.which("git") and shutil.which("git-lfs"):
        assert str(settings.giftless_venv) in (lfs_unavailable_reason(settings) or "")


def test_conftest_points_the_platform_at_the_repository() -> None:
    """The tests' conftest sets ``MOBU_PLATFORM_DIR`` to the repository's ``.services``."""
    root = Path(__file__).parents[1]
    assert Path(os.environ["MOBU_PLATFORM_DIR"]) == root / ".services"
