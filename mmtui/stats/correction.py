"""Multiple-testing correction across the features of one drift check.

``"bh"`` (Benjamini-Hochberg, the default) controls the false discovery rate: among the features
flagged, the expected share of false alarms is at most ``alpha``. Drift usually moves several
features at once, and the question is which ones; FDR keeps the power to name them as the number
of features grows, where Bonferroni's family-wise control (``"bonferroni"``: no false alarm at
all with probability ``1 - alpha``) loses it. BH holds for independent or positively dependent
tests, the usual case for features. ``"none"`` tests each feature at ``alpha``.

Each method is expressed as one cutoff: a feature is flagged when its raw p-value is at most the
cutoff, exactly when its adjusted p-value is at most ``alpha``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CORRECTIONS = ("bh", "bonferroni", "none")


def _check(method: str) -> None:
    if method not in CORRECTIONS:
        raise ValueError(f"correction {method!r}: expected one of {', '.join(CORRECTIONS)}")


def cutoff(p_values: Sequence[float], alpha: float, method: str = "bh") -> float:
    """The largest raw p-value that is flagged at level ``alpha`` under ``method``.

    For BH that is ``k * alpha / m`` with ``k`` the largest rank whose sorted p-value is at most
    ``k * alpha / m`` (``alpha / m`` when there is none, which flags nothing).

    Examples
    --------
    >>> round(cutoff([0.01, 0.02, 0.03, 0.5], 0.05), 6)
    0.0375
    >>> cutoff([0.01, 0.02, 0.03, 0.5], 0.05, "bonferroni")
    0.0125
    """
    _check(method)
    m = len(p_values)
    if method == "none" or m == 0:
        return alpha
    if method == "bonferroni":
        return alpha / m
    ranked = np.sort(np.asarray(p_values, dtype=np.float64))
    passing = np.flatnonzero(ranked <= np.arange(1, m + 1) * (alpha / m))
    rank = int(passing[-1]) + 1 if len(passing) else 1
    return rank * alpha / m


def adjust(p_values: Sequence[float], method: str = "bh") -> np.ndarray:
    """Adjusted p-values (BH: step-up ``min_{j>=i} m p_(j) / j``; Bonferroni: ``m p``), ≤ 1.

    Examples
    --------
    >>> adjust([0.01, 0.02, 0.03, 0.5]).tolist()
    [0.04, 0.04, 0.04, 0.5]
    """
    _check(method)
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    if method == "none" or m == 0:
        return p.copy()
    if method == "bonferroni":
        return np.minimum(1.0, p * m)
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    stepped = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(1.0, stepped)
    return out
