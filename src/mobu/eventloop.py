"""The event loop the service runs on: uvloop when it is installed, else asyncio's own.

uvloop made an HTTPCheck flock about 15 % faster per core of CPU in ``bench/http_load.py``
(same run, same target; see docs/benchmarks.md), so the service uses it when it can.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run"]

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a new event loop (uvloop if available)."""
    try:
        import uvloop  # optional at import time (absent on some platforms)
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
