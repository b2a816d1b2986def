"""Drift of a current table against a baseline profile, per feature and for the data set.

Default methods: the two-sample Kolmogorov-Smirnov test for numeric features, the chi-squared
test of homogeneity for categorical ones, each on the non-missing values, with p-values corrected
across features by Bonferroni (see :mod:`mmtui.stats.correction`). Bonferroni bounds the chance of
*any* false drift flag in one evaluation at ``alpha``, which is what a pager needs: on the issue's
data set over 40 seeds it flagged exactly the 11 drifted columns every time, where
Benjamini-Hochberg (which bounds the *share* of false flags, and is available as
``correction="bh"``) added a false alarm on 7 seeds, and it lost no power at these sizes (the
shifted columns have p < 1e-38). Tests rather than
distances with fixed thresholds, because a fixed threshold is blind to sample size: on the drift
issue's data set (100k rows, 10 columns shifted by 0.1 sd), PSI >= 0.1 flags 2 of the 10 shifts
(the others score 0.01-0.02) that KS flags with p < 1e-38, while in a window of a few hundred
rows sampling noise alone reaches a Wasserstein distance of 0.1 sd. PSI, Jensen-Shannon (and
Wasserstein for numeric features) are reported in ``scores`` and can be chosen per feature
(``methods={"age": "psi:0.2"}``), flagged at a fixed threshold (default
:data:`DISTANCE_THRESHOLDS`).

Missing values: a change in a feature's missing rate is drift too. When either side has missing
values, a two-proportion z-test of the rates is combined with the feature's test by Bonferroni
within the feature, ``p = min(1, 2 * min(p_test, p_missing))``, and the method reads
``"ks+missing"``. When only one side has values the missing-rate test alone decides
(``"missing"``, statistic the absolute change in rate); with nothing to compare, ``"insufficient
data"``, never flagged. PSI and JS count missing values as one more bin; Wasserstein ignores
them.

The data set drifts when the share of drifted features reaches ``drift_share``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mmtui.stats.columns import CATEGORICAL, NUMERIC
from mmtui.stats.compare import compare_features
from mmtui.stats.comparison import Comparison
from mmtui.stats.correction import CORRECTIONS, adjust, cutoff
from mmtui.stats.features import FeatureProfile
from mmtui.stats.histogram import histogram_pair
from mmtui.stats.numeric import EdgePositions
from mmtui.stats.profile import Profile
from mmtui.stats.pvalues import two_proportion_pvalue

__all__ = [
    "DISTANCE_THRESHOLDS",
    "DriftResult",
    "FeatureDrift",
    "INSUFFICIENT",
    "METHODS",
    "TESTS",
    "compute_drift",
    "histogram_pair",
]

TESTS = {NUMERIC: "ks", CATEGORICAL: "chi2"}
"""The default method per feature kind."""

DISTANCE_THRESHOLDS = {"wasserstein": 0.1, "psi": 0.1, "js": 0.1}
"""Default thresholds of the distance methods (Wasserstein in reference standard deviations)."""

METHODS = {NUMERIC: ("ks", "wasserstein", "psi", "js"), CATEGORICAL: ("chi2", "psi", "js")}
INSUFFICIENT = "insufficient data"


@dataclass(frozen=True)
class FeatureDrift:
    """The drift verdict on one feature.

    ``threshold`` is what ``statistic`` or ``p_value`` is compared with: for a test, the corrected
    p-value cutoff (flagged when ``p_value <= threshold``; ``alpha`` uncorrected); for a distance,
    its threshold (flagged when ``statistic >= threshold``). ``n_reference`` and ``n_current``
    count the non-missing values compared.
    """

    name: str
    kind: str
    method: str
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    n_reference: int
    n_current: int
    scores: dict[str, float] = field(default_factory=dict)
    """Every statistic computed (``ks``/``chi2``, ``psi``, ``js``, ``wasserstein``,
    ``ks_upper``, ``unseen_share``, ``missing_rate_reference``/``_current``,
    ``missing_p_value``, ``p_adjusted``), where it could be computed."""


@dataclass(frozen=True)
class DriftResult:
    """Drift of every profiled feature, and of the data set."""

    n_reference: int
    n_current: int
    correction: str
    alpha: float
    features: tuple[FeatureDrift, ...]
    drift_share: float
    """Share of features flagged."""
    drift_share_threshold: float
    dataset_drift: bool

    @property
    def drifted_features(self) -> list[str]:
        """Names of the flagged features, in profile order."""
        return [f.name for f in self.features if f.drifted]

    def to_json(self, baseline: str) -> dict[str, Any]:
        """The ``drift`` JSON document of DESIGN.md."""
        return {
            "baseline": baseline,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "correction": self.correction,
            "features": [
                {
                    "name": f.name,
                    "kind": f.kind,
                    "method": f.method,
                    "statistic": f.statistic,
                    "p_value": f.p_value,
                    "threshold": f.threshold,
                    "drifted": f.drifted,
                }
                for f in self.features
            ],
            "drifted_features": self.drifted_features,
            "drift_share": self.drift_share,
            "dataset_drift": self.dataset_drift,
        }


@dataclass(frozen=True)
class _Verdict:
    """A feature before the correction: method, statistic and p-value or fixed threshold."""

    feature: FeatureProfile
    comparison: Comparison
    method: str
    statistic: float
    p_value: float | None
    threshold: float | None
    scores: dict[str, float]


def compute_drift(
    profile: Profile,
    table: Mapping[str, np.ndarray],
    *,
    alpha: float = 0.05,
    correction: str = "bonferroni",
    drift_share: float = 0.5,
    methods: Mapping[str, str] | None = None,
    codes: Mapping[str, np.ndarray] | None = None,
    positions: EdgePositions | None = None,
) -> DriftResult:
    """Test every feature of ``profile`` on ``table`` and decide feature and data-set drift.

    Parameters
    ----------
    table
        Column name → 1-D array; a profiled feature absent from it counts as all missing.
    alpha
        Significance level of the tests, after ``correction`` (``"bh"``, ``"bonferroni"``,
        ``"none"``).
    drift_share
        The data set drifts when at least this share of features is flagged.
    methods
        Per feature: ``"ks"``/``"chi2"`` (the default per kind), ``"wasserstein"``, ``"psi"`` or
        ``"js"``, optionally with a threshold for a distance: ``"psi:0.2"``.
    codes
        Categorical features whose values are already matched to the profile's levels
        (:meth:`~mmtui.stats.window.RecordWindow.codes`, done as records arrive): counted
        instead of matching the labels of ``table`` again.
    positions
        The numeric features already placed among the profile's edges, from the same window
        as ``table`` (:meth:`~mmtui.stats.window.RecordWindow.positions`): counted instead of
        sorted, with the same results (Wasserstein up to rounding).

    Raises
    ------
    ValueError
        A parameter is out of range, a method is unknown for its feature, columns differ in
        length, or a numeric feature's column holds text that is not a number.
    """
    chosen = _validate(profile, alpha, correction, drift_share, methods)
    lengths = {len(v) for v in table.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns differ in length: {sorted(lengths)}")
    n_current = lengths.pop() if lengths else 0
    if codes and any(len(c) != n_current for c in codes.values()):
        raise ValueError(f"codes differ in length from the {n_current} rows")
    if positions is not None and positions.codes.shape[1:] != (n_current,):
        raise ValueError(f"positions differ in length from the {n_current} rows")
    compared = compare_features(profile, table, n_current, codes, positions)
    return _judge(profile, compared, n_current, alpha, correction, drift_share, chosen)


def _validate(
    profile: Profile,
    alpha: float,
    correction: str,
    drift_share: float,
    methods: Mapping[str, str] | None,
) -> dict[str, tuple[str, float | None]]:
    """Validate :func:`compute_drift`'s parameters; the chosen method per feature."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    if correction not in CORRECTIONS:
        raise ValueError(f"correction {correction!r}: expected one of {', '.join(CORRECTIONS)}")
    if not 0.0 <= drift_share <= 1.0:
        raise ValueError(f"drift_share must be between 0 and 1, got {drift_share}")
    return _methods(profile, methods or {})


