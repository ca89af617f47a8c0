"""``mobu demo``: a real local platform (JupyterHub, ...) exercised by autostarted flocks."""

from mobu.demo.base import DemoComponent, DemoContribution, DemoSettings
from mobu.demo.components import COMPONENTS, build_components
from mobu.demo.runner import DemoError, run_demo

__all__ = [
    "COMPONENTS",
    "DemoComponent",
    "DemoContribution",
    "DemoError",
    "DemoSettings",
    "build_components",
    "run_demo",
]
