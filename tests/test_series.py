"""Bounded ring buffers and the per-(endpoint, model, metric) store."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmtui.series import Ring, SeriesStore


def test_ring_before_full_keeps_order() -> None:
    r = Ring(4)
    assert len(r) == 0
    assert r.latest() is None
    assert r.last(3) == ()
    r.append(1.0, 10.0)
    r.append(2.0, 20.0)
    t, v = r.arrays()
    assert t.tolist() == [1.0, 2.0]
    assert v.tolist() == [10.0, 20.0]
    assert len(r) == 2


@pytest.mark.parametrize("n_appended", [5, 6, 7, 8, 9, 23])
def test_ring_wraparound_is_oldest_first(n_appended: int) -> None:
    cap = 5
    r = Ring(cap)
    for i in range(n_appended):
        r.append(float(i), float(i) * 10)
    t, v = r.arrays()
    expected = list(range(n_appended - cap, n_appended))
    assert t.tolist() == [float(i) for i in expected]
    assert v.tolist() == [float(i) * 10 for i in expected]
    assert len(r) == cap
    assert r.latest() == (float(n_appended - 1), float(n_appended - 1) * 10)
    assert r.last(2) == (float(n_appended - 2) * 10, float(n_appended - 1) * 10)
    assert r.last(100) == tuple(float(i) * 10 for i in expected)


def test_ring_last_is_the_tail_of_its_ordered_values_at_every_fill() -> None:
    cap = 4
    r = Ring(cap)
    for appended in range(3 * cap):
        _, v = r.arrays()
        ordered = [None if math.isnan(x) else x for x in v.tolist()]
        for n in range(cap + 2):
            assert r.last(n) == tuple(ordered[-n:] if n else ()), (appended, n)
        r.append(float(appended), None if appended % 3 == 0 else float(appended))


def test_ring_none_round_trips_as_nan_and_back() -> None:
    r = Ring(3)
    r.append(1.0, None)
    r.append(2.0, 2.5)
    r.append(3.0, float("nan"))
    _, v = r.arrays()
    assert math.isnan(v[0]) and v[1] == 2.5 and math.isnan(v[2])
    assert r.last(3) == (None, 2.5, None)
    assert r.latest() == (3.0, None)
    r.append(4.0, None)  # wraps over the first None
    assert r.last(3) == (2.5, None, None)


def test_ring_arrays_are_copies() -> None:
    r = Ring(2)
    r.append(1.0, 1.0)
    t, v = r.arrays()
    t[0] = 99.0
    v[0] = 99.0
    assert r.arrays()[0].tolist() == [1.0]
    assert r.latest() == (1.0, 1.0)
    r.append(2.0, 2.0)
    r.append(3.0, 3.0)  # full and wrapped: concatenation path
    t, _ = r.arrays()
    t[:] = 0.0
    assert r.arrays()[0].tolist() == [2.0, 3.0]


def test_ring_since_filters_by_timestamp_across_the_wrap() -> None:
    r = Ring(4)
    for i in range(7):  # holds t = 3, 4, 5, 6
        r.append(float(i), float(i) + 0.5)
    t, v = r.since(4.0)
    assert t.tolist() == [4.0, 5.0, 6.0]
    assert v.tolist() == [4.5, 5.5, 6.5]
    t, v = r.since(100.0)
    assert t.size == 0 and v.size == 0
    assert r.since(0.0)[0].tolist() == [3.0, 4.0, 5.0, 6.0]


def test_ring_capacity_one() -> None:
    r = Ring(1)
    r.append(1.0, 1.0)
    r.append(2.0, None)
    assert len(r) == 1
    assert r.arrays()[0].tolist() == [2.0]
    assert r.latest() == (2.0, None)


@pytest.mark.parametrize("bad", [0, -1])
def test_bad_capacity_is_a_clear_error(bad: int) -> None:
    with pytest.raises(ValueError, match="capacity must be >= 1"):
        Ring(bad)
    with pytest.raises(ValueError, match="capacity must be >= 1"):
        SeriesStore(bad)


def test_ring_memory_is_bounded() -> None:
    r = Ring(100)
    before = r.nbytes
    for i in range(1000):
        r.append(float(i), float(i))
    assert r.nbytes == before == 100 * 2 * 8


def test_store_keys_rings_and_models() -> None:
    s = SeriesStore(10)
    s.append("a", None, 1.0, {"throughput_rps": 5.0, "error_rate": None})
    s.append("b", "resnet", 1.0, {"throughput_rps": 7.0})
    s.append("a", None, 2.0, {"throughput_rps": 6.0, "error_rate": 0.1})
    assert s.keys() == [
        ("a", None, "throughput_rps"),
        ("a", None, "error_rate"),
        ("b", "resnet", "throughput_rps"),
    ]
    ring = s.ring("a", None, "error_rate")
    assert ring is not None
    assert ring.last(5) == (None, 0.1)
    assert s.ring("b", None, "throughput_rps") is None  # the model is part of the key
    assert s.ring("nope", None, "throughput_rps") is None


def test_store_drop_forgets_one_endpoint() -> None:
    s = SeriesStore(10)
    s.append("a", None, 1.0, {"x": 1.0})
    s.append("a", "m", 1.0, {"x": 1.0})
    s.append("b", None, 1.0, {"x": 1.0})
    s.drop("a")
    assert s.keys() == [("b", None, "x")]
    assert s.nbytes() == 10 * 2 * 8
    s.drop("missing")  # no error
    assert len(s.keys()) == 1


def test_store_memory_bounded_by_capacity_not_uptime() -> None:
    cap = 50
    s = SeriesStore(cap)
    metrics = {"throughput_rps": 1.0, "latency_p95_ms": None, "inflight": 3.0}
    for i in range(cap):
        s.append("ep", "m", float(i), metrics)
    full = s.nbytes()
    assert full == 3 * cap * 2 * 8
    for i in range(cap, 10 * cap):
        s.append("ep", "m", float(i), metrics)
    assert s.nbytes() == full
    ring = s.ring("ep", "m", "inflight")
    assert ring is not None
    assert len(ring) == cap
    t, _ = ring.arrays()
    np.testing.assert_array_equal(t, np.arange(9 * cap, 10 * cap, dtype=np.float64))