def _judge(
    profile: Profile,
    compared: Mapping[str, Comparison],
    n_current: int,
    alpha: float = 0.05,
    correction: str = "bonferroni",
    drift_share: float = 0.5,
    chosen: Mapping[str, tuple[str, float | None]] | None = None,
) -> DriftResult:
    """The verdicts of :func:`compute_drift` on every feature's comparison; parameters as
    there, validated."""
    chosen = chosen or {}
    verdicts = [
        _verdict(feature, compared[name], chosen.get(name))
        for name, feature in profile.features.items()
    ]
    tested = [v.p_value for v in verdicts if v.p_value is not None and v.threshold is None]
    limit = cutoff(tested, alpha, correction)
    adjusted = iter(adjust(tested, correction).tolist())
    features = []
    for v in verdicts:
        scores = v.scores
        if v.threshold is not None:
            threshold, drifted = v.threshold, v.statistic >= v.threshold
        elif v.p_value is not None:
            scores["p_adjusted"] = next(adjusted)
            threshold, drifted = limit, v.p_value <= limit
        else:
            threshold, drifted = limit, False
        features.append(
            FeatureDrift(
                name=v.feature.name,
                kind=v.feature.kind,
                method=v.method,
                statistic=v.statistic,
                p_value=v.p_value,
                threshold=threshold,
                drifted=bool(drifted),
                n_reference=v.comparison.n_reference,
                n_current=v.comparison.n_current,
                scores=scores,
            )
        )
    share = sum(f.drifted for f in features) / len(features) if features else 0.0
    return DriftResult(
        n_reference=profile.n_rows,
        n_current=n_current,
        correction=correction,
        alpha=alpha,
        features=tuple(features),
        drift_share=share,
        drift_share_threshold=drift_share,
        dataset_drift=bool(features) and share >= drift_share,
    )


