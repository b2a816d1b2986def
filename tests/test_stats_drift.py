"""Drift statistics against scipy, edge cases, corrections, and the drift issue's data set."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import special, stats
from scipy.spatial.distance import jensenshannon

from benchmarks.drift_data import drifted_columns, make_dataset
from mmtui.stats import compare
from mmtui.stats.categorical import compare_categorical, level_counts
from mmtui.stats.divergence import PSI_EPSILON, psi_js_rows
from mmtui.stats.drift import DriftResult, compute_drift, histogram_pair
from mmtui.stats.features import (
    CategoricalProfile,
    NumericProfile,
    summarise_categorical,
    summarise_numeric,
)
from mmtui.stats.numeric import (
    EdgePlacer,
    EdgePositions,
    cached_plan,
    compare_numeric,
    compare_numeric_batch,
    compare_numeric_positions,
)
from mmtui.stats.profile import Profile, build_profile
from mmtui.stats.pvalues import chi2_sf, kolmogorov_sf, ks_exact_pvalue, ks_pvalue, ks_pvalues

RNG = np.random.default_rng(2024)


def _all_finite(result: DriftResult) -> bool:
    for f in result.features:
        numbers = [f.statistic, f.threshold, *f.scores.values()]
        if f.p_value is not None:
            numbers.append(f.p_value)
        if not all(math.isfinite(v) for v in numbers):
            return False
    return math.isfinite(result.drift_share)


# --- p-values ----------------------------------------------------------------------------


def test_kolmogorov_sf_matches_scipy() -> None:
    for x in np.linspace(0.0, 4.0, 161):
        expected = special.kolmogorov(x)
        assert kolmogorov_sf(float(x)) == pytest.approx(expected, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("dof", [1, 2, 3, 4, 9, 10, 99, 100, 2999])
def test_chi2_sf_matches_scipy(dof: int) -> None:
    for q in (1e-6, 0.01, 0.3, 0.5, 0.9, 0.999999):
        x = float(stats.chi2.ppf(q, dof))
        assert chi2_sf(x, dof) == pytest.approx(stats.chi2.sf(x, dof), rel=1e-9)
    assert chi2_sf(0.0, dof) == 1.0
    assert chi2_sf(20.0 * dof + 200, dof) == pytest.approx(stats.chi2.sf(20.0 * dof + 200, dof))


@pytest.mark.parametrize(("n", "m"), [(10, 10), (25, 40), (7, 300), (200, 300), (500, 500)])
def test_exact_ks_pvalue_matches_scipy_exact(n: int, m: int) -> None:
    for shift in (0.0, 0.4, 1.0):
        x, y = RNG.normal(size=n), RNG.normal(shift, size=m)
        ref = stats.ks_2samp(x, y, method="exact")
        d_num = round(ref.statistic * n * m)
        expected = ref.pvalue
        assert ks_exact_pvalue(d_num, n, m) == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_asymptotic_ks_pvalue_is_conservative_for_unequal_sizes() -> None:
    for n, m in ((2000, 5000), (300, 9000)):
        for shift in (0.0, 0.05, 0.1):
            x, y = RNG.normal(size=n), RNG.normal(shift, size=m)
            ref = stats.ks_2samp(x, y, method="exact")
            ours = ks_pvalue(ref.statistic, n, m)
            assert ours >= ref.pvalue * 0.999
            assert ours == pytest.approx(ref.pvalue, rel=0.15, abs=1e-4)


# --- numeric statistics against scipy ----------------------------------------------------


@pytest.mark.parametrize(("n", "m"), [(300, 200), (400, 600), (3000, 2000), (8000, 100)])
def test_ks_and_wasserstein_with_an_exact_profile(n: int, m: int) -> None:
    x = RNG.normal(size=n)
    for y in (RNG.normal(size=m), RNG.normal(0.3, 1.5, size=m), RNG.exponential(size=m)):
        profile = summarise_numeric("x", x)
        assert profile.exact
        c = compare_numeric(profile, y)
        ref = stats.ks_2samp(x, y)
        assert c.statistic == pytest.approx(ref.statistic, abs=1e-12)
        if n * m <= 250_000:  # exact p-value, as scipy's exact method
            assert c.p_value == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-12)
        else:  # asymptotic: conservative, close
            assert c.p_value is not None and c.p_value >= ref.pvalue * 0.999
            assert c.p_value == pytest.approx(ref.pvalue, rel=0.15, abs=1e-4)
        w = stats.wasserstein_distance(x, y) / x.std()
        assert c.scores["wasserstein"] == pytest.approx(w, rel=1e-9)
        assert "ks_upper" not in c.scores


def test_ties_are_exact_too() -> None:
    x = RNG.integers(0, 40, 3000).astype(np.float64)
    y = RNG.integers(0, 43, 2000).astype(np.float64)
    c = compare_numeric(summarise_numeric("x", x), y)
    assert c.statistic == pytest.approx(stats.ks_2samp(x, y).statistic, abs=1e-12)
    w = stats.wasserstein_distance(x, y) / x.std()
    assert c.scores["wasserstein"] == pytest.approx(w, rel=1e-9)


@pytest.mark.parametrize(("n", "m"), [(60_000, 60_000), (60_000, 5_000), (60_000, 500)])
def test_binned_profile_bounds_the_exact_statistic(n: int, m: int) -> None:
    x = RNG.standard_t(4, size=n)
    for shift in (0.0, 0.05, 0.3):
        y = RNG.standard_t(4, size=m) + shift
        profile = summarise_numeric("x", x)
        assert not profile.exact
        c = compare_numeric(profile, y)
        ref = stats.ks_2samp(x, y)
        assert c.statistic is not None and c.p_value is not None
        assert c.statistic <= ref.statistic + 1e-12 <= c.scores["ks_upper"] + 2e-12
        # a bin holds 1/10,000 of the reference; a window of m rows uses every s-th edge, at
        # least max(1024, m/4) of them (numeric.py)
        bins = min(10_000, max(1024, m // 4))
        assert c.scores["ks_upper"] - c.statistic <= 1.25 / bins
        assert c.p_value >= ks_pvalue(ref.statistic, n, m) * (1 - 1e-9)  # conservative
        w = stats.wasserstein_distance(x, y) / x.std()
        assert c.scores["wasserstein"] == pytest.approx(w, rel=0.02, abs=3e-3)


def _placed(profiles: list[NumericProfile], columns: list[np.ndarray], rows: int) -> EdgePositions:
    placer = EdgePlacer(profiles, rows)
    values = np.stack(columns)
    return EdgePositions(rows, placer.features, values, placer.place(values))


def _same_comparisons(ours: list, sorted_: list) -> None:  # type: ignore[type-arg]
    """Counted and sorted comparisons agree: the same counts, so the same KS, p-values, PSI and
    JS; Wasserstein sums in another order."""
    for a, b in zip(ours, sorted_, strict=True):
        assert (a.statistic, a.p_value, a.n_current, a.current_missing) == (
            b.statistic, b.p_value, b.n_current, b.current_missing)
        assert a.scores.keys() == b.scores.keys()
        for key, value in b.scores.items():
            if key == "wasserstein":
                assert a.scores[key] == pytest.approx(value, rel=1e-9, abs=1e-13)
            else:
                assert a.scores[key] == value, key


@pytest.mark.parametrize("rows", [5000, 400])
def test_placed_values_give_the_sorted_statistics(rows: int) -> None:
    """Binned and exact profiles, a constant one and an empty one, with values tied to edges,
    NaN and infinities, shifted and not: counting placed values gives what sorting gives."""
    n = 40_000
    references = [
        RNG.normal(size=n),  # binned
        np.round(RNG.normal(size=n), 4),  # binned, with values on the edges
        RNG.integers(0, 30, 800).astype(np.float64),  # exact, ties everywhere
        RNG.exponential(size=300),  # exact
        np.full(500, 3.0),  # constant
        np.full(200, np.nan),  # no values at all
    ]
    profiles = [summarise_numeric(f"x{i}", x) for i, x in enumerate(references)]
    assert [p.exact for p in profiles[:4]] == [False, False, True, True]
    for shift in (0.0, 0.2):
        columns = [
            RNG.normal(shift, size=rows),
            np.round(RNG.normal(shift, size=rows), 4),
            RNG.integers(0, 33, rows).astype(np.float64),
            RNG.exponential(size=rows) + shift,
            np.where(RNG.random(rows) < 0.5, 3.0, 3.0 + shift),
            RNG.normal(size=rows),
        ]
        for column in columns:
            column[RNG.random(rows) < 0.03] = RNG.choice([np.nan, np.inf, -np.inf])
        plan = cached_plan(profiles, rows, {})
        ours = compare_numeric_positions(plan, _placed(profiles, columns, rows))
        _same_comparisons(ours, compare_numeric_batch(plan, columns))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_placed_values_match_scipy_with_an_exact_profile(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=2000), rng.normal(0.2, 1.3, size=3000)
    profile = summarise_numeric("x", x)
    plan = cached_plan([profile], len(y), {})
    (c,) = compare_numeric_positions(plan, _placed([profile], [y], len(y)))
    assert c.statistic == pytest.approx(stats.ks_2samp(x, y).statistic, abs=1e-12)
    w = stats.wasserstein_distance(x, y) / x.std()
    assert c.scores["wasserstein"] == pytest.approx(w, rel=1e-9)


def test_placed_counts_must_fit_the_plan() -> None:
    profile = summarise_numeric("x", RNG.normal(size=100))
    placed = _placed([profile], [RNG.normal(size=50)], 50)
    wrong = EdgePositions(50, placed.features, placed.values, placed.codes,
                          np.zeros((1, 3), np.int64), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="counts of shape"):
        compare_numeric_positions(cached_plan([profile], 50, {}), wrong)


def test_psi_by_hand() -> None:
    ref = np.array([[10, 20, 30, 40, 0]])
    cur = np.array([[20, 20, 20, 30, 10]])
    p = np.maximum(ref / 100, PSI_EPSILON)
    q = np.maximum(cur / 100, PSI_EPSILON)
    by_hand = float(np.sum((q - p) * np.log(q / p)))
    assert psi_js_rows(ref, cur)[0][0] == pytest.approx(by_hand)
    assert psi_js_rows(ref, ref)[0][0] == 0.0
    assert psi_js_rows(ref, np.zeros_like(ref))[0][0] == 0.0


def test_numeric_psi_over_reference_deciles() -> None:
    x = RNG.normal(size=20_000)
    y = RNG.normal(0.5, size=10_000)
    c = compare_numeric(summarise_numeric("x", x), y)
    deciles = np.quantile(x, np.linspace(0.1, 0.9, 9))
    ref_bins = np.bincount(np.searchsorted(deciles, x, "left"), minlength=10)
    cur_bins = np.bincount(np.searchsorted(deciles, y, "left"), minlength=10)
    p, q = ref_bins / len(x), cur_bins / len(y)
    assert c.scores["psi"] == pytest.approx(float(np.sum((q - p) * np.log(q / p))), rel=0.02)
    assert c.scores["js"] == pytest.approx(jensenshannon(p, q, base=2), rel=0.02)


def test_js_matches_scipy() -> None:
    for _ in range(50):
        a = RNG.integers(0, 30, size=(1, 12))
        b = RNG.integers(0, 30, size=(1, 12))
        a[0, :2] = 0  # empty bins on one or both sides
        b[0, 1:3] = 0
        assert psi_js_rows(a, b)[1][0] == pytest.approx(
            jensenshannon(a[0], b[0], base=2), abs=1e-12
        )
    assert psi_js_rows(np.array([[5, 0]]), np.array([[0, 5]]))[1][0] == 1.0


# --- categorical statistics ----------------------------------------------------------------


def _contingency(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    levels = np.unique(np.concatenate((x, y)))
    return np.array([[np.sum(v == level) for level in levels] for v in (x, y)])


@pytest.mark.parametrize("k", [2, 3, 10, 40])
def test_chi2_matches_chi2_contingency(k: int) -> None:
    levels = np.array([f"level {i}" for i in range(k)])
    for n, m in ((500, 300), (20_000, 5_000)):
        x = levels[RNG.integers(0, k, n)]
        p = RNG.dirichlet(np.ones(k))
        y = levels[RNG.choice(k, size=m, p=p)]
        c = compare_categorical(summarise_categorical("c", x), y)
        ref = stats.chi2_contingency(_contingency(x, y))
        assert c.statistic == pytest.approx(ref.statistic, rel=1e-10)
        assert c.p_value == pytest.approx(ref.pvalue, rel=1e-8, abs=1e-300)


def test_unseen_levels_are_pooled_and_count_as_drift() -> None:
    x = np.array(["a", "b", "c"])[RNG.integers(0, 3, 5000)]
    y = np.concatenate((x[:2500], np.array(["d", "e"] * 100)))
    c = compare_categorical(summarise_categorical("c", x), y)
    pooled = np.where(np.isin(y, ["d", "e"]), "__unseen__", y)
    ref = stats.chi2_contingency(_contingency(x, pooled))
    assert c.statistic == pytest.approx(ref.statistic) and c.p_value == pytest.approx(ref.pvalue)
    assert c.scores["unseen_share"] == pytest.approx(200 / 2700)
    assert c.p_value is not None and c.p_value < 1e-10


def test_level_matching_is_exact_on_every_path() -> None:
    # 16 levels told apart only by 4 positions together: no 3-position key, binary search
    hard = np.array([f"{a}{b}{c}{d}" for a in "xy" for b in "xy" for c in "xy" for d in "xy"])
    easy = np.array([f"level_{i}" for i in range(12)])
    for levels in (hard, easy):
        profile = summarise_categorical("c", levels[RNG.integers(0, len(levels), 3000)])
        values = np.concatenate(
            (levels[RNG.integers(0, len(levels), 4000)], ["", "xyz", "level_", "level_1x", "x"])
        )
        for current in (values, values.astype("U3"), values.astype("U20")):
            counts, unmatched, missing = level_counts(profile, current)
            expected = [int(np.sum(current == level)) for level in profile.levels]
            assert counts.tolist() == expected
            assert missing == int(np.sum(current == ""))
            assert unmatched == len(current) - sum(expected) - missing


def test_categorical_column_read_as_numbers_matches_text_levels() -> None:
    profile = build_profile({"grade": np.array(["1", "2", "3"] * 100)})
    as_numbers = {"grade": np.array([1.0, 2.0, 3.0, np.nan] * 75)}
    result = compute_drift(profile, as_numbers)
    (f,) = result.features
    assert f.scores["unseen_share"] == 0.0 and f.scores["missing_rate_current"] == 0.25


# --- missing, empty, constant ------------------------------------------------------------


def _numeric(profile: Profile, name: str) -> NumericProfile:
    feature = profile.features[name]
    assert isinstance(feature, NumericProfile)
    return feature


def _profile(**columns: np.ndarray) -> Profile:
    numeric = {k: "numeric" for k, v in columns.items() if v.dtype.kind == "f"}
    return build_profile(columns, kinds=numeric)


def test_missing_rate_change_is_drift() -> None:
    x = RNG.normal(size=5000)
    y = RNG.normal(size=5000)
    y[:1000] = np.nan
    profile = _profile(x=x)
    (f,) = compute_drift(profile, {"x": y}).features
    assert f.method == "ks+missing" and f.drifted
    assert f.scores["missing_rate_current"] == pytest.approx(0.2)
    assert f.n_current == 4000
    # the values alone do not drift: the missing-rate test carries the verdict
    ks = compare_numeric(_numeric(profile, "x"), y)
    assert ks.p_value is not None and ks.p_value > 0.01
    assert f.scores["missing_p_value"] < 1e-100
    assert f.p_value == pytest.approx(2 * f.scores["missing_p_value"])


def test_same_missing_rate_is_not_drift() -> None:
    x = np.where(RNG.random(5000) < 0.1, np.nan, RNG.normal(size=5000))
    y = np.where(RNG.random(5000) < 0.1, np.nan, RNG.normal(size=5000))
    profile = _profile(x=x)
    (f,) = compute_drift(profile, {"x": y}).features
    assert f.method == "ks+missing" and not f.drifted
    ks = compare_numeric(_numeric(profile, "x"), y)
    assert ks.p_value is not None
    assert f.p_value == pytest.approx(min(1.0, 2 * min(ks.p_value, f.scores["missing_p_value"])))


def test_all_missing_current_and_absent_columns() -> None:
    profile = _profile(x=RNG.normal(size=1000), c=np.array(["a", "b"] * 500))
    result = compute_drift(profile, {"x": np.full(300, np.nan)})  # "c" is absent
    for f in result.features:
        assert f.method == "missing" and f.drifted and f.statistic == 1.0
        assert f.n_current == 0 and f.scores["missing_rate_current"] == 1.0
    assert _all_finite(result) and result.dataset_drift


def test_empty_current_table() -> None:
    profile = _profile(x=RNG.normal(size=1000), c=np.array(["a", "b"] * 500))
    for table in ({}, {"x": np.empty(0), "c": np.empty(0, dtype="U1")}):
        result = compute_drift(profile, table)
        assert result.n_current == 0 and _all_finite(result)
        for f in result.features:
            assert (f.method, f.statistic, f.p_value) == ("insufficient data", 0.0, None)
            assert not f.drifted
        assert result.drift_share == 0.0 and not result.dataset_drift
        json.dumps(result.to_json("b.npz"), allow_nan=False)


def test_all_missing_on_both_sides() -> None:
    profile = _profile(x=np.full(50, np.nan), c=np.full(50, ""))
    result = compute_drift(profile, {"x": np.full(20, np.nan), "c": np.full(20, "")})
    assert [f.method for f in result.features] == ["insufficient data"] * 2
    assert _all_finite(result)


def test_constant_columns() -> None:
    profile = _profile(x=np.full(500, 3.0), c=np.full(500, "only"))
    same = compute_drift(profile, {"x": np.full(400, 3.0), "c": np.full(400, "only")})
    for f in same.features:
        assert f.statistic == 0.0 and f.p_value == 1.0 and not f.drifted
    assert same.features[0].scores["wasserstein"] == 0.0
    moved = compute_drift(profile, {"x": np.full(400, 4.0), "c": np.full(400, "other")})
    for f in moved.features:
        assert f.drifted
    # a constant reference: distance relative to its level, |3|
    assert moved.features[0].scores["wasserstein"] == pytest.approx(1 / 3)
    assert _all_finite(same) and _all_finite(moved)


def test_infinities_are_missing() -> None:
    x = RNG.normal(size=2000)
    y = np.concatenate((RNG.normal(size=1990), [np.inf] * 5, [-np.inf] * 5))
    (f,) = compute_drift(_profile(x=x), {"x": y}).features
    assert f.n_current == 1990 and f.scores["missing_rate_current"] == pytest.approx(0.005)
    assert _all_finite(compute_drift(_profile(x=x), {"x": y}))


def test_text_in_a_numeric_column() -> None:
    profile = _profile(x=RNG.normal(size=100))
    assert compute_drift(profile, {"x": np.array(["1.5", "", "2"])}).features[0].n_current == 2
    with pytest.raises(ValueError, match=r"column 'x': 'abc' is not a number"):
        compute_drift(profile, {"x": np.array(["1.5", "abc"])})


# --- decisions -----------------------------------------------------------------------------


def test_threshold_is_the_corrected_cutoff() -> None:
    ref = {f"x{i}": RNG.normal(size=3000) for i in range(6)}
    cur = {f"x{i}": RNG.normal(0.12 * (i < 3), size=3000) for i in range(6)}
    profile = build_profile(ref)
    results = {c: compute_drift(profile, cur, correction=c) for c in ("bh", "bonferroni", "none")}
    assert results["bonferroni"].features[0].threshold == pytest.approx(0.05 / 6)
    assert results["none"].features[0].threshold == 0.05
    for result in results.values():
        thresholds = {f.threshold for f in result.features}
        assert len(thresholds) == 1
        for f in result.features:
            assert f.p_value is not None and f.drifted == (f.p_value <= f.threshold)
    assert results["bh"].correction == "bh"
    flagged = [set(r.drifted_features) for r in results.values()]
    assert flagged[1] <= flagged[0] <= flagged[2]


def test_distance_methods() -> None:
    profile = build_profile({"x": RNG.normal(size=5000), "c": np.array(["a", "b"] * 2500)})
    current = {"x": RNG.normal(0.5, size=5000), "c": np.array(["a", "b"] * 2500)}
    result = compute_drift(profile, current, methods={"x": "psi:0.2", "c": "js"})
    x, c = result.features
    assert (x.method, x.threshold, x.p_value) == ("psi", 0.2, None)
    assert x.statistic == x.scores["psi"] and x.drifted == (x.statistic >= 0.2)
    assert (c.method, c.threshold, c.drifted) == ("js", 0.1, False)
    w = compute_drift(profile, current, methods={"x": "wasserstein"}).features[0]
    assert w.method == "wasserstein" and w.drifted and w.statistic == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize(
    ("methods", "message"),
    [
        ({"x": "chi2"}, "'chi2' for numeric feature 'x'"),
        ({"nope": "ks"}, "'nope' is not a feature"),
        ({"x": "psi:lots"}, "bad threshold"),
        ({"x": "ks:0.1"}, "a test takes no threshold"),
    ],
)
def test_bad_methods(methods: dict[str, str], message: str) -> None:
    profile = build_profile({"x": RNG.normal(size=100)})
    with pytest.raises(ValueError, match=message):
        compute_drift(profile, {"x": RNG.normal(size=100)}, methods=methods)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"alpha": 0.0}, "alpha"), ({"correction": "holm"}, "holm"), ({"drift_share": 2.0}, "share")],
)
def test_bad_parameters(kwargs: dict[str, object], message: str) -> None:
    profile = build_profile({"x": RNG.normal(size=100)})
    with pytest.raises(ValueError, match=message):
        compute_drift(profile, {"x": RNG.normal(size=100)}, **kwargs)  # type: ignore[arg-type]


def test_dataset_drift_share() -> None:
    ref = {f"x{i}": RNG.normal(size=2000) for i in range(4)}
    cur = {f"x{i}": RNG.normal(1.0 * (i < 2), size=2000) for i in range(4)}
    profile = build_profile(ref)
    assert compute_drift(profile, cur).drift_share == 0.5
    assert compute_drift(profile, cur, drift_share=0.5).dataset_drift
    assert not compute_drift(profile, cur, drift_share=0.75).dataset_drift


def test_json_shape() -> None:
    profile = build_profile({"x": RNG.normal(size=500), "c": np.array(["a", "b"] * 250)})
    result = compute_drift(profile, {"x": RNG.normal(1, size=500), "c": np.array(["a"] * 500)})
    doc = json.loads(json.dumps(result.to_json("base.npz"), allow_nan=False))
    assert list(doc) == [
        "baseline", "n_reference", "n_current", "correction", "features",
        "drifted_features", "drift_share", "dataset_drift",
    ]  # fmt: skip
    assert doc["baseline"] == "base.npz" and doc["n_reference"] == doc["n_current"] == 500
    assert [list(f) for f in doc["features"]] == [
        ["name", "kind", "method", "statistic", "p_value", "threshold", "drifted"]
    ] * 2
    assert doc["drifted_features"] == ["x", "c"] and doc["dataset_drift"] is True


@pytest.mark.parametrize("split", [True, False])
def test_two_threads_give_the_same_result(monkeypatch: pytest.MonkeyPatch, split: bool) -> None:
    reference, current = make_dataset(4000, seed=3)
    profile = build_profile(reference)
    monkeypatch.setattr(compare, "PARALLEL_VALUES", 10**12)
    alone = compute_drift(profile, current)
    monkeypatch.setattr(compare, "PARALLEL_VALUES", 1)
    monkeypatch.setattr(compare, "SPLIT_VALUES", 1 if split else 10**12)
    assert compute_drift(profile, current) == alone


def test_two_threads_agree_on_ties_and_missing_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rounded values sit on the profile's edges (the ``<=`` counts differ from ``<``) and NaN
    and infinities are missing, in the rows the worker thread locates as well as the others."""
    reference, current = make_dataset(4000, seed=5)
    rng = np.random.default_rng(5)
    for table in (reference, current):
        for values in table.values():
            if values.dtype.kind == "f":
                values[:] = np.round(values, 1)
                values[rng.random(len(values)) < 0.05] = rng.choice([np.nan, np.inf, -np.inf])
    profile = build_profile(reference)
    monkeypatch.setattr(compare, "PARALLEL_VALUES", 10**12)
    alone = compute_drift(profile, current)
    monkeypatch.setattr(compare, "PARALLEL_VALUES", 1)
    assert compute_drift(profile, current) == alone
    assert any(f.p_value is not None and f.p_value < 1e-6 for f in alone.features)


