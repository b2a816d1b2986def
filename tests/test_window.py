"""Record windows: bounds, the table contract, late labels."""

from __future__ import annotations

import numpy as np
import pytest

from mmtui.feeds.records import LabelUpdate, Record, Value
from mmtui.stats.columns import CATEGORICAL, NUMERIC
from mmtui.stats.profile import Profile, build_profile
from mmtui.stats.window import RecordWindow, as_floats, category


def r(i: int, label: Value = None, ts: float | None = None, **features: Value) -> Record:
    feats: dict[str, Value] = {"x": float(i), "c": "a" if i % 2 else "b"}
    feats.update(features)
    return Record(f"r{i}", float(i) if ts is None else ts, feats, float(i % 2), label)


@pytest.fixture(scope="module")
def profile() -> Profile:
    rng = np.random.default_rng(0)
    n = 200
    table = {
        "amount": rng.normal(50.0, 10.0, n),
        "country": rng.choice(np.array(["FR", "DE", "US"]), n),
        "zip": rng.choice(np.array(["75001", "10115", "94105"]), n),
        "target": rng.choice(np.array(["0", "1"]), n),
        "pred": rng.choice(np.array(["0", "1"]), n),
    }
    return build_profile(table, target="target", prediction="pred", source="test")


def test_count_bound_keeps_the_newest_in_order() -> None:
    w = RecordWindow(3)
    w.add([r(1), r(2)])
    w.add([r(3), r(4), r(5)])
    t = w.table()
    assert t["x"].tolist() == [3.0, 4.0, 5.0]
    assert t["c"].tolist() == ["a", "b", "a"]
    assert len(w) == 3 and w.timestamps().tolist() == [3.0, 4.0, 5.0]
    w.add([r(i) for i in range(6, 20)])  # a batch larger than the window
    assert w.table()["x"].tolist() == [17.0, 18.0, 19.0]


def test_time_bound_with_an_injected_clock() -> None:
    now = [20.0]
    w = RecordWindow(100, max_age=10.0, clock=lambda: now[0])
    w.add([r(i) for i in range(21)])
    assert w.timestamps().tolist() == [float(i) for i in range(10, 21)]
    now[0] = 25.0
    assert w.table()["x"].tolist() == [15.0, 16.0, 17.0, 18.0, 19.0, 20.0]
    assert len(w) == 6
    now[0] = 100.0
    assert len(w) == 0 and w.table()["x"].dtype == np.float64


def test_table_follows_the_contract() -> None:
    w = RecordWindow(10, kinds={"n": NUMERIC, "k": CATEGORICAL})
    w.add(
        [
            Record("1", 1.0, {"n": 1.5, "k": "FR", "ignored": 1.0}, None),
            Record("2", 2.0, {"n": None, "k": None}, None),
            Record("3", 3.0, {"n": "2.5", "k": 3.0}, None),
            Record("4", 4.0, {"n": "oops", "k": "true"}, None),
            Record("5", 5.0, {"n": float("inf"), "k": "x" * 300}, None),
            Record("6", 6.0, {}, None),
        ]
    )
    t = w.table()
    assert set(t) == {"n", "k"}
    assert t["n"].dtype == np.float64
    assert np.array_equal(t["n"], [1.5, np.nan, 2.5, np.nan, np.nan, np.nan], equal_nan=True)
    assert t["k"].dtype.kind == "U"
    assert t["k"].tolist() == ["FR", "", "3", "true", "x" * 256, ""]
    t["n"][0] = 99.0  # a copy: the window is untouched
    assert w.table()["n"][0] == 1.5


def test_kinds_from_the_profile(profile: Profile) -> None:
    assert profile.task == "classification"
    w = RecordWindow(10, profile=profile)
    assert w.kinds == {"amount": NUMERIC, "country": CATEGORICAL, "zip": CATEGORICAL}
    w.add([Record("1", 1.0, {"amount": 12.0, "zip": 75001, "extra": "no"}, "1")])
    t = w.table()
    assert set(t) == {"amount", "country", "zip"}
    assert t["zip"].tolist() == ["75001"] and t["country"].tolist() == [""]
    assert w.target_kind() == CATEGORICAL


def test_features_are_discovered_without_a_profile() -> None:
    w = RecordWindow(10)
    w.add([r(1), Record("e", 2.0, {"x": None}, None)])
    w.add([r(3, extra="new", y=7.0)])
    assert w.kinds == {"x": NUMERIC, "c": CATEGORICAL, "extra": CATEGORICAL, "y": NUMERIC}
    t = w.table()
    assert t["extra"].tolist() == ["", "", "new"]
    assert np.array_equal(t["y"], [np.nan, np.nan, 7.0], equal_nan=True)


