"""Bounded time series: numpy ring buffers per (endpoint, model, metric).

Memory is fixed by the capacity given at construction, not by uptime: a ring never grows, it
overwrites its oldest point. A missing value (None) is stored as NaN and comes back as None.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

__all__ = ["Ring", "SeriesStore"]

Array = npt.NDArray[np.float64]
SeriesKey = tuple[str, str | None, str]
"""(endpoint, model or None, metric)."""


class Ring:
    """A fixed-capacity series of (timestamp, value) float64 points with O(1) append.

    Examples
    --------
    >>> r = Ring(3)
    >>> for t, v in [(1.0, 10.0), (2.0, None), (3.0, 30.0), (4.0, 40.0)]:
    ...     r.append(t, v)
    >>> len(r), r.last(3), r.latest()
    (3, (None, 30.0, 40.0), (4.0, 40.0))
    """

    __slots__ = ("_t", "_v", "_next", "_len")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"ring capacity must be >= 1, got {capacity!r}")
        self._t: Array = np.full(capacity, np.nan)
        self._v: Array = np.full(capacity, np.nan)
        self._next = 0
        self._len = 0

    @property
    def capacity(self) -> int:
        return len(self._t)

    @property
    def nbytes(self) -> int:
        """Bytes held by the two arrays."""
        return self._t.nbytes + self._v.nbytes

    def append(self, t: float, value: float | None) -> None:
        """Add a point, overwriting the oldest when full; None is stored as NaN."""
        i = self._next
        self._t[i] = t
        self._v[i] = math.nan if value is None else value
        self._next = (i + 1) % len(self._t)
        if self._len < len(self._t):
            self._len += 1

    def __len__(self) -> int:
        return self._len

    def arrays(self) -> tuple[Array, Array]:
        """Timestamps and values, oldest first (copies)."""
        return self._ordered(self._t), self._ordered(self._v)

    def last(self, n: int) -> tuple[float | None, ...]:
        """The last ``n`` values (fewer if the ring holds fewer), oldest first, NaN as None.

        Sliced straight out of the ring (every row of every snapshot asks for its sparklines'
        points): a full copy in order first costs twice as much.
        """
        k = min(n, self._len)
        if k <= 0:
            return ()
        end = self._next
        if k <= end:
            values = self._v[end - k : end].tolist()
        else:  # wrapped: the ring is full, and the oldest of them are at the end of the array
            values = self._v[end - k :].tolist() + self._v[:end].tolist()
        return tuple([None if v != v else v for v in values])  # v != v: NaN

    def latest(self) -> tuple[float, float | None] | None:
        """The newest (timestamp, value), or None when empty."""
        if self._len == 0:
            return None
        i = self._next - 1
        value = float(self._v[i])
        return float(self._t[i]), None if math.isnan(value) else value

    def since(self, t0: float) -> tuple[Array, Array]:
        """Timestamps and values of the points at or after ``t0``, oldest first."""
        t, v = self.arrays()
        keep = t >= t0
        return t[keep], v[keep]

    def _ordered(self, a: Array) -> Array:
        if self._len < len(a):
            return a[: self._len].copy()
        return np.concatenate((a[self._next :], a[: self._next]))


class SeriesStore:
    """One :class:`Ring` per (endpoint, model, metric), each of the same capacity.

    Memory is ``capacity × 16 bytes`` per series; the number of series is the endpoints × models ×
    metrics seen, which the configuration bounds (endpoints, model globs, derived metric names).
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"series capacity must be >= 1, got {capacity!r}")
        self._capacity = capacity
        self._rings: dict[SeriesKey, Ring] = {}

    @property
    def capacity(self) -> int:
        return self._capacity

    def append(
        self, endpoint: str, model: str | None, t: float, metrics: Mapping[str, float | None]
    ) -> None:
        """Append one point at ``t`` to each metric's series, creating series on first sight."""
        for metric, value in metrics.items():
            key = (endpoint, model, metric)
            ring = self._rings.get(key)
            if ring is None:
                ring = self._rings[key] = Ring(self._capacity)
            ring.append(t, value)

    def ring(self, endpoint: str, model: str | None, metric: str) -> Ring | None:
        """The series, or None when nothing was appended to it."""
        return self._rings.get((endpoint, model, metric))

    def keys(self) -> list[SeriesKey]:
        """Every (endpoint, model, metric), in the order first seen."""
        return list(self._rings)

    def drop(self, endpoint: str) -> None:
        """Forget every series of ``endpoint`` (e.g. removed from the config)."""
        for key in [k for k in self._rings if k[0] == endpoint]:
            del self._rings[key]

    def nbytes(self) -> int:
        """Bytes held by all the series' arrays."""
        return sum(ring.nbytes for ring in self._rings.values())
