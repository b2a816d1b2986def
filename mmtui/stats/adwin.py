"""ADWIN, the adaptive-windowing change detector (Bifet & Gavaldà, 2007)."""

from __future__ import annotations

import math
from collections import deque

__all__ = ["ADWIN"]


class ADWIN:
    """Detect a change in the mean of a stream (ADWIN2, with the exponential histogram).

    The window keeps the values since the last change, compressed into buckets of sizes 1, 2, 4,
    ... (at most ``max_buckets`` of each size). Every ``clock`` values, each split of the window
    at a bucket boundary is tested; when the two sides' means differ by more than the bound
    ``ε = sqrt(2 m σ² ln(2 ln n / δ)) + 2/3 m ln(2 ln n / δ)`` (``m`` from the sides' lengths,
    ``σ²`` the window's variance), the oldest bucket is dropped, and again until no split is
    significant. The bound assumes values in [0, 1] for its second term; scale other values.
    This follows MOA's ``ADWIN.java``, the authors' reference implementation.

    Parameters
    ----------
    delta
        Confidence, in (0, 1): the false-alarm probability the bound allows per check. Smaller
        means fewer false alarms and later detection.
    clock
        Test for a change every this many values.
    max_buckets
        Buckets of each size kept before two are merged (``M`` in the paper); at least 2.
    min_window_length
        Each side of a split must hold more than ``min_window_length + 1`` values.
    grace_period
        No test until the window holds more than this many values.

    Examples
    --------
    >>> import random
    >>> rng = random.Random(42)
    >>> before = [rng.random() < 0.1 for _ in range(1000)]  # error rate 0.1, then 0.5
    >>> after = [rng.random() < 0.5 for _ in range(500)]
    >>> adwin = ADWIN(delta=0.002)
    >>> [i for i, x in enumerate(before + after) if adwin.update(x)]
    [1055, 1087, 1279]
    >>> adwin.width, round(adwin.estimation, 2)
    (508, 0.5)
    """

    def __init__(
        self,
        delta: float = 0.002,
        *,
        clock: int = 32,
        max_buckets: int = 5,
        min_window_length: int = 5,
        grace_period: int = 10,
    ) -> None:
        if not 0.0 < delta < 1.0:
            raise ValueError(f"delta must be in (0, 1), got {delta!r}")
        if clock < 1:
            raise ValueError(f"clock must be an integer >= 1, got {clock!r}")
        if max_buckets < 2:
            raise ValueError(f"max_buckets must be an integer >= 2, got {max_buckets!r}")
        if min_window_length < 1:
            raise ValueError(f"min_window_length must be >= 1, got {min_window_length!r}")
        if grace_period < 0:
            raise ValueError(f"grace_period must be >= 0, got {grace_period!r}")
        self.delta = delta
        self.clock = clock
        self.max_buckets = max_buckets
        self.min_window_length = min_window_length
        self.grace_period = grace_period
        self._rows: list[list[tuple[float, float]]] = [[]]
        """Row i holds (total, variance × size) buckets of 2**i values, oldest first."""
        self._width = 0
        self._total = 0.0
        self._var_sum = 0.0
        self._n = 0
        self._detections: deque[int] = deque(maxlen=1000)
        self._n_detections = 0

    @property
    def n(self) -> int:
        """Values seen."""
        return self._n

    @property
    def width(self) -> int:
        """Values in the current window (since the last change)."""
        return self._width

    @property
    def estimation(self) -> float:
        """Mean of the current window (NaN when empty)."""
        return self._total / self._width if self._width else math.nan

    @property
    def variance(self) -> float:
        """Variance of the current window (NaN when empty)."""
        return self._var_sum / self._width if self._width else math.nan

    @property
    def n_detections(self) -> int:
        """Changes detected so far."""
        return self._n_detections

    @property
    def detections(self) -> tuple[int, ...]:
        """0-based indices of the values at which changes were detected (the last 1,000)."""
        return tuple(self._detections)

    @property
    def last_detection(self) -> int | None:
        """Index of the value at which the last change was detected, if any."""
        return self._detections[-1] if self._detections else None

    def update(self, x: float) -> bool:
        """Add a value; True when a change is detected at this value."""
        x = float(x)
        if not math.isfinite(x):
            raise ValueError(f"ADWIN values must be finite, got {x!r}")
        self._insert(x)
        self._n += 1
        too_short = self._width <= max(self.grace_period, 2 * self.min_window_length + 3)
        if self._n % self.clock or too_short or not self._cut():
            return False
        self._detections.append(self._n - 1)
        self._n_detections += 1
        return True

    def _insert(self, x: float) -> None:
        if self._width:
            d = x - self._total / self._width
            self._var_sum += self._width * d * d / (self._width + 1)
        self._width += 1
        self._total += x
        self._rows[0].append((x, 0.0))
        for i, row in enumerate(self._rows):  # compress: merge the two oldest of a full row
            if len(row) <= self.max_buckets:
                break
            (t1, v1), (t2, v2) = row[0], row[1]
            size = 2.0**i
            d = t1 / size - t2 / size
            if i + 1 == len(self._rows):
                self._rows.append([])
            self._rows[i + 1].append((t1 + t2, v1 + v2 + size * d * d / 2.0))
            del row[:2]

    def _cut(self) -> bool:
        """Drop the oldest buckets while some split of the window is significant."""
        changed = False
        min_len = self.min_window_length
        while True:
            n0, u0 = 0, 0.0
            n1, u1 = self._width, self._total
            log_term = math.log(2.0 * math.log(self._width) / self.delta)
            variance = max(self._var_sum / self._width, 0.0)
            cut = False
            for i in range(len(self._rows) - 1, -1, -1):
                size = 1 << i
                row = self._rows[i]
                for k, (total, _) in enumerate(row):
                    n0 += size
                    n1 -= size
                    u0 += total
                    u1 -= total
                    if i == 0 and k == len(row) - 1:
                        break
                    if n0 <= min_len + 1 or n1 <= min_len + 1:
                        continue
                    m = 1.0 / (n0 - min_len + 1) + 1.0 / (n1 - min_len + 1)
                    eps = math.sqrt(2.0 * m * variance * log_term) + 2.0 / 3.0 * log_term * m
                    if abs(u0 / n0 - u1 / n1) > eps:
                        cut = True
                        break
                if cut:
                    break
            if not cut:
                return changed
            self._drop_oldest()
            changed = True

    def _drop_oldest(self) -> None:
        row = self._rows[-1]
        size = 1 << (len(self._rows) - 1)
        total, var = row.pop(0)
        self._width -= size
        self._total -= total
        d = total / size - self._total / self._width
        self._var_sum -= var + size * self._width * d * d / (size + self._width)
        if not row and len(self._rows) > 1:
            self._rows.pop()
