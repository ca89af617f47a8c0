"""The stored form of a bucket's tally: compact JSON of its histogram and its summary.

The summary (p50, p90, p95, p99 and the maximum) is computed once, when the row is written (off
the monkeys' path), and stored first (``{"q":[...],...}``), so that a reader answering one
bucket per stored row reads it without decoding (:func:`stored_summary`) or walking the
histogram; rows written before it was stored simply lack it.
"""

from __future__ import annotations

import json
import math
from typing import Any

from mobu.services.stats import QUANTILES, LogHistogram, Tally

__all__ = [
    "SUMMARY_CHARS",
    "Quantiles",
    "decode_tally",
    "encode_tally",
    "stored_summary",
    "summary_of",
]

type Quantiles = tuple[float, ...]
"""p50, p90, p95, p99 (``mobu.services.stats.QUANTILES``) and the maximum of a stored histogram;
empty when it holds no durations."""

_SUMMARY = '{"q":['
_SUMMARY_SIZE = len(QUANTILES) + 1
SUMMARY_CHARS = 256
"""Characters of a stored histogram that always hold its summary (five floats)."""


def summary_of(tally: Tally) -> Quantiles:
    """The summary of ``tally``: its quantiles and maximum (empty without durations)."""
    durations = tally.durations
    if not durations.count:
        return ()
    return (*durations.quantiles(QUANTILES), durations.max)


def encode_tally(tally: Tally) -> str:
    """The histogram of ``tally`` as stored: buckets as a flat index/count list, quantiles."""
    durations = tally.durations
    flat: list[int] = []
    for index, count in durations._buckets.items():  # the histogram's own serialisation form
        flat += (index, count)
    data: dict[str, Any] = {
        "q": summary_of(tally),
        "e": durations.relative_error,
        "n": durations.count,
        "s": durations.sum,
        "lo": None if durations.count == 0 else durations.min,
        "hi": durations.max,
        "b": flat,
    }
    return json.dumps(data, separators=(",", ":"))


def decode_tally(
    count: int, failures: int, histogram: str | None
) -> tuple[Tally, Quantiles | None]:
    """Rebuild a stored tally (without its histogram when ``histogram`` is None) and the
    summary stored with it (None: not stored)."""
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
        if stored is not None and len(stored) in (0, _SUMMARY_SIZE):
            quantiles = tuple(float(q) for q in stored)
    tally.count = count
    tally.failures = failures
    return tally, quantiles


def stored_summary(histogram: str) -> Quantiles | None:
    """The summary stored at the start of ``histogram``, without decoding the rest (None: the
    row predates it)."""
    if not histogram.startswith(_SUMMARY):
        return None
    end = histogram.find("]")
    if end < 0:
        return None
    inner = histogram[len(_SUMMARY) : end]
    values = tuple(float(v) for v in inner.split(",")) if inner else ()
    return values if len(values) in (0, _SUMMARY_SIZE) else None
