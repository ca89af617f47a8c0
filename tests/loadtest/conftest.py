"""A JupyterHub with ``active_server_limit = 4`` for the hub capacity search."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mobu.platform.hub import LocalHub, find_configurable_http_proxy

CHP = find_configurable_http_proxy()


def _hub(extra: str) -> Iterator[LocalHub]:
    if CHP is None:
        pytest.skip("npm configurable-http-proxy not installed (run scripts/install/jupyter.sh)")
    local = LocalHub(chp=CHP, extra_config=extra)
    local.start()
    try:
        yield local
    finally:
        local.stop()
        local.cleanup()


@pytest.fixture(scope="module")
def limited_hub() -> Iterator[LocalHub]:
    """A hub that refuses (429) a spawn beyond 4 active servers."""
    yield from _hub("\nc.JupyterHub.active_server_limit = 4\n")


@pytest.fixture(scope="module")
def open_hub() -> Iterator[LocalHub]:
    """A hub without server limits."""
    yield from _hub("")
