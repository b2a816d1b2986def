"""The seeded data set of the drift issue: reference and current tables with known drift.

20 numeric columns ``num_00``..``num_19`` drawn from five families in turn (normal, log-normal,
exponential, Student t with 5 degrees of freedom, uniform); ``num_00``..``num_09`` are shifted in
the current table by +0.1 of their family's standard deviation. 5 categorical columns
``cat_0``..``cat_4`` with 10 levels ``level_0``..``level_9`` (uniform in ``cat_0``..``cat_2``,
skewed in ``cat_3`` and ``cat_4``); in ``cat_0`` level 0 moves from 10% to 15% of the mass, the
other levels rescaled. So exactly 11 of 25 columns drift.
"""

from __future__ import annotations

import numpy as np

SHIFT_SD = 0.1
LEVELS = np.array([f"level_{i}" for i in range(10)])
_SKEWED = np.array([0.25, 0.18, 0.14, 0.11, 0.09, 0.07, 0.06, 0.04, 0.03, 0.03])


def _numeric(rng: np.random.Generator, family: int, n: int) -> tuple[np.ndarray, float]:
    """``n`` draws of one family, and the family's standard deviation."""
    if family == 0:
        return rng.normal(size=n), 1.0
    if family == 1:
        s = 0.5
        return rng.lognormal(0.0, s, size=n), float(np.sqrt((np.exp(s * s) - 1) * np.exp(s * s)))
    if family == 2:
        return rng.exponential(size=n), 1.0
    if family == 3:
        return rng.standard_t(5, size=n), float(np.sqrt(5 / 3))
    return rng.uniform(-1.0, 1.0, size=n), float(np.sqrt(4 / 12))


def _probabilities(column: int, drifted: bool) -> np.ndarray:
    p = np.full(10, 0.1) if column < 3 else _SKEWED.copy()
    if drifted:
        p = np.concatenate(([p[0] + 0.05], p[1:] * (1 - p[0] - 0.05) / (1 - p[0])))
    return p


def drifted_columns() -> list[str]:
    """The 11 columns that drift."""
    return [f"num_{i:02d}" for i in range(10)] + ["cat_0"]


def make_dataset(n: int, seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``(reference, current)`` tables of ``n`` rows each; see the module docstring."""
    rng = np.random.default_rng(seed)
    reference: dict[str, np.ndarray] = {}
    current: dict[str, np.ndarray] = {}
    for i in range(20):
        name = f"num_{i:02d}"
        reference[name], _ = _numeric(rng, i % 5, n)
        values, sd = _numeric(rng, i % 5, n)
        current[name] = values + SHIFT_SD * sd if i < 10 else values
    for j in range(5):
        name = f"cat_{j}"
        reference[name] = LEVELS[rng.choice(10, size=n, p=_probabilities(j, False))]
        current[name] = LEVELS[rng.choice(10, size=n, p=_probabilities(j, j == 0))]
    return reference, current
