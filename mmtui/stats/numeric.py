"""A current numeric column against a :class:`NumericProfile`: KS, Wasserstein, PSI, JS.

The current values are sorted once; everything else works on the empirical distribution
functions at the profile's edges, ``O(edges)`` per feature whatever the number of rows, and all
the numeric features of a check are done together on arrays padded to the same number of edges
(a :class:`NumericPlan`, built once per profile and window size).

*KS*: the statistic is evaluated where both distribution functions are known exactly, at each
edge and just below it. With an exact profile that is the exact two-sample statistic. With a
binned profile it is a lower bound ``D_lo`` (so the p-value is conservative) and ``ks_upper`` is
an upper bound; they differ by at most the largest reference mass between two edges (about
1/bins). The p-value is exact for small samples (see :mod:`mmtui.stats.pvalues`), asymptotic
Kolmogorov with ``n*m/(n+m)`` otherwise.

*Wasserstein-1*, divided by the reference's standard deviation (by ``|mean|`` for a constant
reference, by 1 for a constant 0): exact with an exact profile (up to the rounding of running
sums, relative ``edges * 1e-16 * |mean| / std``). With a binned one, the reference inside a bin
is its distribution function averaged over the bin (from the sum of its values there): exact in
bins where one function stays above the other, off by at most the bin's mass times its width in
bins where they cross.

Windows much smaller than a binned profile use every ``s``-th edge (at least
:data:`MIN_WINDOW_EDGES`, about a quarter as many as the window has rows): the bounds above
still hold for the coarser edges, and the work stays proportional to the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmtui.stats.comparison import Comparison
from mmtui.stats.divergence import psi_js_rows
from mmtui.stats.features import NumericProfile
from mmtui.stats.pvalues import EXACT_KS_MAX_PRODUCT, ks_exact_pvalue, ks_pvalues

MIN_WINDOW_EDGES = 1024


def compare_numeric(profile: NumericProfile, values: np.ndarray) -> Comparison:
    """Compare float64 ``values`` (non-finite = missing) with ``profile``."""
    return compare_numeric_batch(NumericPlan([profile], len(values)), [values])[0]


class _Grid:
    """The edges one comparison runs on, with the reference quantities that depend on them."""

    __slots__ = ("edges", "below", "at_or_below", "exact", "inside", "coarse", "coarse_right")

    def __init__(self, profile: NumericProfile, stride: int) -> None:
        k = len(profile.edges)
        pick = np.arange(k)
        if stride > 1:
            pick = np.unique(np.concatenate((pick[::stride], [k - 1], profile.coarse_index)))
        self.edges = profile.edges[pick]
        self.below = profile.below[pick]
        self.at_or_below = profile.at_or_below[pick]
        self.exact = profile.exact and stride == 1
        n = max(profile.n_valid, 1)
        # the reference distribution function averaged over each cell between edges: its value
        # at the left edge plus what the reference values inside add, from their sum
        inner = self.below[1:] - self.at_or_below[:-1]
        at_sum = profile.sum_below[pick] + self.edges * (self.at_or_below - self.below)
        width = np.maximum(np.diff(self.edges), np.finfo(np.float64).tiny)
        ahead = (inner * self.edges[1:] - (profile.sum_below[pick][1:] - at_sum[:-1])) / width
        average = (self.at_or_below[:-1] + np.clip(ahead, 0.0, inner)) / n
        self.inside = np.concatenate(([0.0], average, [1.0]))
        self.coarse = np.searchsorted(pick, profile.coarse_index)
        self.coarse_right = profile.coarse_right


def _stride(profile: NumericProfile, rows: int) -> int:
    """1, or the s of every s-th edge for a window much smaller than a binned profile."""
    k = len(profile.edges)
    wanted = max(MIN_WINDOW_EDGES, rows // 4)
    return 1 if profile.exact or k <= wanted else -(-k // wanted)


def _grid(profile: NumericProfile, rows: int) -> _Grid:
    stride = _stride(profile, rows)
    grid: _Grid | None = profile.cache.get(("grid", stride))
    if grid is None:
        grid = profile.cache[("grid", stride)] = _Grid(profile, stride)
    return grid


def cached_plan(
    profiles: Sequence[NumericProfile], rows: int, cache: dict[Any, Any]
) -> NumericPlan:
    """The :class:`NumericPlan` of ``profiles`` for ``rows``, kept in ``cache`` for reuse."""
    key = ("numeric", tuple((p.name, _stride(p, rows)) for p in profiles))
    plan: NumericPlan | None = cache.get(key)
    if plan is None or plan.profiles != list(profiles):
        plan = cache[key] = NumericPlan(profiles, rows)
    return plan


class NumericPlan:
    """Numeric profiles padded to one number of edges, for windows of about ``rows`` rows.

    Padding repeats the last edge with the reference function at 1, so padded cells are empty
    and change none of the statistics.
    """

    def __init__(self, profiles: Sequence[NumericProfile], rows: int) -> None:
        self.profiles = list(profiles)
        grids = [_grid(p, rows) for p in self.profiles]
        f = len(grids)
        k = max([len(g.edges) for g in grids] + [1])
        c = max([len(g.coarse) for g in grids] + [0])
        self.k = np.array([len(g.edges) for g in grids], dtype=np.int64)
        self.n = np.array([p.n_valid for p in self.profiles], dtype=np.int64)
        self.exact = [g.exact for g in grids]
        self.scale = np.array([_scale(p) for p in self.profiles])
        self.pad = np.arange(k)[None, :] >= self.k[:, None]
        self.edges = np.zeros((f, k))
        self.below = np.repeat(self.n[:, None], k, axis=1)
        self.at_or_below = self.below.copy()
        self.inside = np.ones((f, k + 1))
        self.inside[:, 0] = 0.0
        self.coarse = np.zeros((f, c), np.int64)
        self.coarse_used = np.zeros((f, c), bool)
        self.coarse_reference = np.zeros((f, c + 2), np.int64)
        self.coarse_cum = np.zeros((f, c), np.int64)
        """:attr:`coarse` in the layout of :func:`edge_positions`' running counts."""
        for i, (p, g) in enumerate(zip(self.profiles, grids, strict=True)):
            used = len(g.edges)
            if used:
                self.edges[i, :used], self.edges[i, used:] = g.edges, g.edges[-1]
                self.below[i, :used], self.at_or_below[i, :used] = g.below, g.at_or_below
                self.inside[i, : used + 1] = g.inside
            bounds = len(g.coarse)
            self.coarse[i, :bounds] = g.coarse + k * g.coarse_right
            self.coarse_used[i, :bounds] = True
            self.coarse_cum[i, :bounds] = 2 * g.coarse + g.coarse_right
            self.coarse_reference[i, : bounds + 1] = p.coarse_reference
            self.coarse_reference[i, -1] = p.n_missing
        n = np.maximum(self.n, 1)[:, None]
        self.fr_l, self.fr_r = self.below / n, self.at_or_below / n
        self.area = self.inside[:, 1:-1] * np.diff(self.edges, axis=1)
        """The reference distribution function's integral over each cell."""


