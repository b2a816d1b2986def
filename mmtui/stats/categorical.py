"""A current categorical column against a :class:`CategoricalProfile`: chi-squared, PSI, JS.

Current values that are not reference levels are pooled into one extra level, ``__unseen__``
(``__other__`` when the profile pooled rare levels, since those cannot be told apart), whose
reference count is 0 (or the pooled count): unseen values weigh as drift evidence in all three.

The chi-squared test is the test of homogeneity on the 2 x k table of reference and current
counts, levels empty on both sides dropped, as ``scipy.stats.chi2_contingency`` computes it:
Yates' continuity correction when there is one degree of freedom, none otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mmtui.stats.comparison import Comparison
from mmtui.stats.divergence import psi_js_rows
from mmtui.stats.features import CategoricalProfile
from mmtui.stats.pvalues import chi2_sf


def compare_categorical(profile: CategoricalProfile, labels: np.ndarray) -> Comparison:
    """Compare unicode ``labels`` (``""`` = missing) with ``profile``."""
    return compare_categorical_batch(CategoricalPlan([profile]), [labels])[0]


class CategoricalPlan:
    """Categorical profiles' counts padded to one number of levels.

    Columns: the levels, the pooled ``__unseen__``/``__other__`` level, then missing values.
    """

    def __init__(self, profiles: Sequence[CategoricalProfile]) -> None:
        self.profiles = list(profiles)
        width = max([len(p.levels) for p in self.profiles] + [0]) + 2
        self.reference = np.zeros((len(self.profiles), width), np.int64)
        for i, p in enumerate(self.profiles):
            self.reference[i, : len(p.levels)] = p.counts
            self.reference[i, -2] = p.other
            self.reference[i, -1] = p.n_missing


def cached_categorical_plan(
    profiles: Sequence[CategoricalProfile], cache: dict[Any, Any]
) -> CategoricalPlan:
    """The :class:`CategoricalPlan` of ``profiles``, kept in ``cache`` for reuse."""
    key = ("categorical", tuple(p.name for p in profiles))
    plan: CategoricalPlan | None = cache.get(key)
    if plan is None or plan.profiles != list(profiles):
        plan = cache[key] = CategoricalPlan(profiles)
    return plan


def compare_categorical_batch(
    plan: CategoricalPlan,
    columns: Sequence[np.ndarray],
    codes: Sequence[np.ndarray | None] = (),
) -> list[Comparison]:
    """Compare each unicode column with the plan's profile of the same index; where ``codes``
    has the column's values as level positions already (``RecordWindow.codes``), count those."""
    current = np.zeros_like(plan.reference)
    for i, labels in enumerate(columns):
        coded = codes[i] if i < len(codes) else None
        if coded is None:
            current[i] = _plan_counts(plan, i, labels)
            continue
        k = len(plan.profiles[i].levels)
        counts = np.bincount(coded, minlength=k + 2)
        if len(counts) > k + 2:
            raise ValueError(f"feature {plan.profiles[i].name!r}: a level code above {k + 1}")
        current[i, :k] = counts[:k]
        current[i, -2:] = counts[k:]
    return _compare_counts(plan, current)


def _plan_counts(plan: CategoricalPlan, i: int, labels: np.ndarray) -> np.ndarray:
    """The current counts of ``labels`` in the layout of the plan's row ``i``: per level, then
    values matching no level, then missing values."""
    counts, unmatched, missing = level_counts(plan.profiles[i], labels)
    row = np.zeros(plan.reference.shape[1], np.int64)
    row[: len(counts)] = counts
    row[-2:] = unmatched, missing
    return row


def _compare_counts(plan: CategoricalPlan, current: np.ndarray) -> list[Comparison]:
    """Compare current counts (one row per profile, in the plan's layout) with the plan's."""
    psi, js = psi_js_rows(plan.reference, current)
    statistic, dof = chi2_rows(plan.reference[:, :-1], current[:, :-1])
    out = []
    for i, profile in enumerate(plan.profiles):
        m = int(current[i, :-1].sum())
        unseen = int(current[i, -2])
        scores = {
            "psi": float(psi[i]),
            "js": float(js[i]),
            "unseen_share": unseen / m if m else 0.0,
        }
        n, missing = profile.n_valid, int(current[i, -1])
        if n == 0 or m == 0:
            out.append(Comparison("chi2", None, None, n, m, profile.n_missing, missing, scores))
            continue
        stat = float(statistic[i]) if dof[i] > 0 else 0.0
        p_value = chi2_sf(stat, int(dof[i])) if dof[i] > 0 else 1.0
        out.append(Comparison("chi2", stat, p_value, n, m, profile.n_missing, missing, scores))
    return out


