"""Log-bucketed latency histograms with a bounded relative error, mergeable and serialisable.

A :class:`LogHistogram` keeps counts in logarithmic buckets whose width is chosen so that any
quantile it reports is within ``relative_error`` (default 0.5 %) of the true value at that rank.
Buckets cover 1 µs to 1 day (about 2,500 possible buckets, allocated sparsely), so memory is
bounded however long a flock runs. Histograms merge by adding bucket counts, and serialise to
plain dicts, so monkeys, flocks and replicas can be combined.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

__all__ = ["MAX_VALUE", "MIN_VALUE", "QUANTILES", "LogHistogram"]

MIN_VALUE = 1e-6
"""Smallest distinguished value (seconds); smaller values share the lowest bucket."""

MAX_VALUE = 86_400.0
"""Largest distinguished value (seconds); larger values share the highest bucket."""

QUANTILES = (0.5, 0.9, 0.95, 0.99)


class LogHistogram:
    """A mergeable histogram of positive values with bounded relative error.

    Parameters
    ----------
    relative_error
        Maximum relative error of a reported quantile (0.005 = 0.5 %).
    """

    __slots__ = (
        "_buckets",
        "_highest",
        "_inv_log_gamma",
        "_lowest",
        "count",
        "gamma",
        "max",
        "min",
        "relative_error",
        "sum",
    )

    def __init__(self, relative_error: float = 0.005) -> None:
        if not 0 < relative_error < 0.5:
            raise ValueError("relative_error must be between 0 and 0.5")
        self.relative_error = relative_error
        self.gamma = (1 + relative_error) / (1 - relative_error)
        self._inv_log_gamma = 1.0 / math.log(self.gamma)
        self._lowest = math.floor(math.log(MIN_VALUE) * self._inv_log_gamma)
        self._highest = math.ceil(math.log(MAX_VALUE) * self._inv_log_gamma)
        self._buckets: dict[int, int] = {}
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = 0.0

    @property
    def max_buckets(self) -> int:
        """Upper bound of the number of buckets this histogram can ever hold."""
        return self._highest - self._lowest + 1

    @property
    def bucket_count(self) -> int:
        """Number of buckets in use."""
        return len(self._buckets)

    def add(self, value: float) -> None:
        """Record one value (seconds); values below 1 µs count as 1 µs."""
        if value < MIN_VALUE:
            index = self._lowest
        elif value > MAX_VALUE:
            index = self._highest
        else:
            index = math.ceil(math.log(value) * self._inv_log_gamma)
        buckets = self._buckets
        buckets[index] = buckets.get(index, 0) + 1
        self.count += 1
        self.sum += value
        if value > self.max:
            self.max = value
        if value < self.min:
            self.min = value

    def merge(self, other: LogHistogram) -> None:
        """Add every value of ``other`` (which must have the same relative error)."""
        if other.gamma != self.gamma:
            raise ValueError("cannot merge histograms of different relative error")
        buckets = self._buckets
        if not buckets:
            self._buckets = dict(other._buckets)
        else:
            get = buckets.get
            for index, n in other._buckets.items():
                buckets[index] = get(index, 0) + n
        self.count += other.count
        self.sum += other.sum
        self.max = max(self.max, other.max)
        self.min = min(self.min, other.min)

    def quantile(self, q: float) -> float | None:
        """Return the value at quantile ``q`` (0..1): the value of rank ``floor(q*(n-1))``."""
        if self.count == 0:
            return None
        if not 0 <= q <= 1:
            raise ValueError("quantile must be between 0 and 1")
        return self.quantiles([q])[0]

    def quantiles(self, qs: Iterable[float]) -> list[float]:
        """Return several quantiles with one pass over the buckets (``qs`` ascending)."""
        wanted = list(qs)
        if self.count == 0:
            return [math.nan for _ in wanted]
        ranks = [math.floor(q * (self.count - 1)) for q in wanted]
        results: list[float] = []
        seen = 0
        position = 0
        for index in sorted(self._buckets):
            seen += self._buckets[index]
            while position < len(ranks) and ranks[position] < seen:
                rank = ranks[position]
                if rank == self.count - 1:
                    results.append(self.max)
                elif rank == 0:
                    results.append(self.min)
                else:
                    results.append(self._value(index))
                position += 1
            if position == len(ranks):
                break
        while len(results) < len(ranks):
            results.append(self.max)
        return results

    def _value(self, index: int) -> float:
        upper = self.gamma**index
        value = 2 * upper / (self.gamma + 1)
        return min(max(value, self.min), self.max)

    def to_dict(self) -> dict[str, Any]:
        """Serialise (JSON-compatible) for merging elsewhere."""
        return {
            "relative_error": self.relative_error,
            "count": self.count,
            "sum": self.sum,
            "min": None if self.count == 0 else self.min,
            "max": self.max,
            "buckets": {str(k): v for k, v in self._buckets.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogHistogram:
        """Rebuild a histogram serialised by :meth:`to_dict`."""
        histogram = cls(float(data["relative_error"]))
        histogram._buckets = {int(k): int(v) for k, v in data["buckets"].items()}
        histogram.count = int(data["count"])
        histogram.sum = float(data["sum"])
        histogram.min = math.inf if data["min"] is None else float(data["min"])
        histogram.max = float(data["max"])
        return histogram
