"""``mobu demo``: a real local platform (JupyterHub, ...) exercised by autostarted flocks."""

from mobu.demo.base import DemoComponent, DemoContribution, DemoSettings, start_in_thread
from mobu.demo.components import COMPONENTS, build_components
from mobu.demo.processes import ProcessRegistry, ProcessScope, StartAbandonedError
from mobu.demo.runner import DemoError, run_demo
from mobu.demo.stop import StopRequest

__all__ = [
    "COMPONENTS",
    "DemoComponent",
    "DemoContribution",
    "DemoError",
    "DemoSettings",
    "ProcessRegistry",
    "ProcessScope",
    "StartAbandonedError",
    "StopRequest",
    "build_components",
    "run_demo",
    "start_in_thread",
]
