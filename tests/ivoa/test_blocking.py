"""BlockingCalls: blocking calls in a bounded number of threads, abandoned on cancellation."""

from __future__ import annotations

import asyncio
import threading

import pytest

from mobu.storage.vo import BlockingCalls, make_session


def threads_named(name: str) -> int:
    return sum(1 for t in threading.enumerate() if t.name == name)


async def test_threads_are_bounded_and_abandoned_calls_free_slots() -> None:
    """Cancelled waits return at once; at most ``workers`` threads; slots free when calls end."""
    calls = BlockingCalls("mobu-test-blocking", workers=2)
    loop = asyncio.get_running_loop()
    release = threading.Event()
    started = asyncio.Queue[int]()

    def blocked(index: int) -> int:
        loop.call_soon_threadsafe(started.put_nowait, index)
        release.wait(60)
        return index

    hung = [asyncio.create_task(calls.run(blocked, i)) for i in range(2)]
    assert {await started.get(), await started.get()} == {0, 1}
    queued = asyncio.create_task(calls.run(blocked, 2))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(queued), timeout=0.2)
    for task in [*hung, queued]:
        task.cancel()
    results = await asyncio.gather(*hung, queued, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    assert threads_named("mobu-test-blocking") == 2
    assert all(t.daemon for t in threading.enumerate() if t.name == "mobu-test-blocking")

    release.set()
    assert await calls.run(lambda: 42) == 42


async def test_exceptions_reach_the_caller() -> None:
    """An exception raised in the worker thread is re-raised to the awaiting caller."""
    calls = BlockingCalls("mobu-test-errors")

    def fail() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await calls.run(fail)


def test_session_headers() -> None:
    """A VO session sends the token as a bearer Authorization header, and none without a token."""
    assert "Authorization" not in make_session(None, 5).headers
    assert make_session("t0k", 5).headers["Authorization"] == "Bearer t0k"
