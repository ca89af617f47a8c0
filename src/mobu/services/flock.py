"""Flock: a named group of monkeys running the same business."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime

from structlog.typing import FilteringBoundLogger

from mobu.exceptions import MonkeyNotFoundError
from mobu.identity import IdentityProvider, release_users
from mobu.models.business.base import BusinessOptions
from mobu.models.flock import FlockConfig, FlockData, FlockSummary
from mobu.models.monkey import MonkeyState
from mobu.services.builder import MonkeyFactory
from mobu.services.monkey import Monkey
from mobu.services.stats import StatsCollector
from mobu.services.users import flock_users

__all__ = ["Flock"]


class Flock:
    """A flock of monkeys.

    Parameters
    ----------
    config
        Configuration of the flock (its business as given).
    factory
        The flock's business, prepared: builds the monkey of each user.
    identity
        Gives the monkeys their tokens.
    task_group
        Owns the monkeys' tasks.
    replica_count, replica_index
        This process's share of the users.
    logger
        Main logger.
    stats
        Latency statistics of the process's events, if collected.
    """

    def __init__(
        self,
        *,
        config: FlockConfig,
        factory: MonkeyFactory,
        identity: IdentityProvider,
        task_group: asyncio.TaskGroup,
        replica_count: int = 1,
        replica_index: int = 0,
        logger: FilteringBoundLogger,
        stats: StatsCollector | None = None,
    ) -> None:
        self.name = config.name
        self._stats = stats
        self.config = config.model_copy(update={"business": factory.config})
        """The configuration as it is shown (options validated, secrets masked)."""
        self._factory = factory
        self._identity = identity
        self._task_group = task_group
        self._replica_count = replica_count
        self._replica_index = replica_index
        self._logger = logger.bind(flock=config.name)
        self._monkeys: dict[str, Monkey] = {}
        self._start_ending = asyncio.Event()
        self._refresh_requested = False
        self._stop_task: asyncio.Task[None] | None = None
        self._name_width = len(str(config.count))
        self._explicit_users = config.users
        self.start_time: datetime | None = None

    @property
    def options(self) -> BusinessOptions:
        """The business's validated options (unmasked: for matching, never for display)."""
        return self._factory.options

    @property
    def monkeys(self) -> list[Monkey]:
        """The monkeys, in creation order."""
        return list(self._monkeys.values())

    async def start(self) -> None:
        """Authenticate the users, build the monkeys and start them (in batches if configured).

        Returns once every monkey has been started. A stop or :meth:`end_start` ends the start
        early: after the users are authenticated no monkey is built, between batches no further
        batch is started. Never starts a monkey once :meth:`stop` was called.
        """
        users = flock_users(self.config, self._replica_count, self._replica_index)
        self._logger.info("Starting flock", monkeys=len(users))
        authenticated = await self._identity.authenticate(users, self.config.scopes)
        if self._start_ending.is_set():
            self._logger.info("Flock start ended before its monkeys were built")
            return
        for user in authenticated:
            monkey = self._factory.build(user)
            if self._refresh_requested:
                monkey.business.signal_refresh()
            self._monkeys[user.username] = monkey
        monkeys = list(self._monkeys.values())
        size = self.config.start_batch_size
        wait = self.config.start_batch_wait
        if size and wait is not None and monkeys:
            per_replica = max(1, size // self._replica_count)
            batches = math.ceil(len(monkeys) / per_replica)
            for number in range(batches):
                if self._start_ending.is_set():
                    return
                batch = monkeys[number * per_replica : (number + 1) * per_replica]
                self._logger.info(
                    "starting batch",
                    current_batch=number + 1,
                    num_batches=batches,
                    monkeys_in_batch=len(batch),
                )
                for monkey in batch:
                    monkey.start(self._task_group)
                if number + 1 < batches:
                    try:
                        await asyncio.wait_for(self._start_ending.wait(), wait.total_seconds())
                    except TimeoutError:
                        continue
                    return
        else:
            for monkey in monkeys:
                monkey.start(self._task_group)
        self.start_time = datetime.now(tz=UTC)
        self._logger.info("Flock started", monkeys=len(monkeys))

    async def resize(self, count: int) -> tuple[int, int]:
        """Grow or shrink the running flock to ``count`` monkeys (across all replicas).

        The survivors are not touched. Growing authenticates the new users (numbered on from
        the last, or taken from an explicit user list) and starts their monkeys at once;
        shrinking stops the newest monkeys in parallel, each within its stop grace (so their
        businesses release their labs), and removes them. Never starts a monkey once
        :meth:`stop` was called. The caller (:meth:`FlockManager.resize_flock`) checks
        ``count`` and serialises resizes with the other requests of this flock.

        Returns
        -------
        tuple of int
            Monkeys added and monkeys removed (in this replica).
        """
        config = self.config.model_copy(update={"count": count})
        if self._explicit_users is not None:
            config = config.model_copy(update={"users": self._explicit_users[:count]})
        users = flock_users(
            config, self._replica_count, self._replica_index, width=self._name_width
        )
        wanted = {u.username for u in users}
        removed = {name: m for name, m in self._monkeys.items() if name not in wanted}
        new = [u for u in users if u.username not in self._monkeys]
        self._logger.info("Resizing flock", monkeys=count, adding=len(new), removing=len(removed))
        self.config = config
        if removed:
            async with asyncio.TaskGroup() as tg:
                for monkey in removed.values():
                    tg.create_task(monkey.stop())
            for name, monkey in removed.items():
                if monkey.log is not None:
                    monkey.log.delete()
                self._monkeys.pop(name, None)
            await release_users(self._identity, [m.business.user for m in removed.values()])
        if new:
            authenticated = await self._identity.authenticate(new, config.scopes)
            if self._stop_task is not None:
                return 0, len(removed)
            for user in authenticated:
                monkey = self._factory.build(user)
                if self._refresh_requested:
                    monkey.business.signal_refresh()
                self._monkeys[user.username] = monkey
                monkey.start(self._task_group)
        return len(new), len(removed)

    @property
    def max_count(self) -> int | None:
        """Most monkeys a resize can ask for: the explicit users' number (None: no limit)."""
        return None if self._explicit_users is None else len(self._explicit_users)

    @property
    def started_count(self) -> int:
        """Monkeys that have been started so far (for start progress)."""
        return sum(1 for m in self._monkeys.values() if m.state != "IDLE")

    def end_start(self) -> None:
        """End a start in progress at its next step (the flock is about to be replaced or stopped).

        The monkeys already started keep running until :meth:`stop`.
        """
        self._start_ending.set()

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called and has finished."""
        return self._stop_task is not None and self._stop_task.done()

    async def stop(self) -> None:
        """Stop every monkey in parallel; returns when all are stopped.

        The stop runs in a task of the flock's task group: every call (concurrent or later)
        waits for the same stop, and the stop goes on if a caller is cancelled.
        """
        if self._stop_task is None:
            self._start_ending.set()
            stopping = self._stop_monkeys()
            name = f"flock-stop:{self.name}"
            try:
                self._stop_task = self._task_group.create_task(stopping, name=name)
            except RuntimeError:
                # The task group is finishing or aborting: the flock itself keeps the task.
                self._stop_task = asyncio.get_running_loop().create_task(stopping, name=name)
        await asyncio.shield(self._stop_task)

    async def _stop_monkeys(self) -> None:
        self._logger.info("Stopping flock")
        async with asyncio.TaskGroup() as tg:
            for monkey in self._monkeys.values():
                tg.create_task(monkey.stop())
        for monkey in self._monkeys.values():
            if monkey.log is not None:
                monkey.log.delete()
        await release_users(self._identity, [m.business.user for m in self._monkeys.values()])
        self._logger.info("Flock stopped")

    def signal_refresh(self) -> None:
        """Ask every monkey's business to refresh, including monkeys not built yet."""
        self._refresh_requested = True
        for monkey in self._monkeys.values():
            monkey.business.signal_refresh()

    def list_monkeys(self) -> list[str]:
        """Return the sorted names of the monkeys."""
        return sorted(self._monkeys)

    def get_monkey(self, name: str) -> Monkey:
        """Return one monkey.

        Raises
        ------
        MonkeyNotFoundError
            No monkey of that name.
        """
        monkey = self._monkeys.get(name)
        if monkey is None:
            raise MonkeyNotFoundError(name)
        return monkey

    def dump(self) -> FlockData:
        """Return the flock with its configuration and monkeys."""
        return FlockData(
            name=self.name, config=self.config, monkeys=[m.dump() for m in self._monkeys.values()]
        )

    def summary(self) -> FlockSummary:
        """Return the flock's counters (cheap: no monkey dumps)."""
        successes = failures = 0
        states = dict.fromkeys(MonkeyState, 0)
        for monkey in self._monkeys.values():
            successes += monkey.business.success_count
            failures += monkey.business.failure_count
            states[monkey.state] += 1
        return FlockSummary(
            name=self.name,
            business=self.config.business.type,
            start_time=self.start_time,
            monkey_count=len(self._monkeys),
            started_count=self.started_count,
            success_count=successes,
            failure_count=failures,
            statistics=None if self._stats is None else self._stats.flock_statistics(self.name),
            monkey_states=states,
        )
