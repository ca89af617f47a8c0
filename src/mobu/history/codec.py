"""The stored form of a bucket's tally: compact JSON of its histogram and its quantiles.

The quantiles (p50, p90, p95, p99) are computed once, when the row is written (off the
monkeys' path), so that a reader answering one bucket per stored row never walks the
histogram; rows written before they were stored simply lack them.
"""

from __future__ import annotations

import json
import math
from typing import Any

from mobu.services.stats import QUANTILES, LogHistogram, Tally

__all__ = ["Quantiles", "decode_tally", "encode_tally"]

type Quantiles = tuple[float, ...]
"""p50, p90, p95 and p99 of a stored histogram (``mobu.services.stats.QUANTILES``)."""


def encode_tally(tally: Tally) -> str:
    """The histogram of ``tally`` as stored: buckets as a flat index/count list, quantiles."""
    durations = tally.durations
    flat: list[int] = []
    for index, count in durations._buckets.items():  # the histogram's own serialisation form
        flat += (index, count)
    data: dict[str, Any] = {
        "e": durations.relative_error,
        "n": durations.count,
        "s": durations.sum,
        "lo": None if durations.count == 0 else durations.min,
        "hi": durations.max,
        "b": flat,
    }
    if durations.count:
        data["q"] = durations.quantiles(QUANTILES)
    return json.dumps(data, separators=(",", ":"))


def decode_tally(
    count: int, failures: int, histogram: str | None
) -> tuple[Tally, Quantiles | None]:
    """Rebuild a stored tally (without its histogram when ``histogram`` is None) and the
    quantiles stored with it (None: not stored, or no durations)."""
    quantiles: Quantiles | None = None
    if histogram is None:
        tally = Tally()
    else:
        data = json.loads(histogram)
        durations = LogHistogram(float(data["e"]))
        flat = data["b"]
        durations._buckets = dict(zip(flat[0::2], flat[1::2], strict=True))
        durations.count = int(data["n"])
        durations.sum = float(data["s"])
        durations.min = math.inf if data["lo"] is None else float(data["lo"])
        durations.max = float(data["hi"])
        tally = Tally(durations.relative_error)
        tally.durations = durations
        stored = data.get("q")
        if stored is not None and len(stored) == len(QUANTILES):
            quantiles = tuple(float(q) for q in stored)
    tally.count = count
    tally.failures = failures
    return tally, quantiles
