"""The components ``mobu demo`` starts, in order.

To add one, append its factory (a callable taking :class:`DemoSettings` and returning a
:class:`DemoComponent`) to :data:`COMPONENTS`.
"""

from __future__ import annotations

from collections.abc import Callable

from mobu.demo.base import DemoComponent, DemoSettings
from mobu.demo.dachs import DachsDemo
from mobu.demo.jupyter import JupyterHubDemo
from mobu.demo.rsp import RspDemo

__all__ = ["COMPONENTS", "PLATFORMS", "build_components"]

COMPONENTS: list[Callable[[DemoSettings], DemoComponent]] = [
    JupyterHubDemo,
    DachsDemo,
]
"""Factories of the demo components, started in this order and stopped in reverse."""


PLATFORMS: dict[str, list[Callable[[DemoSettings], DemoComponent]]] = {
    "local": COMPONENTS,
    "rsp": [RspDemo],
}
"""``mobu demo --platform``: the components of each platform (``local`` is the default)."""


def build_components(settings: DemoSettings, platform: str = "local") -> list[DemoComponent]:
    """Instantiate every component of ``platform``."""
    return [factory(settings) for factory in PLATFORMS[platform]]
