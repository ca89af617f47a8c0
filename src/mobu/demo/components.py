"""The components ``mobu demo`` starts, in order.

To add one, append its factory (a callable taking :class:`DemoSettings` and returning a
:class:`DemoComponent`) to :data:`COMPONENTS`.
"""

from __future__ import annotations

from collections.abc import Callable

from mobu.demo.base import DemoComponent, DemoSettings
from mobu.demo.dachs import DachsDemo
from mobu.demo.jupyter import JupyterHubDemo

__all__ = ["COMPONENTS", "build_components"]

COMPONENTS: list[Callable[[DemoSettings], DemoComponent]] = [
    JupyterHubDemo,
    DachsDemo,
]
"""Factories of the demo components, started in this order and stopped in reverse."""


def build_components(settings: DemoSettings) -> list[DemoComponent]:
    """Instantiate every registered component."""
    return [factory(settings) for factory in COMPONENTS]
