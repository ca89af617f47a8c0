"""Running a plan: scaling the flocks, sampling, judging thresholds, the stages."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from mobu.exceptions import MobuError
from mobu.loadtest.evaluate import BreachTracker, Sample, make_breach, span_value
from mobu.loadtest.layers import layer_of_error
from mobu.loadtest.plan import LoadTestPlan
from mobu.loadtest.results import (
    Breach,
    EventResult,
    LoadTestResult,
    StageMark,
    ThresholdResult,
    TimelinePoint,
)
from mobu.loadtest.target import LoadTarget
from mobu.models.flock import FlockConfig

__all__ = ["LoadRun", "ScaleError"]


class ScaleError(Exception):
    """Not a MobuError: carries the error that stopped a flock from being started or resized."""

    def __init__(self, flock: str, error: BaseException) -> None:
        super().__init__(f"flock {flock} could not be scaled: {type(error).__name__}: {error}")
        self.error = error
        self.layer = layer_of_error(error)
        status = getattr(error, "status_code", None)
        self.bad_input = isinstance(error, MobuError) and status == 422
        """The flock itself was refused (its business or options): the plan is wrong."""


class _Scaler:
    """Moves one flock to its desired monkey count, one start/resize/stop at a time."""

    def __init__(self, config: FlockConfig, target: LoadTarget) -> None:
        self.config = config
        self.target = target
        self.desired = 0
        self.current = 0
        self.task: asyncio.Task[None] | None = None
        self.error: ScaleError | None = None
        self.refused: BaseException | None = None
        """Why the target refused the flock (its business or options), if it did."""

    def want(self, count: int) -> None:
        self.desired = count
        if self.current != count and (self.task is None or self.task.done()):
            self.task = asyncio.create_task(self._converge(), name=f"scale:{self.config.name}")

    async def _converge(self) -> None:
        while self.current != self.desired:
            count = self.desired
            try:
                if count == 0:
                    await self.target.stop(self.config.name)
                elif self.current == 0:
                    await self.target.start(self.config.model_copy(update={"count": count}))
                else:
                    await self.target.resize(self.config.name, count)
            except Exception as exc:  # noqa: BLE001 - reported as the step's or run's failure
                self.error = ScaleError(self.config.name, exc)
                if self.error.bad_input:
                    self.refused = exc
                return
            self.current = count


class LoadRun:
    """One run of a plan against a target; :meth:`result` is the document it produced.

    Parameters
    ----------
    plan
        The plan.
    target
        Where the flocks run.
    mode, target_name
        For the result document.
    on_sample
        Called after every sample (the live view).
    """

    def __init__(
        self,
        plan: LoadTestPlan,
        target: LoadTarget,
        *,
        mode: str = "loadtest",
        target_name: str = "embedded",
        on_sample: Callable[[LoadRun], None] | None = None,
    ) -> None:
        self.plan = plan
        self.target = target
        self.mode = mode
        self.target_name = target_name
        self.on_sample = on_sample
        self.started_at = datetime.now(tz=UTC)
        self._t0 = time.monotonic()
        self.interval = plan.interval.total_seconds()
        self.window = plan.window.total_seconds()
        self.grace = plan.grace.total_seconds()
        self.scalers = {f.name: _Scaler(f, target) for f in plan.flocks}
        self.tracker = BreachTracker(plan.thresholds)
        self.history: deque[Sample] = deque()
        self.last: Sample | None = None
        self.timeline: list[TimelinePoint] = []
        self.stages: list[StageMark] = []
        self.stage = 0
        self.stage_label = ""
        self.aborted: str | None = None
        self.abort_breach: Breach | None = None
        self.stop_requested = asyncio.Event()
        self.span_start = 0.0
        """Since when the sliding window holds samples (the run's or the search step's start)."""

    def now(self) -> float:
        """Seconds since the run began."""
        return time.monotonic() - self._t0

    def mark(self, label: str) -> None:
        """Begin a stage (or search step)."""
        self.stage = len(self.stages)
        self.stage_label = label
        self.stages.append(StageMark(index=self.stage, start=self.now(), label=label))

    # Sampling -------------------------------------------------------------------------------

    async def sample(self) -> Sample:
        """Observe, judge the thresholds over the window, record the point."""
        now = Sample(self.now(), await self.target.observe())
        while self.history and self.history[0].t < now.t - self.window:
            self.history.popleft()
        base = self.history[0] if self.history else self.last
        full = now.t - self.span_start >= self.window
        values = [
            span_value(t, base, now, "window") if full or t.stat != "rate" else None
            for t in self.plan.thresholds
        ]  # a rate is judged once a whole window has passed
        self.tracker.update(values, now.t, now.obs.monkeys, self.stage)
        self._point(now)
        self.history.append(now)
        self.last = now
        if self.plan.abort_on_fail and self.mode == "loadtest" and self.aborted is None:
            lasting = self.tracker.lasting(now.t, self.grace)
            if lasting is not None:
                self.aborted = f"{lasting.threshold} breached for longer than the grace"
                self.abort_breach = lasting
        if self.on_sample is not None:
            self.on_sample(self)
        return now

    def _point(self, now: Sample) -> None:
        previous = self.last
        span = now.t - previous.t if previous is not None else now.t
        events: dict[str, dict[str, float | None]] = {}
        for name, view in now.obs.events.items():
            old = previous.obs.events.get(name) if previous is not None else None
            count = view.count - (old.count if old else 0)
            events[name] = {
                "rate": count / span if span > 0 else None,
                "p50": view.window.p50,
                "p95": view.window.p95,
                "p99": view.window.p99,
            }
        done = now.obs.iterations - (previous.obs.iterations if previous else 0)
        base = self.history[0] if self.history else previous
        window_done = now.obs.iterations - (base.obs.iterations if base else 0)
        window_failed = now.obs.failures - (base.obs.failures if base else 0)
        self.timeline.append(
            TimelinePoint(
                t=now.t,
                stage=self.stage,
                monkeys=now.obs.monkeys,
                rate=done / span if span > 0 else None,
                failure_rate=window_failed / window_done if window_done > 0 else None,
                lag=now.obs.lag,
                events=events,
            )
        )

    async def wait_tick(self, pending: set[asyncio.Task[None]] | None = None) -> None:
        """Wait one sampling interval (less if ``pending`` tasks end or a stop is asked)."""
        waiters: set[asyncio.Future[Any]] = set(pending or ())
        stop = asyncio.ensure_future(self.stop_requested.wait())
        waiters.add(stop)
        try:
            await asyncio.wait(waiters, timeout=self.interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()

    @property
    def ending(self) -> bool:
        """Whether the run must end now (aborted, stopped, or a flock could not be scaled)."""
        return self.aborted is not None or self.stop_requested.is_set()

    def scale_error(self) -> ScaleError | None:
        """The first error that stopped a flock from being scaled."""
        return next((s.error for s in self.scalers.values() if s.error is not None), None)

    # Scaling --------------------------------------------------------------------------------

    async def settle(self, counts: dict[str, int]) -> None:
        """Move every flock to its count, sampling while the starts, resizes and stops run."""
        for name, count in counts.items():
            self.scalers[name].want(count)
        while True:
            pending = {s.task for s in self.scalers.values() if s.task and not s.task.done()}
            if not pending:
                break
            await self.wait_tick(pending)
            await self.sample()
        error = self.scale_error()
        if error is not None and self.aborted is None:
            self.aborted = str(error)

    async def hold(self, seconds: float, ramp: dict[str, tuple[int, int]] | None = None) -> None:
        """Sample for ``seconds``; with ``ramp`` (flock: from, to), move the counts linearly."""
        start = self.now()
        while not self.ending:
            elapsed = self.now() - start
            if elapsed >= seconds:
                break
            for name, (first, goal) in (ramp or {}).items():
                fraction = min(1.0, elapsed / seconds)
                self.scalers[name].want(round(first + (goal - first) * fraction))
            await self.wait_tick()
            await self.sample()
            if self.scale_error() is not None:
                self.aborted = str(self.scale_error())

    async def run_stages(self) -> None:
        """Start the flocks, run every stage (ramp, then hold), then stop the flocks."""
        await self.settle({f.name: f.count for f in self.plan.flocks})
        for number, stage in enumerate(self.plan.stages or []):
            if self.ending:
                break
            self.mark(f"stage {number + 1}: {stage.monkeys} monkeys")
            ramp = {name: (s.current, stage.monkeys) for name, s in self.scalers.items()}
            if stage.ramp.total_seconds() > 0:
                await self.hold(stage.ramp.total_seconds(), ramp)
            if not self.ending:
                await self.settle(dict.fromkeys(self.scalers, stage.monkeys))
            await self.hold(stage.hold.total_seconds())

    async def shutdown(self) -> None:
        """Stop every flock still running (waiting for any scaling in progress first)."""
        tasks = [s.task for s in self.scalers.values() if s.task is not None]
        if tasks:
            await asyncio.wait(tasks)
        for scaler in self.scalers.values():
            scaler.error = None
        await self.settle(dict.fromkeys(self.scalers, 0))

    # The result -----------------------------------------------------------------------------

    def result(self) -> LoadTestResult:
        """The result document of the run so far (every open breach closed now)."""
        end = self.last
        t = self.now()
        window = self.tracker.close_all(t)
        thresholds: list[ThresholdResult] = []
        for threshold in self.plan.thresholds:
            value = span_value(threshold, None, end, "total") if end is not None else None
            mine = [b for b in window if b.threshold == threshold.label]
            if end is not None and value is not None and threshold.breached(value):
                mine.append(make_breach(threshold, value, t, end.obs.monkeys, None, "end"))
            thresholds.append(
                ThresholdResult(
                    label=threshold.label,
                    event=threshold.event,
                    stat=threshold.stat,
                    max=threshold.max,
                    min=threshold.min,
                    passed=not mine,
                    value=value,
                    breaches=mine,
                )
            )
        events = {}
        if end is not None:
            for name, view in sorted(end.obs.events.items()):
                total = view.total
                events[name] = EventResult(
                    count=view.count, failures=view.failures, p50=total.p50, p90=total.p90,
                    p95=total.p95, p99=total.p99, max=total.max, mean=total.mean,
                )  # fmt: skip
        return LoadTestResult(
            name=self.plan.name,
            mode=self.mode,
            target=self.target_name,
            started_at=self.started_at,
            duration=t,
            passed=all(r.passed for r in thresholds) and self.aborted is None,
            aborted=self.aborted is not None,
            abort_reason=self.aborted,
            thresholds=thresholds,
            stages=self.stages,
            timeline=self.timeline,
            events=events,
            errors=dict(end.obs.errors) if end is not None else {},
            lag_warning=self.target.lag_warning,
        )