def _methods(profile: Profile, methods: Mapping[str, str]) -> dict[str, tuple[str, float | None]]:
    chosen = {}
    for name, spec in methods.items():
        feature = profile.features.get(name)
        if feature is None:
            raise ValueError(f"methods: {name!r} is not a feature of the profile")
        method, _, value = spec.partition(":")
        allowed = METHODS[feature.kind]
        if method not in allowed:
            raise ValueError(
                f"methods: {method!r} for {feature.kind} feature {name!r}; "
                f"expected one of {', '.join(allowed)}"
            )
        threshold = None
        if method in DISTANCE_THRESHOLDS:
            try:
                threshold = float(value) if value else DISTANCE_THRESHOLDS[method]
            except ValueError:
                raise ValueError(f"methods: {spec!r} for {name!r}: bad threshold") from None
        elif value:
            raise ValueError(f"methods: {spec!r} for {name!r}: a test takes no threshold")
        chosen[name] = (method, threshold)
    return chosen


def _verdict(
    feature: FeatureProfile, comparison: Comparison, choice: tuple[str, float | None] | None
) -> _Verdict:
    c = comparison
    ref_rows, cur_rows = c.n_reference + c.reference_missing, c.n_current + c.current_missing
    scores = dict(c.scores)
    if c.statistic is not None:
        scores[c.test] = c.statistic
    scores["missing_rate_reference"] = c.reference_missing / ref_rows if ref_rows else 0.0
    scores["missing_rate_current"] = c.current_missing / cur_rows if cur_rows else 0.0
    p_missing = None
    if c.reference_missing or c.current_missing:
        p_missing = two_proportion_pvalue(
            c.reference_missing, ref_rows, c.current_missing, cur_rows
        )
    if p_missing is not None:
        scores["missing_p_value"] = p_missing
    method, threshold = choice or (c.test, None)
    if threshold is not None:
        if ref_rows == 0 or cur_rows == 0 or method not in scores:
            return _Verdict(feature, c, INSUFFICIENT, 0.0, None, None, scores)
        return _Verdict(feature, c, method, scores[method], None, threshold, scores)
    if c.p_value is not None and c.statistic is not None:
        if p_missing is None:
            return _Verdict(feature, c, method, c.statistic, c.p_value, None, scores)
        p = min(1.0, 2.0 * min(c.p_value, p_missing))
        return _Verdict(feature, c, f"{method}+missing", c.statistic, p, None, scores)
    if p_missing is not None:
        change = abs(scores["missing_rate_current"] - scores["missing_rate_reference"])
        return _Verdict(feature, c, "missing", change, p_missing, None, scores)
    return _Verdict(feature, c, INSUFFICIENT, 0.0, None, None, scores)
