"""Distances between binned distributions given as counts over the same bins.

One pair of distributions per row (bins padded with zeros on both sides are neutral), one value
per row; a row with no counts on either side gives 0.
"""

from __future__ import annotations

import numpy as np

PSI_EPSILON = 1e-4
"""Proportions below this are raised to it in PSI, so an empty bin costs a finite amount."""


def psi_js_rows(
    reference: np.ndarray, current: np.ndarray, epsilon: float = PSI_EPSILON
) -> tuple[np.ndarray, np.ndarray]:
    """Population stability index and Jensen-Shannon distance of each row's two distributions.

    PSI is ``sum((q - p) * ln(q / p))`` over the proportions, each raised to at least
    ``epsilon`` (bins empty on both sides add nothing). JS is the base-2 distance, the square
    root of the divergence, in [0, 1], as ``scipy.spatial.distance.jensenshannon(p, q, 2)``.

    Examples
    --------
    >>> psi, js = psi_js_rows(np.array([[50, 50], [1, 0]]), np.array([[60, 40], [0, 1]]))
    >>> psi.round(6).tolist(), js.tolist()
    ([0.040547, 18.418839], [0.08543510262458846, 1.0])
    """
    ref_total = reference.sum(axis=1, keepdims=True).astype(np.float64)
    cur_total = current.sum(axis=1, keepdims=True).astype(np.float64)
    p = reference / np.maximum(ref_total, 1.0)
    q = current / np.maximum(cur_total, 1.0)
    both = (ref_total[:, 0] > 0) & (cur_total[:, 0] > 0)
    p_floor, q_floor = np.maximum(p, epsilon), np.maximum(q, epsilon)
    psi = np.sum((q_floor - p_floor) * np.log(q_floor / p_floor), axis=1)
    mid = 0.5 * (p + q)
    safe_mid = np.where(mid > 0, mid, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(p / safe_mid), 0.0)
        terms += np.where(q > 0, q * np.log2(q / safe_mid), 0.0)
    js = np.sqrt(np.clip(0.5 * terms.sum(axis=1), 0.0, 1.0))
    return np.where(both, psi, 0.0), np.where(both, js, 0.0)