def test_late_labels_join_by_id() -> None:
    w = RecordWindow(3)
    assert w.add([r(1), r(2, label=1.0)]) == [(1.0, 0.0)]
    assert w.add([LabelUpdate("r1", 0.0), LabelUpdate("r9", 1.0)]) == [(0.0, 1.0)]
    assert w.labels_joined == 1
    assert w.add([r(9)]) == [(1.0, 1.0)]  # the label came first: joined on arrival
    assert w.labels_joined == 2
    y_true, y_pred = w.labeled()
    assert y_true.tolist() == ["0", "1", "1"] and y_pred.tolist() == ["1", "0", "1"]

    w.add([r(10), r(11), r(12)])  # r1, r2, r9 leave the window
    assert w.add([LabelUpdate("r1", 1.0)]) == []
    assert w.labeled()[0].tolist() == []


def test_late_label_memory_is_bounded() -> None:
    w = RecordWindow(2)
    w.add([LabelUpdate(f"ghost{i}", 1.0) for i in range(5)])
    assert w.labels_unmatched == 3
    assert w.add([r(1)]) == []  # forgotten labels do not resurface


def test_the_id_map_stays_bounded() -> None:
    w = RecordWindow(4)
    for k in range(50):
        w.add([r(k)])
    assert len(w._number) == 4


def test_labeled_for_regression() -> None:
    w = RecordWindow(10)
    w.add(
        [
            Record("a", 1.0, {}, 2.5, 3.0),
            Record("b", 2.0, {}, None, 1.0),
            Record("c", 3.0, {}, 1.25, None),
            Record("d", 4.0, {}, 0.5, 0.0),
        ]
    )
    assert w.target_kind() == NUMERIC
    y_true, y_pred = w.labeled()
    assert y_true.tolist() == [3.0, 0.0] and y_pred.tolist() == [2.5, 0.5]
    assert np.array_equal(w.predictions(), [2.5, np.nan, 1.25, 0.5], equal_nan=True)
    assert w.labeled(CATEGORICAL)[0].tolist() == ["3", "0"]


def test_values_helpers() -> None:
    assert [category(v) for v in (1.0, -2.0, 0.1, None, float("nan"), "z")] == [
        "1",
        "-2",
        "0.1",
        "",
        "",
        "z",
    ]
    assert as_floats([]).shape == (0,)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_records": 0}, "max_records must be >= 1"),
        ({"max_age": 0.0}, "max_age must be > 0 seconds"),
        ({"kinds": {"x": "text"}}, "feature 'x': kind must be numeric or categorical"),
    ],
)
def test_parameters_are_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RecordWindow(**kwargs)  # type: ignore[arg-type]


def test_codes_place_each_value_among_the_profile_levels() -> None:
    """Codes, matched as records arrive, say what the labels say: a level's position, k for a
    value that is no level, k + 1 for a missing one; across ring wrap-around and age cuts."""
    rng = np.random.default_rng(11)
    reference = {
        "c": rng.choice(np.array(["FR", "DE", "IT", "ES"]), 3000),
        "n": rng.integers(0, 4, 3000).astype(np.float64),  # a low-cardinality number: categorical
        "x": rng.normal(size=3000),
    }
    prof = build_profile(reference, kinds={"n": CATEGORICAL})
    now = [900.0]
    window = RecordWindow(400, max_age=60.0, profile=prof, clock=lambda: now[0])
    values: list[Value] = ["FR", "DE", "IT", "ES", "PT", "", None, 3, 2.0, "x" * 300]
    for batch in range(7):
        window.add(
            [
                r(batch * 150 + i, ts=900.0 + batch * 30 + i * 0.1,
                  c=values[int(rng.integers(len(values)))], n=int(rng.integers(-1, 5)),
                  x=float(rng.normal()))
                for i in range(150)
            ]
        )
        now[0] = 900.0 + batch * 30 + 75  # the previous batch is partly older than 60 s
        table, codes = window.table(), window.codes()
        assert set(codes) == {"c", "n"}
        for name in codes:
            levels = list(prof.features[name].levels)  # type: ignore[union-attr]
            k = len(levels)
            expected = [levels.index(v) if v in levels else (k + 1 if v == "" else k)
                        for v in table[name].tolist()]
            assert codes[name].tolist() == expected
    assert len(window) < 400  # the age cut is in effect


def test_drift_from_codes_equals_drift_from_labels() -> None:
    rng = np.random.default_rng(12)
    reference = {"c": rng.choice(np.array(["a", "b", "c"]), 2000, p=[0.5, 0.3, 0.2]),
                 "x": rng.normal(size=2000)}
    prof = build_profile(reference)
    window = RecordWindow(600, profile=prof)
    window.add([r(i, c=str(rng.choice(["a", "b", "c", "zz", ""], p=[0.3, 0.3, 0.2, 0.1, 0.1])),
                  x=float(rng.normal(0.3))) for i in range(900)])
    from mmtui.stats.drift import compute_drift

    coded = compute_drift(prof, window.table(), codes=window.codes())
    assert coded == compute_drift(prof, window.table())
    assert coded.drifted_features  # the shift and the unseen level were seen
    with pytest.raises(ValueError, match="codes differ in length"):
        compute_drift(prof, window.table(), codes={"c": np.zeros(3, np.int32)})