def compare_numeric_batch(plan: NumericPlan, columns: Sequence[np.ndarray]) -> list[Comparison]:
    """Compare each float64 column (equal lengths) with the plan's profile of the same index."""
    if not columns:
        return []
    located = Located(plan, columns)
    located.locate(0, located.features)
    return located.compare()


@dataclass(frozen=True)
class EdgePositions:
    """A window's numeric features placed among their profile's edges as the values arrived
    (:meth:`~mmtui.stats.window.RecordWindow.positions`, by an :class:`EdgePlacer`): a drift
    check then counts instead of sorting.

    Codes: feature ``i``'s value ``x`` is ``i * width + 2 * (edges below x)``, plus 1 when ``x``
    is an edge; a missing value ``i * width + 2 * k_i + 1``, with ``k_i`` the feature's edges and
    ``width = 2 * max(k_i) + 2``.
    """

    rows: int
    """The window size the edges were chosen for (see :func:`grid_edges`)."""
    features: tuple[NumericProfile, ...]
    """The profile's numeric features, in its order (these objects: another profile's
    features of the same names have other edges)."""
    values: np.ndarray
    """``(features, n)`` float64, NaN for missing."""
    codes: np.ndarray
    """``(features, n)`` int64 codes of ``values``."""
    counts: np.ndarray | None = None
    """``(features, width)``: how many values have each code, when the window kept count."""
    sums: np.ndarray | None = None
    """``(features, width)``: the sum of the values of each code (0 for missing ones)."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def fits(self, features: Sequence[NumericProfile]) -> bool:
        """Whether the codes are of these features' edges."""
        return len(features) == len(self.features) and all(
            a is b for a, b in zip(features, self.features, strict=True)
        )


