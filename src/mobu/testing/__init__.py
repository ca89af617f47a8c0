"""What a project that writes its own business uses to test it with mobu.

A recording :class:`~mobu.events.Events` (``Events()`` keeps every event in its ``recorder``,
an :class:`~mobu.events.EventRecorder` a test can wait on), a fake business
(:class:`FakeBusiness`), a way to run a business once (:func:`run_business_once`) and the Muster
reference server (:func:`run_muster_server`). The servers ``mobu demo`` and mobu's own tests
start (JupyterHub, DaCHS, giftless, Prometheus) are in ``mobu.platform``, not here.
"""

from mobu.events import EventRecorder, Events
from mobu.testing.business import (
    BusinessRun,
    FakeBusiness,
    FakeExecution,
    FakeOptions,
    run_business_once,
)
from mobu.testing.muster import (
    RULES,
    MusterIdentity,
    MusterServer,
    RunningMuster,
    run_muster_server,
)

__all__ = [
    "RULES",
    "BusinessRun",
    "EventRecorder",
    "Events",
    "FakeBusiness",
    "FakeExecution",
    "FakeOptions",
    "MusterIdentity",
    "MusterServer",
    "RunningMuster",
    "run_business_once",
    "run_muster_server",
]