def test_positions_are_kept_as_records_arrive() -> None:
    """The window's codes, counts and sums are those of its values placed afresh: across ring
    wrap-around, the sums summed afresh, age cuts and records arriving out of order."""
    rng = np.random.default_rng(13)
    n = 20_000  # z's profile is binned, x's and y's exact
    reference = {"x": np.round(rng.normal(size=n), 2), "y": rng.integers(0, 9, n) * 1.0,
                 "z": rng.exponential(size=n), "c": rng.choice(np.array(["a", "b"]), n)}
    prof = build_profile(reference, kinds={"y": NUMERIC})
    now = [1000.0]
    window = RecordWindow(300, max_age=40.0, profile=prof, clock=lambda: now[0])
    seen_cut = seen_left_out = False
    for batch in range(12):
        ts = 1000.0 + batch * 10 + rng.permutation(120) * 0.1  # out of order within a batch
        window.add([
            r(batch * 120 + i, ts=float(ts[i]), x=round(float(rng.normal(0.1)), 2),
              y=[1.0, 5.0, None, "7", float("inf")][int(rng.integers(5))],
              z=float(rng.exponential()) if rng.random() > 0.1 else None)
            for i in range(120)
        ])
        now[0] = 1000.0 + batch * 10 + rng.uniform(0, 60)
        placed, table = window.positions(), window.table()
        assert placed.names == ("x", "y", "z")
        values = np.stack([table[name] for name in placed.names])
        np.testing.assert_array_equal(placed.values, values)
        placer = window._placer
        np.testing.assert_array_equal(placed.codes, placer.place(values))
        if placed.counts is None:
            seen_left_out = True
            continue
        assert placed.sums is not None
        counts, sums = placer.count(placed.codes, np.nan_to_num(values))
        np.testing.assert_array_equal(placed.counts, counts)
        np.testing.assert_allclose(placed.sums, sums, rtol=1e-12, atol=1e-9)
        seen_cut |= len(window) < min(window._count, 300)
    assert seen_cut and seen_left_out


def test_drift_from_positions_equals_drift_from_the_table() -> None:
    """A full window checked from its positions gives the same verdicts and statistics as its
    table sorted; a window not yet full runs on the edges of a full one."""
    from mmtui.stats.drift import compute_drift
    from mmtui.stats.features import NumericProfile
    from mmtui.stats.numeric import cached_plan, compare_numeric_batch

    rng = np.random.default_rng(14)
    reference = {"x": rng.normal(size=50_000), "y": rng.integers(0, 9, 50_000).astype(np.float64),
                 "c": rng.choice(np.array(["a", "b", "c"]), 50_000)}
    prof = build_profile(reference, kinds={"y": NUMERIC})
    window = RecordWindow(2000, profile=prof)
    for batch in range(4):
        window.add([r(batch * 700 + i, x=float(rng.normal(0.2)), y=float(rng.integers(0, 10)),
                      c=str(rng.choice(["a", "b", "c"]))) for i in range(700)])
        table, placed = window.table(), window.positions()
        ours = compute_drift(prof, table, codes=window.codes(), positions=placed)
        if len(window) == window.capacity:
            theirs = compute_drift(prof, table)
            assert [f.drifted for f in ours.features] == [f.drifted for f in theirs.features]
            assert ours.drifted_features == ["x", "y"]
        numeric = [f for f in prof.features.values() if isinstance(f, NumericProfile)]
        plan = cached_plan(numeric, window.capacity, prof.cache)
        sorted_ = compare_numeric_batch(plan, [table[f.name] for f in numeric])
        for f, expected in zip(ours.features, sorted_, strict=False):
            assert (f.statistic, f.scores.get("psi")) == (expected.statistic,
                                                          expected.scores["psi"])
            assert f.scores["wasserstein"] == pytest.approx(expected.scores["wasserstein"],
                                                            rel=1e-9)
    with pytest.raises(ValueError, match="positions differ in length"):
        compute_drift(prof, {k: v[:5] for k, v in window.table().items()},
                      positions=window.positions())


def test_positions_of_another_profile_are_not_used() -> None:
    """A window placed on one profile's edges, checked against another profile with the same
    feature names: the table is compared, not codes of other edges."""
    from mmtui.stats.drift import compute_drift

    rng = np.random.default_rng(15)
    first = build_profile({"x": rng.normal(size=3000)})
    second = build_profile({"x": rng.normal(5.0, size=3000)})
    window = RecordWindow(500, profile=first)
    window.add([r(i, x=float(rng.normal(5.0))) for i in range(500)])
    table = window.table()
    assert compute_drift(second, table, positions=window.positions()) == compute_drift(
        second, table)
