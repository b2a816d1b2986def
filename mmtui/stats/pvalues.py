"""Tail probabilities for the drift tests, in numpy and :mod:`math` only.

``scipy.special`` costs about 0.35 s to import, a third of what ``mmtui drift`` may spend in all,
so the few distributions the tests need are computed here and checked against scipy in the tests.
"""

from __future__ import annotations

import math

import numpy as np

EXACT_KS_MAX_PRODUCT = 250_000
"""Exact two-sample KS p-values up to this ``n * m`` (a few ms); asymptotic beyond."""


def kolmogorov_sf(x: float) -> float:
    """Survival function of the Kolmogorov distribution, ``P(K > x)``.

    Examples
    --------
    >>> round(kolmogorov_sf(1.36), 4)
    0.0495
    """
    if x <= 0.0:
        return 1.0
    if x < 1.0:
        # Jacobi form of the CDF, fast for small x: sqrt(2 pi)/x * sum exp(-(2k-1)^2 pi^2/(8x^2))
        w = -(math.pi**2) / (8.0 * x * x)
        cdf = sum(math.exp((2 * k - 1) ** 2 * w) for k in range(1, 8))
        return min(1.0, max(0.0, 1.0 - math.sqrt(2.0 * math.pi) / x * cdf))
    terms = ((-1.0) ** (k - 1) * math.exp(-2.0 * k * k * x * x) for k in range(1, 12))
    return min(1.0, max(0.0, 2.0 * sum(terms)))


def ks_pvalue(d: float, n: int, m: int) -> float:
    """Asymptotic two-sided p-value of the two-sample KS statistic ``d``.

    The Kolmogorov distribution at ``sqrt(n*m/(n+m)) * d``; conservative for unequal sample sizes,
    within a few percent of the exact value for equal ones from about 100 values on.

    Examples
    --------
    >>> round(ks_pvalue(0.05, 1000, 1000), 4)
    0.1641
    """
    if n <= 0 or m <= 0 or d <= 0.0:
        return 1.0
    return kolmogorov_sf(math.sqrt(n * m / (n + m)) * d)


_JACOBI = (2.0 * np.arange(1, 8) - 1.0) ** 2
_ALTERNATING = np.arange(1, 12, dtype=np.float64)
_SIGNS = (-1.0) ** (_ALTERNATING - 1.0)


def ks_pvalues(d: np.ndarray, n: np.ndarray, m: np.ndarray) -> np.ndarray:
    """:func:`ks_pvalue` of many statistics at once (the same series, in numpy)."""
    d, n, m = (np.asarray(a, dtype=np.float64) for a in (d, n, m))
    valid = (n > 0) & (m > 0) & (d > 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(valid, np.sqrt(n * m / (n + m)) * d, 1.0)
        w = -(math.pi**2) / (8.0 * x * x)
        small = 1.0 - math.sqrt(2.0 * math.pi) / x * np.exp(w[:, None] * _JACOBI).sum(axis=1)
        large = 2.0 * (_SIGNS * np.exp(-2.0 * np.outer(x * x, _ALTERNATING**2))).sum(axis=1)
    p = np.clip(np.where(x < 1.0, small, large), 0.0, 1.0)
    return np.where(valid, p, 1.0)


def ks_exact_pvalue(d_num: int, n: int, m: int) -> float:
    """Exact two-sided p-value of the two-sample KS statistic ``D = d_num / (n*m)``.

    Counts the lattice paths that stay strictly inside ``|i*m - j*n| < d_num`` (Hodges), as
    ``scipy.stats.ks_2samp(method="exact")`` does; ``O(n*m)``, meant for
    ``n*m <= EXACT_KS_MAX_PRODUCT``. Continuous data is assumed (ties make the test conservative).

    Examples
    --------
    >>> round(ks_exact_pvalue(60, 10, 10), 6)   # D = 0.6
    0.052448
    """
    if n <= 0 or m <= 0 or d_num <= 0:
        return 1.0
    p = _ks_exact(d_num, n, m)
    # 1 - P(inside) has no relative precision left below ~1e-12: the asymptotic value is the
    # better estimate there
    return p if p > 1e-12 else ks_pvalue(d_num / (n * m), n, m)


def _ks_exact(d_num: int, n: int, m: int) -> float:
    """``P(D >= d)`` by counting lattice paths that stay strictly inside ``|i*m - j*n| < d_num``."""
    if n > m:
        n, m = m, n
    i = np.arange(n + 1, dtype=np.int64)
    lo = np.maximum((i * m - d_num) // n + 1, 0).tolist()
    hi = np.minimum(-((-(i * m + d_num)) // n) - 1, m).tolist()
    row = np.zeros(m + 1)
    row[: hi[0] + 1] = 1.0
    log_scale = 0.0
    accumulate = np.add.accumulate
    for k in range(1, n + 1):
        a = lo[k]
        row[lo[k - 1] : a] = 0.0
        seg = row[a : hi[k] + 1]
        accumulate(seg, out=seg)
        top = seg[-1]
        if top > 1e200:
            seg /= top
            log_scale += math.log(top)
    inside = row[m]
    if inside <= 0.0:  # no path keeps D below d: P(D >= d) = 1
        return 1.0
    log_paths = math.lgamma(n + m + 1) - math.lgamma(n + 1) - math.lgamma(m + 1)
    return min(1.0, max(0.0, -math.expm1(math.log(inside) + log_scale - log_paths)))


def chi2_sf(x: float, dof: int) -> float:
    """Survival function of the chi-squared distribution with an integer ``dof >= 1``.

    Uses the finite series of the regularized upper incomplete gamma function at half-integer
    shape (Poisson sums), summed in log space, so it stays accurate for thousands of levels.

    Examples
    --------
    >>> round(chi2_sf(3.841458820694124, 1), 6)
    0.05
    """
    if dof < 1:
        raise ValueError(f"chi2_sf: dof must be >= 1, got {dof}")
    if x <= 0.0:
        return 1.0
    y = 0.5 * x
    log_y = math.log(y)
    if dof % 2 == 0:
        count = dof // 2
        steps = log_y - np.log(np.arange(1, count, dtype=np.float64))
        head = -y
        base = 0.0
    else:
        count = (dof - 1) // 2
        steps = log_y - np.log(np.arange(1, count, dtype=np.float64) + 0.5)
        head = -y + 0.5 * log_y - math.lgamma(1.5)
        base = math.erfc(math.sqrt(y))
    if count == 0:
        return min(1.0, base)
    log_terms = head + np.concatenate(([0.0], np.cumsum(steps)))
    top = float(log_terms.max())
    total = math.exp(top) * float(np.exp(log_terms - top).sum())
    return min(1.0, max(0.0, base + total))


def two_proportion_pvalue(a: int, n: int, b: int, m: int) -> float | None:
    """Two-sided p-value of the pooled z-test that ``a/n`` and ``b/m`` are equal proportions.

    None when there is nothing to test: an empty sample, or a pooled proportion of 0 or 1.

    Examples
    --------
    >>> round(two_proportion_pvalue(10, 100, 25, 100), 4)
    0.0052
    """
    if n <= 0 or m <= 0:
        return None
    pooled = (a + b) / (n + m)
    if pooled <= 0.0 or pooled >= 1.0:
        return None
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n + 1.0 / m))
    z = abs(a / n - b / m) / se
    return math.erfc(z / math.sqrt(2.0))
