"""What a baseline profile keeps of one reference column.

A numeric column is kept as its empirical distribution function at up to :data:`MAX_EDGES`
points. When the column has at most that many distinct values the points are all of them and the
profile is *exact*: it is the whole reference, and the KS statistic against it is exact. Otherwise
the points are quantile edges (``MAX_EDGES`` bins, as NannyML uses above 10k rows) with the exact
counts of reference values below and at each edge, from every reference row.

A categorical column is kept as its level counts; past :data:`MAX_LEVELS` levels the rarest are
pooled into one ``__other__`` count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from mmtui.stats.columns import CATEGORICAL, NUMERIC

MAX_EDGES = 10_000
"""Distinct reference values kept exactly; beyond, this many quantile bins."""

MAX_LEVELS = 1_000
"""Levels kept per categorical feature; rarer ones are pooled into ``__other__``."""

COARSE_BINS = 10
"""Reference-quantile bins for PSI and Jensen-Shannon on numeric features."""

UNSEEN = "__unseen__"
OTHER = "__other__"


def _frozen(a: np.ndarray, dtype: type) -> np.ndarray:
    out: np.ndarray = np.ascontiguousarray(a, dtype=dtype)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class NumericProfile:
    """A numeric reference column: its distribution function at ``edges``.

    ``below[k]`` and ``at_or_below[k]`` count the reference values ``< edges[k]`` and
    ``<= edges[k]``, ``sum_below[k]`` adds up those ``< edges[k]`` (where in a bin the reference
    lies, for the Wasserstein distance). Non-finite values (NaN, ±inf) are missing.
    """

    name: str
    n: int
    """Reference rows, missing included."""
    n_missing: int
    edges: np.ndarray
    below: np.ndarray
    at_or_below: np.ndarray
    sum_below: np.ndarray
    mean: float
    std: float
    """Population standard deviation (ddof 0) of the non-missing values."""

    kind: ClassVar[str] = NUMERIC
    exact: bool = field(init=False)
    """True when every reference value is an edge: the profile is the whole reference."""
    coarse_index: np.ndarray = field(init=False, repr=False)
    """The edges that bound the coarse bins of PSI and JS (reference deciles, or every cell)."""
    coarse_right: np.ndarray = field(init=False, repr=False)
    """Per coarse boundary: just after (True) or just before (False) its edge."""
    coarse_reference: np.ndarray = field(init=False, repr=False)
    """Reference values in each coarse bin (one more bin than coarse edges)."""
    cache: dict[Any, Any] = field(init=False, repr=False, default_factory=dict)
    """Derived arrays the comparison reuses between calls (coarser edges for small windows)."""

    def __post_init__(self) -> None:
        edges = _frozen(self.edges, np.float64)
        below = _frozen(self.below, np.int64)
        at_or_below = _frozen(self.at_or_below, np.int64)
        object.__setattr__(self, "sum_below", _frozen(self.sum_below, np.float64))
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "below", below)
        object.__setattr__(self, "at_or_below", at_or_below)
        _check_numeric(self)
        n_valid = self.n_valid
        exact = bool(np.array_equal(below[1:], at_or_below[:-1])) if len(edges) else True
        object.__setattr__(self, "exact", exact)
        if len(edges) == 0:
            index, right = np.empty(0, np.int64), np.empty(0, bool)
        elif len(edges) <= COARSE_BINS:
            # every cell on its own: below e0, at e0, between e0 and e1, at e1, ..., above e_last
            index = np.repeat(np.arange(len(edges)), 2)
            right = np.tile([False, True], len(edges))
        else:
            targets = np.arange(1, COARSE_BINS) * (n_valid / COARSE_BINS)
            index = np.unique(np.searchsorted(at_or_below, targets, "left"))
            index = index[index < len(edges) - 1]
            right = np.ones(len(index), bool)
        cum = np.where(right, at_or_below[index], below[index])
        object.__setattr__(self, "coarse_index", _frozen(index, np.int64))
        object.__setattr__(self, "coarse_right", _frozen(right, np.bool_))
        counts = np.diff(np.concatenate(([0], cum, [n_valid])))
        object.__setattr__(self, "coarse_reference", _frozen(counts, np.int64))

    @property
    def n_valid(self) -> int:
        """Reference values that are not missing."""
        return self.n - self.n_missing

    @property
    def missing_rate(self) -> float:
        """Share of reference rows with a missing value (0 for an empty reference)."""
        return self.n_missing / self.n if self.n else 0.0

    @property
    def minimum(self) -> float:
        """Smallest reference value (NaN when there is none)."""
        return float(self.edges[0]) if len(self.edges) else float("nan")

    @property
    def maximum(self) -> float:
        """Largest reference value (NaN when there is none)."""
        return float(self.edges[-1]) if len(self.edges) else float("nan")


def _check_numeric(p: NumericProfile) -> None:
    k = len(p.edges)
    where = f"feature {p.name!r}"
    if p.edges.ndim != 1 or not len(p.below) == len(p.at_or_below) == len(p.sum_below) == k:
        raise ValueError(f"{where}: edges and counts differ in length")
    if not 0 <= p.n_missing <= p.n:
        raise ValueError(f"{where}: {p.n_missing} missing of {p.n} rows")
    if k == 0:
        if p.n_valid:
            raise ValueError(f"{where}: {p.n_valid} values but no edges")
        return
    ok = (
        np.all(np.isfinite(p.edges))
        and np.all(np.diff(p.edges) > 0)
        and p.below[0] == 0
        and np.all(p.below < p.at_or_below)
        and np.all(p.below[1:] >= p.at_or_below[:-1])
        and p.at_or_below[-1] == p.n_valid
        and np.all(np.isfinite(p.sum_below))
    )
    if not ok:
        raise ValueError(f"{where}: edges or counts are inconsistent")


@dataclass(frozen=True, eq=False)
class CategoricalProfile:
    """A categorical reference column: counts per level (``levels`` sorted)."""

    name: str
    n: int
    """Reference rows, missing included."""
    n_missing: int
    levels: tuple[str, ...]
    counts: np.ndarray
    other: int = 0
    """Reference values of the rare levels pooled beyond :data:`MAX_LEVELS` (usually 0)."""

    kind: ClassVar[str] = CATEGORICAL
    level_array: np.ndarray = field(init=False, repr=False)
    """``levels`` as a sorted unicode array, for matching current values."""
    cache: dict[Any, Any] = field(init=False, repr=False, default_factory=dict)
    """Derived arrays the comparison reuses between calls."""

    def __post_init__(self) -> None:
        counts = _frozen(self.counts, np.int64)
        object.__setattr__(self, "counts", counts)
        levels = np.array(self.levels, dtype=str) if self.levels else np.array([], dtype="U1")
        levels.setflags(write=False)
        object.__setattr__(self, "level_array", levels)
        where = f"feature {self.name!r}"
        if len(counts) != len(self.levels) or counts.ndim != 1:
            raise ValueError(f"{where}: {len(self.levels)} levels but {len(counts)} counts")
        if not 0 <= self.n_missing <= self.n or self.other < 0 or np.any(counts <= 0):
            raise ValueError(f"{where}: counts are inconsistent")
        if int(counts.sum()) + self.other != self.n_valid:
            raise ValueError(f"{where}: level counts do not add up to {self.n_valid}")
        if len(levels) and (levels[0] == "" or np.any(levels[1:] <= levels[:-1])):
            raise ValueError(f"{where}: levels are not distinct, sorted and non-empty")

    @property
    def n_valid(self) -> int:
        """Reference values that are not missing."""
        return self.n - self.n_missing

    @property
    def missing_rate(self) -> float:
        """Share of reference rows with a missing value (0 for an empty reference)."""
        return self.n_missing / self.n if self.n else 0.0


FeatureProfile = NumericProfile | CategoricalProfile


def summarise_numeric(name: str, values: np.ndarray) -> NumericProfile:
    """The :class:`NumericProfile` of float64 ``values`` (non-finite values are missing)."""
    xs = np.sort(values)
    lo = int(np.searchsorted(xs, -np.inf, side="right"))
    hi = int(np.searchsorted(xs, np.inf, side="left"))
    xs = xs[lo:hi]
    n_valid = len(xs)
    if n_valid == 0:
        empty = np.empty(0)
        return NumericProfile(name, len(values), len(values), empty, empty, empty, empty, 0.0, 0.0)
    starts = np.flatnonzero(np.concatenate(([True], xs[1:] != xs[:-1])))
    if len(starts) <= MAX_EDGES:
        edges = xs[starts]
        at_or_below = np.concatenate((starts[1:], [n_valid]))
        below = starts
    else:
        picks = np.round(np.linspace(0, n_valid - 1, MAX_EDGES + 1)).astype(np.int64)
        edges = np.unique(xs[picks])
        below = np.searchsorted(xs, edges, side="left")
        at_or_below = np.searchsorted(xs, edges, side="right")
    sums = np.concatenate(([0.0], np.cumsum(xs)))
    mean = float(sums[-1] / n_valid)
    std = float(np.sqrt(np.mean((xs - mean) ** 2)))
    return NumericProfile(
        name,
        len(values),
        len(values) - n_valid,
        edges,
        below,
        at_or_below,
        sums[below],
        mean,
        std,
    )


def summarise_categorical(name: str, labels: np.ndarray) -> CategoricalProfile:
    """The :class:`CategoricalProfile` of unicode ``labels`` (``""`` is missing)."""
    present = labels[labels != ""]
    levels, counts = np.unique(present, return_counts=True)
    other = 0
    if len(levels) > MAX_LEVELS:
        keep = np.sort(np.argsort(-counts, kind="stable")[:MAX_LEVELS])
        other = int(len(present) - counts[keep].sum())
        levels, counts = levels[keep], counts[keep]
    return CategoricalProfile(
        name, len(labels), len(labels) - len(present), tuple(levels.tolist()), counts, other
    )