def test_ks_pvalues_are_ks_pvalue_in_numpy() -> None:
    d = np.concatenate(([0.0, -1.0], np.geomspace(1e-4, 0.9, 300)))
    n = np.full(len(d), 100_000)
    m = np.tile([5000, 37, 0], len(d) // 3 + 1)[: len(d)]
    ours = ks_pvalues(d, n, m)
    for i in range(len(d)):
        assert ours[i] == pytest.approx(ks_pvalue(float(d[i]), int(n[i]), int(m[i])),
                                        rel=1e-13, abs=1e-300)


def test_batch_equals_one_feature_at_a_time() -> None:
    reference, current = make_dataset(3000, seed=4)
    profile = build_profile(reference)
    result = compute_drift(profile, current)
    for f in result.features:
        feature = profile.features[f.name]
        if isinstance(feature, NumericProfile):
            one = compare_numeric(feature, current[f.name])
        else:
            assert isinstance(feature, CategoricalProfile)
            one = compare_categorical(feature, current[f.name])
        assert f.scores[one.test] == one.statistic
        for key, value in one.scores.items():
            assert f.scores[key] == pytest.approx(value, rel=1e-12, abs=1e-15)


# --- the drift issue's data set ------------------------------------------------------------


def test_exactly_the_drifted_columns_are_flagged() -> None:
    reference, current = make_dataset(20_000, seed=0)
    result = compute_drift(build_profile(reference), current)
    assert sorted(result.drifted_features) == sorted(drifted_columns())
    assert not result.dataset_drift  # 11 of 25 is under half
    assert _all_finite(result)


def test_a_streaming_window_against_a_large_profile() -> None:
    reference, current = make_dataset(30_000, seed=1)
    profile = build_profile(reference)
    window = {k: v[:5000] for k, v in current.items()}
    result = compute_drift(profile, window)
    assert {"num_02", "num_07", "cat_0"} <= set(result.drifted_features)
    assert set(result.drifted_features) <= set(drifted_columns())
    for f in result.features:
        if f.kind == "numeric":
            ref_values, cur_values = reference[f.name], window[f.name]
            exact = stats.ks_2samp(ref_values, cur_values).statistic
            assert f.statistic <= exact + 1e-12 <= f.scores["ks_upper"] + 2e-12


# --- histograms ------------------------------------------------------------------------------


def test_histogram_pair() -> None:
    x = RNG.normal(size=20_000)
    f = summarise_numeric("x", x)
    edges, ref, cur = histogram_pair(f, RNG.normal(1.0, size=5000), bins=12)
    assert len(edges) == 13 and len(ref) == len(cur) == 12
    assert ref.sum() == pytest.approx(1.0) and cur.sum() == pytest.approx(1.0)
    direct = np.histogram(x, edges)[0] / len(x)
    assert np.abs(ref - direct).max() < 2e-3
    c = summarise_categorical("c", np.array(["a", "b", "b", "c"] * 10))
    labels, ref, cur = histogram_pair(c, np.array(["b", "z", "", "a"]), bins=2)
    assert labels.tolist() == ["b", "__other__", "__unseen__"]
    assert ref.tolist() == pytest.approx([0.5, 0.5, 0.0])
    assert cur.tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3])