def level_counts(profile: CategoricalProfile, labels: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Current counts per reference level, values matching no level, and missing values.

    Each value is given a candidate level from the code points at a few positions that tell the
    levels apart (a table lookup), then compared whole with that level, so the match is exact.
    Levels that need more than :data:`MAX_KEY_POSITIONS` positions fall back to a binary search.
    """
    levels = profile.level_array
    size, m = len(levels), len(labels)
    if m == 0:
        return np.zeros(size, np.int64), 0, 0
    labels = np.ascontiguousarray(labels)
    points = labels.view(np.uint32).reshape(m, -1)
    # "" is all NUL code points; a value that only starts with NUL is compared in full
    blank = points[:, 0] == 0
    missing = int(np.count_nonzero(labels[blank] == ""))
    if size == 0:
        return np.zeros(0, np.int64), m - missing, missing
    lookup = _lookup(profile)
    if lookup is None:
        candidate = np.searchsorted(levels, labels)
        np.minimum(candidate, size - 1, out=candidate)
    else:
        positions, tables, strides, table = lookup
        code = np.zeros(m, np.int64)
        for p, t, s in zip(positions, tables, strides, strict=True):
            if p < points.shape[1]:
                code += t[np.minimum(points[:, p], len(t) - 1)] * s
            else:  # every current value is shorter: NUL there
                code += t[0] * s
        candidate = table[code]
    hit = levels[candidate] == labels
    counts = np.bincount(candidate[hit], minlength=size)
    return counts, m - int(counts.sum()) - missing, missing


MAX_KEY_POSITIONS = 3
_MAX_TABLE = 1 << 20


def _lookup(
    profile: CategoricalProfile,
) -> tuple[list[int], list[np.ndarray], list[int], np.ndarray] | None:
    """Positions whose code points tell the levels apart, and the tables that map them to one.

    Per position ``p`` a table from code point to a small code (0: no level has it there); the
    codes combine into one index of ``table``, the candidate level (any level where no level
    matches: the whole-value comparison rejects it). Cached on the profile; None when no
    :data:`MAX_KEY_POSITIONS` positions suffice or the tables would be too large.
    """
    if "lookup" in profile.cache:
        return profile.cache["lookup"]  # type: ignore[no-any-return]
    levels = profile.level_array
    size = len(levels)
    points = np.ascontiguousarray(levels).view(np.uint32).reshape(size, -1)
    chosen: list[int] = []
    groups = np.zeros(size, np.int64)
    result = None
    while len(chosen) < MAX_KEY_POSITIONS:
        best, best_groups, best_count = -1, groups, len(np.unique(groups))
        for p in range(points.shape[1]):
            if p in chosen:
                continue
            _, g = np.unique(np.column_stack((groups, points[:, p])), axis=0, return_inverse=True)
            count = int(g.max()) + 1
            if count > best_count:
                best, best_groups, best_count = p, g.reshape(-1), count
        if best < 0:
            break
        chosen.append(best)
        groups = best_groups
        if best_count == size:
            result = _tables(points, sorted(chosen))
            break
    profile.cache["lookup"] = result
    return result


def _tables(
    points: np.ndarray, positions: list[int]
) -> tuple[list[int], list[np.ndarray], list[int], np.ndarray] | None:
    tables, strides, codes = [], [], []
    stride = 1
    for p in positions:
        column = points[:, p]
        if int(column.max()) >= _MAX_TABLE:
            return None
        distinct = np.unique(column)
        t = np.zeros(int(column.max()) + 2, np.int64)  # the last entry: beyond every level
        t[distinct] = np.arange(1, len(distinct) + 1)
        tables.append(t)
        strides.append(stride)
        codes.append(t[column] * stride)
        stride *= len(distinct) + 1
    if stride > _MAX_TABLE:
        return None
    table = np.zeros(stride, np.int64)
    table[np.sum(codes, axis=0)] = np.arange(len(points))
    return positions, tables, strides, table


def chi2_rows(reference: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Chi-squared statistic and degrees of freedom of each 2 x k table ``[reference, current]``.

    Levels empty on both sides are left out; Yates' correction where one degree of freedom is
    left, as ``scipy.stats.chi2_contingency``. A row with no degree of freedom has statistic 0.

    Examples
    --------
    >>> stat, dof = chi2_rows(np.array([[50, 50]]), np.array([[30, 70]]))
    >>> round(float(stat[0]), 4), int(dof[0])
    (7.5208, 1)
    """
    reference = reference.astype(np.float64)
    current = current.astype(np.float64)
    level = reference + current
    keep = level > 0
    dof = np.count_nonzero(keep, axis=1) - 1
    total = np.maximum(level.sum(axis=1, keepdims=True), 1.0)
    share = level / total
    statistic = np.zeros(len(level))
    for observed in (reference, current):
        expected = observed.sum(axis=1, keepdims=True) * share
        diff = expected - observed
        yates = np.where((dof == 1)[:, None], np.minimum(0.5, np.abs(diff)), 0.0)
        deviation = np.abs(diff) - yates
        used = expected > 0  # an empty side (no values) adds nothing
        safe = np.where(used, expected, 1.0)
        statistic += np.where(used, deviation * deviation / safe, 0.0).sum(axis=1)
    return statistic, dof
