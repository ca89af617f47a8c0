"""The capacity search: grow the count until a threshold breaks, refine, name the layer."""

from __future__ import annotations

import math

from mobu.loadtest.evaluate import make_breach, span_value
from mobu.loadtest.layers import MOBU, UNKNOWN, layer_of_event
from mobu.loadtest.results import Breach, CapacityResult, StepResult
from mobu.loadtest.runner import LoadRun

__all__ = ["search_capacity"]


async def search_capacity(run: LoadRun) -> CapacityResult:
    """Find the largest monkey count that holds every threshold for ``search.hold``.

    Counts grow from ``start`` by ``factor`` (at least by one) up to ``max``; at the first
    count that breaks a threshold, with ``refine``, a binary search between the last good and
    the first bad count narrows the answer to one monkey. The layer is that of the first bad
    step: mobu itself if the event loop lagged past its warning, else the layer of the first
    failure of the step, else that of the event whose threshold broke.
    """
    spec = run.plan.search
    assert spec is not None
    steps: list[StepResult] = []
    first_bad: tuple[StepResult, Breach | None] | None = None
    good: int | None = None
    bad: int | None = None
    count = spec.start
    while not run.stop_requested.is_set():
        step, breach = await _try(run, count)
        steps.append(step)
        if not step.held:
            bad, first_bad = count, (step, breach)
            break
        good = count
        if count >= spec.max:
            break
        count = min(spec.max, max(count + 1, math.ceil(count * spec.factor)))
    while (
        spec.refine
        and good is not None
        and bad is not None
        and bad - good > 1
        and not run.stop_requested.is_set()
    ):
        middle = (good + bad) // 2
        step, _ = await _try(run, middle)
        steps.append(step)
        if step.held:
            good = middle
        else:
            bad = middle
    return CapacityResult(
        capacity=good,
        first_breach=first_bad[1] if first_bad else None,
        layer=first_bad[0].layer if first_bad else None,
        max_reached=bad is None and good == spec.max,
        steps=steps,
    )


async def _try(run: LoadRun, count: int) -> tuple[StepResult, Breach | None]:
    """Hold ``count`` monkeys per flock; the step and its first breach (None if it held)."""
    spec = run.plan.search
    assert spec is not None
    run.mark(f"step {len(run.stages) + 1}: {count} monkeys")
    await run.settle(dict.fromkeys(run.scalers, count))
    error = run.scale_error()
    if error is not None:
        run.aborted = None
        for scaler in run.scalers.values():
            scaler.error = None
        t = run.now()
        step = StepResult(count=count, held=False, start=t, end=t, breaches=[str(error)])
        step.layer = error.layer
        return step, None
    await run.hold(spec.warmup.total_seconds())
    run.target.reset_step()
    run.tracker.clear(run.now())
    run.history.clear()  # the window of a step holds only the step's samples
    run.span_start = run.now()
    base = await run.sample()
    start = base.t
    grace = run.grace
    while run.now() - start < spec.hold.total_seconds() and not run.stop_requested.is_set():
        await run.wait_tick()
        now = await run.sample()
        if run.tracker.lasting(now.t, grace) is not None:
            break
    end = run.last
    assert end is not None
    breaches = run.tracker.clear(end.t)
    for threshold in run.plan.thresholds:
        value = span_value(threshold, base, end, "step")
        if value is not None and threshold.breached(value):
            breaches.append(
                make_breach(threshold, value, end.t, end.obs.monkeys, run.stage, "step")
            )
    lags = [p.lag for p in run.timeline if p.t >= start and p.lag is not None]
    step = StepResult(
        count=count,
        held=not breaches,
        start=start,
        end=end.t,
        breaches=sorted({b.threshold for b in breaches}),
    )
    if breaches:
        warning = run.target.lag_warning
        if warning is not None and lags and max(lags) > warning:
            step.layer = MOBU
        elif end.obs.layers:
            step.layer = min(end.obs.layers, key=lambda layer: end.obs.layers[layer])
        else:
            first = min(breaches, key=lambda b: b.start)
            event = next((t.event for t in run.plan.thresholds if t.label == first.threshold), None)
            step.layer = layer_of_event(event) if event else UNKNOWN
    return step, min(breaches, key=lambda b: b.start) if breaches else None
