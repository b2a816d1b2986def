"""Reference-versus-current histograms of one feature, for reports."""

from __future__ import annotations

import numpy as np

from mmtui.stats.categorical import level_counts
from mmtui.stats.columns import to_float, to_labels
from mmtui.stats.features import OTHER, UNSEEN, CategoricalProfile, FeatureProfile, NumericProfile


def histogram_pair(
    feature: FeatureProfile, values: np.ndarray, bins: int = 20
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(edges or labels, reference fractions, current fractions)`` of non-missing values.

    Numeric: ``bins`` equal-width bins over the range of both sides (``bins + 1`` float edges);
    the reference's fractions come from its distribution function at the edges (exact at the
    profile's edges, linear between them). Categorical: the ``bins - 1`` levels most frequent on
    either side, then ``__other__`` (the other levels; with a profile that pooled rare levels, also
    the current values it cannot place) and ``__unseen__`` (current values that are no reference
    level), each only when not empty; the first array holds the labels.

    Examples
    --------
    >>> from mmtui.stats.features import summarise_categorical
    >>> ref = summarise_categorical("colour", np.array(["red", "red", "blue", ""]))
    >>> labels, r, c = histogram_pair(ref, np.array(["red", "green"]))
    >>> labels.tolist(), r.round(3).tolist(), c.tolist()
    (['red', 'blue', '__unseen__'], [0.667, 0.333, 0.0], [0.5, 0.0, 0.5])
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    if isinstance(feature, NumericProfile):
        return _numeric(feature, to_float(values, feature.name), bins)
    return _categorical(feature, to_labels(values, feature.name), bins)


def _numeric(
    feature: NumericProfile, x: np.ndarray, bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = x[np.isfinite(x)]
    ends = [feature.minimum, feature.maximum] if feature.n_valid else []
    if len(x):
        ends += [float(x.min()), float(x.max())]
    lo, hi = (min(ends), max(ends)) if ends else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    if feature.n_valid:
        # known at each edge and just below it; linear in between
        knots = np.repeat(feature.edges, 2)
        cdf = np.column_stack([feature.below, feature.at_or_below]).reshape(-1)
        at = np.interp(edges, knots, cdf / feature.n_valid, left=0.0, right=1.0)
        at[0] = 0.0
        reference = np.diff(at)
    else:
        reference = np.zeros(bins)
    current = np.histogram(x, edges)[0] / len(x) if len(x) else np.zeros(bins)
    return edges, reference, current


def _categorical(
    feature: CategoricalProfile, labels: np.ndarray, bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    counts, unmatched, _ = level_counts(feature, labels)
    m = int(counts.sum()) + unmatched
    ref = feature.counts / feature.n_valid if feature.n_valid else np.zeros(len(counts))
    cur = counts / m if m else np.zeros(len(counts))
    top = np.argsort(-np.maximum(ref, cur), kind="stable")[: bins - 1]
    rest = np.ones(len(counts), bool)
    rest[top] = False
    ref_other = float(ref[rest].sum()) + (feature.other / feature.n_valid if feature.other else 0)
    cur_other = float(cur[rest].sum())
    cur_unseen = unmatched / m if m else 0.0
    if feature.other:
        cur_other, cur_unseen = cur_other + cur_unseen, 0.0
    out = [(feature.levels[i], float(ref[i]), float(cur[i])) for i in top]
    out += [(OTHER, ref_other, cur_other), (UNSEEN, 0.0, cur_unseen)]
    kept = [row for row in out[: len(top)]] + [row for row in out[len(top) :] if row[1] or row[2]]
    return (
        np.array([row[0] for row in kept], dtype=str),
        np.array([row[1] for row in kept]),
        np.array([row[2] for row in kept]),
    )