def grid_edges(profile: NumericProfile, rows: int) -> np.ndarray:
    """The edges a check of a window of about ``rows`` rows runs on (see the module's text)."""
    return _grid(profile, rows).edges


class EdgePlacer:
    """Codes values of numeric features as :class:`EdgePositions` says, for windows of
    ``rows`` rows."""

    def __init__(self, profiles: Sequence[NumericProfile], rows: int) -> None:
        self.rows = rows
        self.features = tuple(profiles)
        self.edges = [grid_edges(p, rows) for p in profiles]
        f = len(self.edges)
        self.k = np.array([len(e) for e in self.edges], np.int64)
        self.width = 2 * int(max([*self.k.tolist(), 1])) + 2
        self.offsets = np.arange(f, dtype=np.int64) * self.width
        self.missing = self.offsets + 2 * self.k + 1
        """Each feature's code of a missing value."""
        self._padded = np.full((f, max(self.width // 2 - 1, 1)), np.nan)
        for i, e in enumerate(self.edges):
            self._padded[i, : len(e)] = e

    def place(self, values: np.ndarray) -> np.ndarray:
        """The int64 codes of ``(features, n)`` float64 values (non-finite = missing).

        >>> from mmtui.stats.features import summarise_numeric
        >>> placer = EdgePlacer([summarise_numeric("x", np.array([1.0, 2.0]))], 2)
        >>> placer.place(np.array([[0.5, 1.0, 1.5, 2.0, 7.0, np.nan]])).tolist()
        [[0, 1, 2, 3, 4, 5]]
        """
        f, n = values.shape
        left = np.empty((f, n), np.int64)
        for i, e in enumerate(self.edges):
            left[i] = np.searchsorted(e, values[i], side="left")
        width = self._padded.shape[1]
        at = np.minimum(left, np.maximum(self.k - 1, 0)[:, None])
        at += (np.arange(f) * width)[:, None]
        codes: np.ndarray = 2 * left + (self._padded.reshape(-1)[at] == values)
        codes += self.offsets[:, None]
        missing = ~np.isfinite(values)
        if missing.any():
            codes[missing] = np.broadcast_to(self.missing[:, None], codes.shape)[missing]
        return codes

    def count(self, codes: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """How many of ``codes`` there are of each, and the sum of their ``weights``, as
        ``(features, width)`` arrays."""
        return _count(codes, weights, self.width)


def _count(codes: np.ndarray, weights: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`EdgePlacer.count` for codes laid out ``width`` to a feature."""
    f = codes.shape[0]
    flat = codes.reshape(-1)
    counts = np.bincount(flat, minlength=f * width).reshape(f, width)
    sums = np.bincount(flat, weights.reshape(-1), minlength=f * width)
    return counts, sums.reshape(f, width)


def compare_numeric_positions(plan: NumericPlan, placed: EdgePositions) -> list[Comparison]:
    """:func:`compare_numeric_batch` for values already placed among the plan's edges (the
    plan of ``placed.features`` for ``placed.rows``): the same statistics, from the counts and
    sums per code, without sorting.

    Wasserstein needs the current values in order only inside the cells where the current
    distribution function crosses the reference's; those few values are picked out and sorted.
    """
    f, rows = placed.codes.shape
    if not f:
        return []
    k = plan.edges.shape[1]
    width = 2 * k + 2
    if placed.counts is not None and placed.counts.shape != (f, width):
        raise ValueError(f"positions: counts of shape {placed.counts.shape}, not {(f, width)}")
    counts, sums = placed.counts, placed.sums
    if counts is None or sums is None:
        counts, sums = _count(placed.codes, placed.values, width)
    else:
        sums = sums.copy()
    cum = np.cumsum(counts, axis=1)
    m = cum[np.arange(f), 2 * plan.k]
    bounds = np.take_along_axis(cum, plan.coarse_cum, axis=1)
    pl, pr = _padded(plan, cum[:, 0 : 2 * k : 2], cum[:, 1 : 2 * k : 2])
    with np.errstate(invalid="ignore"):
        w1 = _wasserstein_cells(plan, placed.codes, placed.values, sums, pl, pr, m)
    return _comparisons(plan, pl, pr, m, rows, w1, bounds)


def _wasserstein_cells(
    plan: NumericPlan,
    codes: np.ndarray,
    values: np.ndarray,
    sums: np.ndarray,
    pl: np.ndarray,
    pr: np.ndarray,
    m: np.ndarray,
) -> np.ndarray:
    """:func:`_wasserstein` from the sums of the values of each of the
    :class:`EdgePositions` ``codes`` (``sums``; changed here).

    In cell ``(L, R)`` with ``lo`` values before it, ``hi`` before its end and ``C`` the sum of
    those inside, ``∫(F_cur - a) = (hi R - lo L - C) / m - ∫a``: where the current function
    stays on one side of the reference's ``a``, that is the cell's ``±∫|F_cur - a|``. Only in
    the few cells where it crosses are the values inside needed in order: they are picked out
    and sorted, and the cell is done as in :func:`_wasserstein`.
    """
    f, width = sums.shape
    rows = codes.shape[1]
    flat = codes.reshape(-1)
    k = plan.edges.shape[1]
    e = plan.edges
    every = np.arange(f)
    last = np.maximum(plan.k - 1, 0)
    top = sums[every, 2 * plan.k]  # the values above the last edge
    sums[every, 2 * plan.k] = 0.0  # which no (padding) cell holds
    mc = np.maximum(m, 1)
    below = pl[:, 0] * e[:, 0] - sums[:, 0]
    above = top - (m - pr[every, last]) * e[every, last]
    lo, hi = pr[:, :-1], pl[:, 1:]
    cell = sums[:, 2 : 2 * k : 2]
    signed = hi * e[:, 1:]
    signed -= lo * e[:, :-1]
    signed -= cell
    signed -= plan.area * mc[:, None]
    total = np.abs(signed).sum(axis=1)
    am = plan.inside[:, 1:-1] * mc[:, None]
    crossing = np.flatnonzero((lo < am) & (am <= hi))
    if len(crossing):
        i, j = np.divmod(crossing, k - 1)
        wanted = np.zeros((f, width), bool)
        wanted[i, 2 * j + 2] = True
        picked = np.flatnonzero(wanted.reshape(-1)[flat])
        inside = values.reshape(-1)[picked]
        # by feature (they come so), then value: by cell, then value within each feature
        ends = np.searchsorted(picked, np.arange(1, f + 1) * rows).tolist()
        for start, end in zip([0, *ends[:-1]], ends, strict=True):
            if end - start > 1:
                inside[start:end].sort()
        c_lo, c_hi, c_am = lo[i, j], hi[i, j], am[i, j]
        first = np.ceil(c_am).astype(np.int64)  # F_cur >= a from this many values on
        starts = np.cumsum(c_hi - c_lo) - (c_hi - c_lo)
        at = starts + first - c_lo - 1
        running = np.concatenate(([0.0], np.cumsum(inside)))
        left, right = e[i, j], e[i, j + 1]
        inner = (c_lo - c_am) * left + (c_hi - c_am) * right - 2.0 * (first - 1 - c_am) * inside[at]
        inner += 2.0 * (running[at] - running[starts]) - cell[i, j]
        total += np.bincount(i, weights=inner - np.abs(signed[i, j]), minlength=f)
    return (total + below + above) / mc  # type: ignore[no-any-return]


class Located:
    """Columns copied into one buffer, then, row range by row range, sorted and the plan's
    edges placed among their values (:meth:`locate`; two threads may take disjoint ranges:
    numpy's sort and search run without the GIL), then compared (:meth:`compare`).

    ``buffer[i, 0]`` is 0, then come column ``i``'s values, in ascending order once located
    (NaN last); it becomes the running sums. ``m[i]``: column ``i``'s finite values; ``pl``
    (``pr``): how many are below (at or below) each edge.
    """

    def __init__(self, plan: NumericPlan, columns: Sequence[np.ndarray]) -> None:
        self.plan = plan
        self.features = f = len(columns)
        self.rows = rows = len(columns[0]) if f else 0
        self.buffer = np.empty((f, rows + 1))
        self.buffer[:, 0] = 0.0
        x = self.buffer[:, 1:]
        for i, column in enumerate(columns):
            x[i] = column
        self.m = np.zeros(f, np.int64)
        self.pl = np.zeros((f, plan.edges.shape[1]), np.int64)
        self.searched = np.zeros(f, bool)
        """Rows whose edges were looked up among their values (ties are found afterwards)."""
        self.counted: dict[int, np.ndarray] = {}
        """Rows counted the other way round whose ``pr`` differs from ``pl``."""

    def locate(self, lo: int, hi: int) -> None:
        """Sort rows ``lo:hi`` and place the edges among their values."""
        plan, x = self.plan, self.buffer[lo:hi, 1:]
        x.sort(axis=1)  # NaN last in every row
        m = self.m[lo:hi] = _valid(x)
        for j in np.flatnonzero((m > 0) & (plan.n[lo:hi] > 0)).tolist():
            i, mi = lo + j, int(m[j])
            used = int(plan.k[i])
            values = x[j, :mi]
            if mi >= 2 * used:
                self.pl[i, :used] = np.searchsorted(values, plan.edges[i, :used], side="left")
                self.searched[i] = True
                continue
            row_pl, row_pr = _current_cdf(plan.edges[i, :used], values)
            self.pl[i, :used] = row_pl
            if row_pr is not row_pl:
                self.counted[i] = row_pr

    def compare(self) -> list[Comparison]:
        """The comparisons, once every row is located; overwrites the buffer."""
        return _statistics(self)


def _statistics(located: Located) -> list[Comparison]:
    plan, buffer, m = located.plan, located.buffer, located.m
    x = buffer[:, 1:]
    pl = located.pl
    pr = pl  # a separate array once some current value equals an edge
    if located.counted:
        pr = pl.copy()
        for i, row_pr in located.counted.items():
            pr[i, : len(row_pr)] = row_pr
    searched = np.flatnonzero(located.searched)
    if len(searched):  # values equal to an edge, all rows at once: ``<=`` counts differ there
        width = buffer.shape[1]
        at = np.minimum(pl[searched], (m[searched] - 1)[:, None]) + 1 + (searched * width)[:, None]
        tied = (buffer.reshape(-1)[at] == plan.edges[searched]) & ~plan.pad[searched]
        for j in np.flatnonzero(tied.any(axis=1)).tolist():
            i = int(searched[j])
            if pr is pl:
                pr = pl.copy()
            row_tied = tied[j]
            pr[i, row_tied] = np.searchsorted(
                x[i, : m[i]], plan.edges[i, row_tied], side="right"
            )
    pl, pr = _padded(plan, pl, pr)
    bounds = np.take_along_axis(np.concatenate((pl, pr), axis=1), plan.coarse, axis=1)
    with np.errstate(invalid="ignore"):
        w1 = _wasserstein(plan, buffer, pl, pr, m)
    return _comparisons(plan, pl, pr, m, located.rows, w1, bounds)


def _padded(plan: NumericPlan, pl: np.ndarray, pr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The counts with the padding edges' set to the last real edge's ``<=`` count."""
    if not plan.pad.any():
        return pl, pr
    last = pr[np.arange(len(pr)), np.maximum(plan.k - 1, 0)][:, None]
    return np.where(plan.pad, last, pl), (pl if pr is pl else np.where(plan.pad, last, pr))


def _comparisons(
    plan: NumericPlan,
    pl: np.ndarray,
    pr: np.ndarray,
    m: np.ndarray,
    rows: int,
    w1: np.ndarray,
    bounds: np.ndarray,
) -> list[Comparison]:
    """KS, PSI and JS from the counts below (``pl``) and at or below (``pr``) each edge, with
    ``w1`` the unscaled Wasserstein distance and ``bounds`` the counts at the coarse bins'
    bounds (``plan.coarse``)."""
    f = len(m)
    active = (m > 0) & (plan.n > 0)
    mf = np.maximum(m, 1)[:, None].astype(np.float64)
    fc_l = pl / mf
    fc_r = fc_l if pr is pl else pr / mf
    d = np.maximum(np.abs(plan.fr_l - fc_l).max(axis=1), np.abs(plan.fr_r - fc_r).max(axis=1))
    # inside a bin both functions move by at most their mass there
    upper = np.maximum(
        (plan.fr_l[:, 1:] - fc_r[:, :-1]).max(axis=1, initial=0.0),
        (fc_l[:, 1:] - plan.fr_r[:, :-1]).max(axis=1, initial=0.0),
    )
    upper = np.maximum(d, upper)
    psi, js = _coarse(plan, bounds, m, rows)
    with np.errstate(invalid="ignore"):
        w1 = w1 / plan.scale

    asymptotic = ks_pvalues(d, plan.n, m).tolist()
    out = []
    for i in range(f):
        n, mi = int(plan.n[i]), int(m[i])
        scores = {"psi": float(psi[i]), "js": float(js[i])}
        missing = int(plan.coarse_reference[i, -1])
        if not active[i]:
            out.append(Comparison("ks", None, None, n, mi, missing, rows - mi, scores))
            continue
        if plan.exact[i] and n * mi <= EXACT_KS_MAX_PRODUCT:
            d_num = max(
                int(np.abs(plan.below[i] * mi - pl[i] * n).max()),
                int(np.abs(plan.at_or_below[i] * mi - pr[i] * n).max()),
            )
            p_value = ks_exact_pvalue(d_num, n, mi)
        else:
            p_value = asymptotic[i]
        if not plan.exact[i]:
            scores["ks_upper"] = float(upper[i])
        scores["wasserstein"] = max(0.0, float(w1[i]))
        out.append(Comparison("ks", float(d[i]), p_value, n, mi, missing, rows - mi, scores))
    return out


def _current_cdf(edges: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts of the sorted ``xs`` ``< edges[k]`` and ``<= edges[k]``, for fewer values than
    edges (each value placed among the edges, then counted up)."""
    k = len(edges)
    left = np.searchsorted(edges, xs, side="left")  # edges < x
    right = left + (edges[np.minimum(left, k - 1)] == xs)  # edges <= x
    # x <= e_k  <=>  (edges < x) <= k ;  x < e_k  <=>  (edges <= x) <= k
    pr = np.cumsum(np.bincount(left, minlength=k + 1)[:k])
    pl = np.cumsum(np.bincount(right, minlength=k + 1)[:k])
    return pl, pr


def _coarse(
    plan: NumericPlan, bounds: np.ndarray, m: np.ndarray, rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """PSI and JS over the reference-quantile bins plus a bin of missing values, from the
    counts at their bounds."""
    cum = np.where(plan.coarse_used, bounds, m[:, None])
    zero = np.zeros((len(m), 1), np.int64)
    bins = np.diff(np.concatenate((zero, cum, m[:, None]), axis=1), axis=1)
    current = np.concatenate((bins, (rows - m)[:, None]), axis=1)
    return psi_js_rows(plan.coarse_reference, current)


def _valid(x: np.ndarray) -> np.ndarray:
    """Finite values per sorted row, made the leading ones: ±inf become NaN (missing)."""
    f, rows = x.shape
    m = np.full(f, rows, np.int64)
    if rows == 0:
        return m
    for i in np.flatnonzero(np.isnan(x[:, -1])).tolist():
        m[i] = np.searchsorted(x[i], np.nan)  # NaN sorts last
    top = x[np.arange(f), np.maximum(m - 1, 0)]
    for i in np.flatnonzero((x[:, 0] == -np.inf) | (top == np.inf)).tolist():
        row = x[i]
        row[np.isinf(row)] = np.nan
        row.sort()
        m[i] = np.searchsorted(row, np.nan)
    return m


def _wasserstein(
    plan: NumericPlan, buffer: np.ndarray, pl: np.ndarray, pr: np.ndarray, m: np.ndarray
) -> np.ndarray:
    """``∫|F_ref - F_cur|`` per row, cell by cell between consecutive edges.

    In cell ``(L, R)`` the reference is a constant ``a`` and the current function a step
    function through the sorted values ``x[lo:hi]``; ``g = F_cur - a`` is non-decreasing, so
    ``∫|g| = ∫g - 2∫_L^z g`` with ``z`` the first value where ``F_cur >= a``. With ``q`` values
    before ``z`` and ``S(c)`` the sum of the first ``c`` values, that is
    ``((lo - am) L + (hi - am) R - 2 (q - am) z + 2 S(q) - S(lo) - S(hi)) / m``. Below the first
    edge the reference is 0, above the last 1. ``buffer`` holds 0 then the sorted values in each
    row; it becomes the running sums ``S``.
    """
    f, width = buffer.shape
    flat = buffer.reshape(-1)
    offset = (np.arange(f) * width)[:, None]
    mc = np.maximum(m, 1)[:, None]
    e = plan.edges
    left, right = e[:, :-1], e[:, 1:]
    lo, hi = pr[:, :-1], pl[:, 1:]  # values before the cell, and before its end
    am = plan.inside[:, 1:-1] * mc
    first = np.minimum(np.ceil(am), mc).astype(np.int64)  # F_cur >= a from this many values
    q = np.minimum(np.maximum(first - 1, lo), hi)
    value = flat[np.minimum(q + 1, width - 1) + offset]  # the value at z, if any
    z = np.where(lo >= first, left, np.where(first > hi, right, value))
    np.cumsum(buffer, axis=1, out=buffer)  # buffer[i, c] = S(c)
    s_pl = flat[pl + offset]
    s_pr = s_pl if pr is pl else flat[pr + offset]
    inner = (lo - am) * left + (hi - am) * right - 2.0 * (q - am) * z
    inner += 2.0 * flat[q + offset] - s_pr[:, :-1] - s_pl[:, 1:]
    start, end = pl[:, 0], pr[:, -1]
    below = start * e[:, 0] - s_pl[:, 0]
    above = flat[m + offset[:, 0]] - s_pr[:, -1] - (m - end) * e[:, -1]
    return (inner.sum(axis=1) + below + above) / mc[:, 0]  # type: ignore[no-any-return]


def _scale(profile: NumericProfile) -> float:
    if profile.std > 0:
        return profile.std
    return abs(profile.mean) if profile.mean != 0 else 1.0
