"""Load tests and the capacity search: ``mobu loadtest PLAN`` and ``mobu capacity PLAN``.

A plan (:mod:`mobu.loadtest.plan`) names flocks, stages or a search, and thresholds; a
:class:`~mobu.loadtest.runner.LoadRun` scales the flocks of a target (this process's engine, or
a server's API), samples them, judges the thresholds over a sliding window and at the end;
:func:`~mobu.loadtest.capacity.search_capacity` finds the knee and the layer that broke first.
"""

from mobu.loadtest.plan import LoadTestPlan, PlanError, load_plan
from mobu.loadtest.results import LoadTestResult
from mobu.loadtest.session import run_embedded, run_on, run_remote

__all__ = [
    "LoadTestPlan",
    "LoadTestResult",
    "PlanError",
    "load_plan",
    "run_embedded",
    "run_on",
    "run_remote",
]
