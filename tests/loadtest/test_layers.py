"""Failures and slow events point at a layer; a lagging event loop means mobu itself."""

from __future__ import annotations

import time
from typing import override

from mobu.config import Config
from mobu.identity.base import IdentityError
from mobu.loadtest import LoadTestPlan, run_embedded
from mobu.loadtest.layers import layer_of_error, layer_of_event
from mobu.models.business.base import BusinessOptions
from mobu.registry import BusinessRegistry
from mobu.services.business.base import Business
from mobu.services.business.httpcheck import HTTPCheckError
from mobu.services.business.tap import TAPQueryError
from mobu.storage.jupyter.errors import (
    CodeExecutionError,
    JupyterError,
    JupyterSpawnTimeoutError,
    JupyterWebError,
)


def test_errors_point_at_layers() -> None:
    """Type first, then the recorded lab-cycle phase."""
    refused = JupyterWebError("spawn refused", method="POST", url="http://hub/", status=429)
    refused.context["phase"] = "spawn_request"
    assert layer_of_error(refused, refused.context) == "hub"
    assert layer_of_error(IdentityError("no token")) == "identity"
    assert layer_of_error(JupyterSpawnTimeoutError("slow", phase="spawn_progress")) == (
        "spawner/lab start"
    )
    lab = JupyterError("timed out", phase="session_create")
    assert layer_of_error(lab, lab.context) == "proxy/lab HTTP"
    kernel = CodeExecutionError("boom", code="1/0", status="error")
    assert layer_of_error(kernel) == "kernel"
    assert layer_of_error(HTTPCheckError("503")) == "downstream HTTP"
    assert layer_of_error(TAPQueryError("bad")) == "downstream TAP"
    assert layer_of_error(RuntimeError("?")) == "unknown"


def test_events_point_at_layers() -> None:
    """Event names map to the layer their duration measures."""
    assert layer_of_event("nublado_spawn_lab") == "spawner/lab start"
    assert layer_of_event("nublado_python_execution") == "kernel"
    assert layer_of_event("http_check") == "downstream HTTP"
    assert layer_of_event("something_else") == "unknown"
    assert layer_of_event(None) == "unknown"


class Hog(Business[BusinessOptions]):
    """A generator-side hog: each iteration blocks the event loop (CPU-bound monkey work)."""

    options_model = BusinessOptions

    @override
    async def execute(self) -> None:
        time.sleep(0.05)  # blocks the loop on purpose: mobu itself is the bottleneck


async def test_a_lagging_event_loop_is_mobu_itself() -> None:
    """When the event loop lags past its warning, the search blames mobu, not the platform."""
    plan = LoadTestPlan.model_validate(
        {
            "name": "hog",
            "flocks": [
                {
                    "name": "hog",
                    "count": 1,
                    "user_spec": {"username_prefix": "bot-mobu-hog"},
                    "business": {"type": "Hog", "options": {"idle_time": 0}},
                }
            ],
            "search": {"start": 2, "max": 4, "hold": "1s"},
            "thresholds": [{"stat": "rate", "min": 1_000_000}],
            "grace": 0,
            "window": "500ms",
            "interval": "100ms",
        }
    )
    config = Config(metrics={"event_loop_lag_warning": 0.01})
    result = await run_embedded(
        plan, config, mode="capacity", registry=BusinessRegistry({"Hog": Hog})
    )
    assert result.capacity is not None
    assert result.capacity.capacity is None
    assert result.capacity.layer == "mobu itself"
    assert result.passed is False
    assert max(p.lag or 0 for p in result.timeline) > 0.01
