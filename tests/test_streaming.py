"""DriftStream: a sliding window's drift, updated from what entered and left, equals a fresh
compute_drift of the same window, feature by feature."""

from __future__ import annotations

import numpy as np
import pytest

from mmtui.feeds.records import Record
from mmtui.stats.drift import compute_drift
from mmtui.stats.profile import build_profile
from mmtui.stats.streaming import DriftStream
from mmtui.stats.window import RecordWindow

LEVELS = np.array(["a", "b", "c", "d"])


def reference(rng: np.random.Generator, n: int = 4000) -> dict[str, np.ndarray]:
    x = rng.normal(size=n)
    x[rng.random(n) < 0.02] = np.nan
    return {
        "x": x,
        "y": rng.exponential(size=n),
        "k": rng.integers(0, 5, size=n).astype(np.float64) * 10.5,  # ties at the edges
        "c": rng.choice(LEVELS, size=n, p=[0.4, 0.3, 0.2, 0.1]),
        "s": rng.choice(np.array(["red", "green", ""]), size=n),
    }


def records(rng: np.random.Generator, start: int, n: int, shift: float, ts: float) -> list[Record]:
    out = []
    for i in range(start, start + n):
        features: dict[str, object] = {
            "x": float(rng.normal(shift)) if rng.random() > 0.05 else None,
            "y": float(rng.exponential()),
            "k": float(rng.integers(0, 5)) * 10.5,
            "c": str(rng.choice(LEVELS)) if rng.random() > 0.1 else "zz",  # unseen level
        }
        if rng.random() > 0.5:  # a column missing from some records
            features["s"] = str(rng.choice(["red", "green", "blue"]))
        out.append(Record(str(i), ts + i * 0.01, features, 0.0))  # type: ignore[arg-type]
    return out


def assert_same(stream: DriftStream, window: RecordWindow) -> None:
    profile = stream.profile
    ours = stream.update(window)
    fresh = compute_drift(profile, window.table())
    assert ours.n_current == fresh.n_current == len(window)
    assert ours.features == fresh.features
    assert ours.drift_share == fresh.drift_share and ours.dataset_drift == fresh.dataset_drift


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sliding_window_matches_a_fresh_computation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    profile = build_profile(reference(rng))
    window = RecordWindow(700, profile=profile)
    stream = DriftStream(profile)
    assert stream.update(window).n_current == 0  # empty window: nothing to compare, no error
    start = 0
    # batches smaller than the window, one that fills it exactly, one larger than it, and
    # drift half-way through
    for size in (50, 300, 1, 250, 700, 0, 123, 900, 64, 333, 5):
        shift = 0.0 if start < 1500 else 0.8
        window.add(records(rng, start, size, shift, ts=1000.0))
        start += size
        assert_same(stream, window)
    # counted afresh: the empty window, its first records, and the two batches that replaced
    # every record it held (700 and 900); every other update slid
    assert stream.recounts == 4
    assert stream.update(window).drifted_features  # the shift was seen


def test_out_of_order_timestamps_under_max_age_are_counted_afresh() -> None:
    rng = np.random.default_rng(5)
    profile = build_profile(reference(rng))
    now = [2000.0]
    window = RecordWindow(500, max_age=30.0, profile=profile, clock=lambda: now[0])
    stream = DriftStream(profile)
    batch = records(rng, 0, 200, 0.0, ts=1975.0)
    batch[3] = Record("late", 1000.0, batch[3].features, 0.0)  # out of the window's age
    window.add(batch)
    assert window.span() is None
    assert_same(stream, window)
    window.add(records(rng, 200, 100, 0.0, ts=1990.0))
    now[0] = 2010.0  # the oldest records age out
    assert_same(stream, window)
    assert stream.recounts == 2


def test_records_ageing_out_slide_the_window() -> None:
    rng = np.random.default_rng(6)
    profile = build_profile(reference(rng))
    now = [100.0]
    window = RecordWindow(1000, max_age=10.0, profile=profile, clock=lambda: now[0])
    stream = DriftStream(profile)
    window.add(records(rng, 0, 300, 0.0, ts=95.0))  # ts 95.00 .. 97.99
    assert_same(stream, window)
    now[0] = 106.0  # records before ts 96 leave; none entered
    assert window.span() == (100, 300)
    assert_same(stream, window)
    window.add(records(rng, 300, 50, 0.0, ts=100.0))
    assert_same(stream, window)
    assert stream.recounts == 1


def test_columns_and_span_name_record_numbers() -> None:
    window = RecordWindow(3, kinds={"x": "numeric", "c": "categorical"})
    assert window.span() == (0, 0)
    window.add([Record(str(i), float(i), {"x": float(i), "c": f"l{i}"}, 0.0) for i in range(2)])
    window.add([Record(str(i), float(i), {"x": float(i), "c": f"l{i}"}, 0.0) for i in range(2, 5)])
    assert window.span() == (2, 5)
    cols = window.columns(3, 5)
    assert cols["x"].tolist() == [3.0, 4.0] and cols["c"].tolist() == ["l3", "l4"]
    with pytest.raises(ValueError, match=r"records \[1, 3\) are not in the window"):
        window.columns(1, 3)
