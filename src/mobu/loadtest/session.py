"""One load test or capacity search from start to result, in-process or against a server."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from contextlib import suppress
from typing import Literal

from mobu.client import MobuClient
from mobu.config import Config
from mobu.exceptions import ClientRequestError, InvalidOptionsError
from mobu.factory import ProcessContext
from mobu.loadtest.capacity import search_capacity
from mobu.loadtest.plan import LoadTestPlan, PlanError
from mobu.loadtest.results import LoadTestResult
from mobu.loadtest.runner import LoadRun
from mobu.loadtest.target import EmbeddedTarget, LoadTarget, RemoteTarget
from mobu.models.errors import format_errors
from mobu.registry import BusinessRegistry
from mobu.services.builder import null_logger

__all__ = ["Mode", "run_embedded", "run_on", "run_remote"]

Mode = Literal["loadtest", "capacity"]


async def run_on(
    plan: LoadTestPlan,
    target: LoadTarget,
    *,
    mode: Mode,
    target_name: str = "embedded",
    on_sample: Callable[[LoadRun], None] | None = None,
) -> LoadTestResult:
    """Run ``plan`` on ``target``: the stages, or the capacity search; always stop the flocks.

    SIGINT and SIGTERM (when the loop can handle signals here) end the run early; the flocks
    are stopped and the result so far is returned, marked aborted.
    """
    run = LoadRun(plan, target, mode=mode, target_name=target_name, on_sample=on_sample)
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, run.stop_requested.set)
            handled.append(sig)
    capacity = None
    try:
        if mode == "capacity":
            capacity = await search_capacity(run)
        else:
            await run.run_stages()
    finally:
        try:
            await asyncio.shield(run.shutdown())
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
    refused = next((s.refused for s in run.scalers.values() if s.refused is not None), None)
    if refused is not None:
        raise PlanError(f"invalid plan: flocks: {' '.join(str(refused).split())}")
    result = run.result()
    if run.stop_requested.is_set() and not result.aborted:
        result.aborted = True
        result.abort_reason = "interrupted"
        result.passed = False
    if capacity is not None:
        result.capacity = capacity
        result.passed = capacity.capacity is not None and not run.stop_requested.is_set()
    return result


async def run_embedded(
    plan: LoadTestPlan,
    config: Config,
    *,
    mode: Mode,
    registry: BusinessRegistry | None = None,
    on_sample: Callable[[LoadRun], None] | None = None,
) -> LoadTestResult:
    """Run ``plan`` in this process (no server), with the service configuration ``config``."""
    names = {f.name for f in plan.flocks}
    problem: str | None = None
    async with ProcessContext(config, logger=null_logger(), registry=registry) as context:
        problem = _refused(plan, context)
        if problem is None:
            target = EmbeddedTarget(context, names, plan.window, plan.interval)
            try:
                return await run_on(plan, target, mode=mode, on_sample=on_sample)
            finally:
                target.close()
    raise PlanError(f"invalid plan: {problem}")


def _refused(plan: LoadTestPlan, context: ProcessContext) -> str | None:
    """Why this process cannot run one of the plan's businesses (one line), or None."""
    for index, flock in enumerate(plan.flocks):
        try:
            context.builder.prepare(flock.business, flock=flock.name)
        except InvalidOptionsError as exc:
            return format_errors(exc.errors_at(("flocks", index, "business"))[:1])
        except ClientRequestError as exc:
            return f"flocks.{index}.business: {exc}"
    return None


async def run_remote(
    plan: LoadTestPlan,
    url: str,
    *,
    mode: Mode,
    token: str | None = None,
    on_sample: Callable[[LoadRun], None] | None = None,
) -> LoadTestResult:
    """Run ``plan`` on the mobu server at ``url`` (its API, path prefix included)."""
    async with MobuClient(url, token=token) as client:
        target = RemoteTarget(client, {f.name for f in plan.flocks})
        return await run_on(plan, target, mode=mode, target_name=url, on_sample=on_sample)
