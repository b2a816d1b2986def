"""Derivation: deltas, resets, quantiles, per-model splitting, end to end over real HTTP."""

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from mmtui.config import GenericMetrics
from mmtui.feeds.derive import Derived, Scrape, derive, histogram_quantile
from mmtui.feeds.model import MetricFamily, Sample
from mmtui.feeds.parser import parse, parse_bytes
from mmtui.feeds.presets import Preset, get_preset
from mmtui.names import SERVING_METRICS

INF = math.inf
QWEN = "Qwen/Qwen3-4B-Instruct-2507-FP8"


# --------------------------------------------------------------------------- helpers


def scrape(text: str, at: float, preset: Preset | None = None) -> Scrape:
    return Scrape(at, parse(text, only=preset.families if preset else None))


def run(
    preset: Preset, first: str, second: str | None = None, dt: float = 10.0,
    models: Sequence[str] = (),
) -> Derived:
    cur = scrape(second if second is not None else first, 100.0 + dt, preset)
    prev = scrape(first, 100.0, preset) if second is not None else None
    return derive(preset, cur, prev, models=models)


def histogram(name: str, labels: str, buckets: Mapping[str, float], total: float) -> str:
    """Exposition lines of one histogram series; ``labels`` like 'model="a",'."""
    lines = [f'{name}_bucket{{{labels}le="{le}"}} {n}' for le, n in buckets.items()]
    rest = labels.rstrip(",")
    lines += [f"{name}_sum{{{rest}}} {total}", f"{name}_count{{{rest}}} {buckets['+Inf']}"]
    return "\n".join(lines)


def reference_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float:
    """Prometheus' bucketQuantile (promql/quantile.go) for classic histograms, loop by loop."""
    ordered = sorted(buckets)
    merged: list[list[float]] = []
    for upper, count in ordered:  # coalesceBuckets
        if merged and merged[-1][0] == upper:
            merged[-1][1] += count
        else:
            merged.append([upper, count])
    if not merged or merged[-1][0] != INF:
        return math.nan
    for i in range(1, len(merged)):  # ensureMonotonic
        if merged[i][1] < merged[i - 1][1]:
            merged[i][1] = merged[i - 1][1]
    if len(merged) < 2:
        return math.nan
    observations = merged[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = len(merged) - 1
    for i in range(len(merged) - 1):  # sort.Search over all but the +Inf bucket
        if merged[i][1] >= rank:
            b = i
            break
    if b == len(merged) - 1:
        return merged[-2][0]
    if b == 0 and merged[0][0] <= 0:
        return merged[0][0]
    start, count = 0.0, merged[b][1]
    if b > 0:
        start = merged[b - 1][0]
        count -= merged[b - 1][1]
        rank -= merged[b - 1][1]
    return start + (merged[b][0] - start) * (rank / count)


# --------------------------------------------------------------------------- quantiles


def test_histogram_quantile_by_hand() -> None:
    buckets = {0.1: 10.0, 0.5: 60.0, 1.0: 96.0, INF: 100.0}
    # p50: rank 50 lies in (0.1, 0.5], 40 of its 50 → 0.1 + 0.4 * 40/50
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.42)
    # p95: rank 95 lies in (0.5, 1.0], 35 of its 36
    assert histogram_quantile(0.95, buckets) == pytest.approx(0.5 + 0.5 * 35 / 36)
    # p99: rank 99 is past the last finite bucket: its upper bound
    assert histogram_quantile(0.99, buckets) == 1.0


def test_histogram_quantile_edges() -> None:
    assert histogram_quantile(0.25, {1.0: 4, 2.0: 8, INF: 8}) == pytest.approx(0.5)  # lower bound 0
    assert histogram_quantile(0.1, {-1.0: 5, 0.0: 5, 1.0: 10, INF: 10}) == -1.0
    assert histogram_quantile(0.5, {1.0: 4, 2.0: 8}) is None  # no +Inf bucket
    assert histogram_quantile(0.5, {INF: 8}) is None  # a single bucket
    assert histogram_quantile(0.5, {1.0: 0, INF: 0}) is None  # no observation
    # non-monotonic counts are raised to the running maximum, as Prometheus does
    assert histogram_quantile(0.5, {1.0: 5, 2.0: 3, 3.0: 10, INF: 10}) == pytest.approx(1.0)


def test_histogram_quantile_matches_reference_implementation() -> None:
    rng = random.Random(20240601)
    for _ in range(500):
        n = rng.randint(1, 9)
        bounds = sorted({round(rng.uniform(-2, 50), 2) for _ in range(n)})
        counts, running = [], 0.0
        for _ in bounds:
            running += rng.choice([0, 0, 1, 2, 5, 17])
            counts.append(running if rng.random() > 0.1 else max(0.0, running - 3))  # glitches
        pairs = list(zip(bounds, counts, strict=True))
        if rng.random() > 0.1:
            pairs.append((INF, running + rng.choice([0, 0, 3])))
        for q in (0.01, 0.3, 0.5, 0.95, 0.99):
            want = reference_quantile(q, pairs)
            got = histogram_quantile(q, dict(pairs))
            if math.isnan(want):
                assert got is None, (pairs, q)
            else:
                assert got == pytest.approx(want), (pairs, q)


# --------------------------------------------------------------------------- rates and errors

TRITON_1 = """
# TYPE nv_inference_request_success counter
nv_inference_request_success{model="a",version="1"} 100
nv_inference_request_success{model="a",version="2"} 50
nv_inference_request_success{model="b",version="1"} 10
# TYPE nv_inference_request_failure counter
nv_inference_request_failure{model="a",reason="BACKEND",version="1"} 5
nv_inference_request_failure{model="a",reason="CANCELED",version="1"} 1
nv_inference_request_failure{model="b",reason="BACKEND",version="1"} 0
# TYPE nv_inference_request_duration_us counter
nv_inference_request_duration_us{model="a",version="1"} 1000000
nv_inference_request_duration_us{model="a",version="2"} 500000
nv_inference_request_duration_us{model="b",version="1"} 20000
# TYPE nv_inference_queue_duration_us counter
nv_inference_queue_duration_us{model="a",version="1"} 10000
nv_inference_queue_duration_us{model="a",version="2"} 5000
nv_inference_queue_duration_us{model="b",version="1"} 0
# TYPE nv_inference_pending_request_count gauge
nv_inference_pending_request_count{model="a",version="1"} 2
nv_inference_pending_request_count{model="a",version="2"} 1
nv_inference_pending_request_count{model="b",version="1"} 0
"""


def triton_text(**bumps: float) -> str:
    """TRITON_1 with values raised: keys are sample lines' starts with non-alphanumerics as '_'."""
    out = []
    for line in TRITON_1.splitlines():
        if line and not line.startswith("#"):
            head, value = line.rsplit(" ", 1)
            key = re.sub(r"\W+", "_", head).strip("_")
            line = f"{head} {float(value) + bumps.pop(key, 0.0)}"
        out.append(line)
    assert not bumps, f"no such series: {bumps}"
    return "\n".join(out) + "\n"


S_A1 = "nv_inference_request_success_model_a_version_1"
S_A2 = "nv_inference_request_success_model_a_version_2"
S_B1 = "nv_inference_request_success_model_b_version_1"
F_A_BACKEND = "nv_inference_request_failure_model_a_reason_BACKEND_version_1"
F_A_CANCELED = "nv_inference_request_failure_model_a_reason_CANCELED_version_1"
D_A1 = "nv_inference_request_duration_us_model_a_version_1"
D_B1 = "nv_inference_request_duration_us_model_b_version_1"
Q_A1 = "nv_inference_queue_duration_us_model_a_version_1"


def test_every_metric_key_is_present() -> None:
    d = run(get_preset("triton"), TRITON_1)
    for metrics in (d.metrics, *d.models.values()):
        assert tuple(metrics) == SERVING_METRICS


def test_rates_error_rate_latency_and_queue_over_the_interval() -> None:
    second = triton_text(**{
        S_A1: 30, S_A2: 10, F_A_BACKEND: 4, F_A_CANCELED: 6, D_A1: 30 * 8000, Q_A1: 30 * 400,
        S_B1: 20, D_B1: 20 * 3000,
    })
    d = run(get_preset("triton"), TRITON_1, second, dt=10.0)
    a, b = d.models["a"], d.models["b"]
    assert a["throughput_rps"] == pytest.approx((30 + 10 + 4 + 6) / 10)
    assert a["error_rate"] == pytest.approx(4 / 50)  # CANCELED is traffic, not an error
    # version 2 saw 10 successes and no added duration: (30*8000 + 0) µs over 40 successes
    assert a["latency_mean_ms"] == pytest.approx(30 * 8000 / 40 / 1000)
    assert a["queue_ms"] == pytest.approx(30 * 400 / 40 / 1000)
    assert a["inflight"] == 3.0
    assert b["throughput_rps"] == pytest.approx(2.0)
    assert b["error_rate"] == 0.0
    assert b["latency_mean_ms"] == pytest.approx(3.0)
    total = d.metrics
    assert total["throughput_rps"] == pytest.approx(7.0)
    assert total["error_rate"] == pytest.approx(4 / 70)
    assert total["latency_mean_ms"] == pytest.approx((30 * 8000 + 20 * 3000) / 60 / 1000)
    assert total["inflight"] == 3.0
    assert total["latency_p95_ms"] is None  # no summary, no histogram: no quantiles


def test_no_traffic_gives_none_not_zero() -> None:
    d = run(get_preset("triton"), TRITON_1, TRITON_1, dt=5.0)
    for metrics in (d.metrics, d.models["a"]):
        assert metrics["throughput_rps"] == 0.0
        assert metrics["error_rate"] is None
        assert metrics["latency_mean_ms"] is None
        assert metrics["queue_ms"] is None


def test_one_scrape_gives_lifetime_figures_and_no_rates() -> None:
    d = run(get_preset("triton"), TRITON_1)
    a = d.models["a"]
    assert a["throughput_rps"] is None
    assert a["error_rate"] == pytest.approx(5 / 156)
    assert a["latency_mean_ms"] == pytest.approx(1_500_000 / 150 / 1000)
    assert a["queue_ms"] == pytest.approx(15_000 / 150 / 1000)


def test_counter_reset_counts_from_zero() -> None:
    # model a restarted: every series of it is lower now; model b kept counting
    second = triton_text(**{
        S_A1: -90, S_A2: -45, F_A_BACKEND: -5, F_A_CANCELED: -1, D_A1: -1_000_000 + 10 * 2000,
        "nv_inference_request_duration_us_model_a_version_2": -500_000 + 5 * 2000,
        S_B1: 10, D_B1: 10 * 2000,
    })
    d = run(get_preset("triton"), TRITON_1, second, dt=10.0)
    a = d.models["a"]
    assert a["throughput_rps"] == pytest.approx((10 + 5) / 10)  # the current values
    assert a["error_rate"] == 0.0
    assert a["latency_mean_ms"] == pytest.approx(2.0)
    assert d.models["b"]["throughput_rps"] == pytest.approx(1.0)
    for metrics in (d.metrics, *d.models.values()):
        assert all(v is None or v >= 0 for v in metrics.values())


def test_process_restart_resets_every_series() -> None:
    first = "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1000\n" + TRITON_1
    # after a restart the counters happen to be above their old values, yet start from 0
    second = first.replace("1000\n", "2000\n", 1)
    second = second.replace('version="2"} 50', 'version="2"} 60')
    d = run(get_preset("triton"), first, second, dt=10.0)
    assert d.models["a"]["throughput_rps"] == pytest.approx((100 + 60 + 5 + 1) / 10)
    same = run(get_preset("triton"), first, first.replace('version="2"} 50', 'version="2"} 60'))
    assert same.models["a"]["throughput_rps"] == pytest.approx(1.0)


# --------------------------------------------------------------------------- histograms

VLLM_PRESET = get_preset("vllm")
BOUNDS = ["0.3", "0.5", "1.0", "2.5", "5.0", "10.0", "+Inf"]


Model = tuple[Sequence[float], float, float]


def vllm_text(per_model: Mapping[str, Model]) -> str:
    """e2e latency buckets, their sum and the finished count per model (engine 0 and 1)."""
    lines = ["# TYPE vllm:e2e_request_latency_seconds histogram"]
    for model, (counts, total, _) in per_model.items():
        for engine in ("0", "1"):  # two engines of one model: summed
            half = [c / 2 for c in counts]
            lines.append(histogram(
                "vllm:e2e_request_latency_seconds", f'engine="{engine}",model_name="{model}",',
                dict(zip(BOUNDS, half, strict=True)), total / 2,
            ))
    lines.append("# TYPE vllm:request_success_total counter")
    for model, (_, _, finished) in per_model.items():
        for reason, n in (("stop", finished), ("abort", 0)):
            lines.append(
                f'vllm:request_success_total{{engine="0",finished_reason="{reason}",'
                f'model_name="{model}"}} {n}'
            )
    return "\n".join(lines) + "\n"


def test_quantiles_from_bucket_deltas_match_reference_and_hand() -> None:
    before = {"m": ([2, 4, 6, 8, 8, 10, 10], 20.0, 10)}
    # 20 new requests: 2 under 0.3 s, 10 in (0.5, 1], 6 in (1, 2.5], 2 in (5, 10]
    after = {"m": ([4, 6, 18, 26, 26, 30, 30], 20.0 + 30.0, 30)}
    d = run(VLLM_PRESET, vllm_text(before), vllm_text(after), dt=4.0)
    m = d.models["m"]
    deltas = [
        (float(b), a - p) for b, a, p in zip(BOUNDS, after["m"][0], before["m"][0], strict=True)
    ]
    for name, q in (("latency_p50_ms", 0.5), ("latency_p95_ms", 0.95), ("latency_p99_ms", 0.99)):
        assert m[name] == pytest.approx(reference_quantile(q, deltas) * 1000)
    # by hand: p50 rank 10 falls in (0.5, 1.0] holding 10 after 2 below: 0.5 + 0.5 * 8/10
    assert m["latency_p50_ms"] == pytest.approx(900.0)
    # p95 rank 19 in (5, 10] holding 2 after 18 below: 5 + 5 * 1/2
    assert m["latency_p95_ms"] == pytest.approx(7500.0)
    assert m["latency_mean_ms"] == pytest.approx(30.0 / 20 * 1000)
    assert m["throughput_rps"] == pytest.approx(20 / 4.0)


def test_histogram_reset_uses_the_current_buckets() -> None:
    before = {"m": ([2, 4, 6, 8, 8, 10, 10], 20.0, 10)}
    after = {"m": ([0, 2, 2, 2, 4, 4, 4], 9.0, 4)}  # restarted: count went down
    d = run(VLLM_PRESET, vllm_text(before), vllm_text(after))
    m = d.models["m"]
    assert m["latency_mean_ms"] == pytest.approx(9.0 / 4 * 1000)
    assert m["latency_p50_ms"] == pytest.approx(
        reference_quantile(0.5, [(float(b), c) for b, c in zip(BOUNDS, after["m"][0], strict=True)])
        * 1000
    )
    assert m["throughput_rps"] == pytest.approx(4 / 10)


def test_endpoint_quantiles_come_from_merged_buckets_not_averaged() -> None:
    fast = ([10, 10, 10, 10, 10, 10, 10], 1.0, 10)  # all under 0.3 s
    slow = ([0, 0, 0, 0, 0, 10, 10], 80.0, 10)  # all in (5, 10]
    d = run(VLLM_PRESET, vllm_text({"fast": fast, "slow": slow}))
    merged = [(float(b), f + s) for b, f, s in zip(BOUNDS, fast[0], slow[0], strict=True)]
    assert d.metrics["latency_p95_ms"] == pytest.approx(reference_quantile(0.95, merged) * 1000)
    assert d.metrics["latency_p50_ms"] == pytest.approx(300.0)  # rank 10: top of the first bucket
    assert d.models["fast"]["latency_p95_ms"] == pytest.approx(285.0)
    assert d.models["slow"]["latency_p50_ms"] == pytest.approx(7500.0)
    assert d.metrics["latency_mean_ms"] == pytest.approx(81.0 / 20 * 1000)


def test_models_glob_filter_selects_rows_and_total() -> None:
    per = {
        "llama-7b": ([1, 1, 1, 1, 1, 1, 1], 0.1, 1),
        "llama-70b": ([0, 0, 0, 0, 0, 3, 3], 21.0, 3),
        "mistral": ([0, 0, 5, 5, 5, 5, 5], 4.0, 5),
    }
    d = run(VLLM_PRESET, vllm_text(per), models=["llama-*"])
    assert set(d.models) == {"llama-7b", "llama-70b"}
    assert d.metrics["latency_mean_ms"] == pytest.approx(21.1 / 4 * 1000)
    everything = run(VLLM_PRESET, vllm_text(per))
    assert set(everything.models) == set(per)
    assert everything.metrics["latency_mean_ms"] == pytest.approx(25.1 / 9 * 1000)
    none = run(VLLM_PRESET, vllm_text(per), models=["gpt-*"])
    assert none.models == {}
    assert none.metrics["latency_mean_ms"] is None


def test_server_wide_errors_belong_to_a_sole_model_or_the_total() -> None:
    http = (
        "# TYPE http_requests_total counter\n"
        'http_requests_total{handler="/v1/models",method="GET",status="2xx"} 500\n'
        'http_requests_total{handler="/v1/chat/completions",method="POST",status="2xx"} 6\n'
        'http_requests_total{handler="/v1/chat/completions",method="POST",status="4xx"} 1\n'
        'http_requests_total{handler="/v1/chat/completions",method="POST",status="5xx"} 3\n'
    )
    one = run(VLLM_PRESET, vllm_text({"m": ([0] * 7, 0.0, 6)}) + http)
    assert one.models["m"]["error_rate"] == pytest.approx(3 / 10)  # GETs are not inference
    assert one.metrics["error_rate"] == pytest.approx(3 / 10)
    two = run(VLLM_PRESET, vllm_text({"m": ([0] * 7, 0.0, 6), "n": ([0] * 7, 0.0, 1)}) + http)
    assert two.models["m"]["error_rate"] is None  # cannot tell which model failed
    assert two.metrics["error_rate"] == pytest.approx(3 / 10)
    filtered = run(
        VLLM_PRESET, vllm_text({"m": ([0] * 7, 0.0, 6), "n": ([0] * 7, 0.0, 1)}) + http,
        models=["m"],
    )
    assert filtered.metrics["error_rate"] is None


def test_an_empty_model_label_is_no_model() -> None:
    text = vllm_text({"m": ([0] * 7, 0.0, 4), "": ([0] * 7, 0.0, 6)})
    d = run(VLLM_PRESET, text, text.replace("} 4", "} 8").replace("} 6", "} 16"))
    assert set(d.models) == {"m"}
    assert d.models["m"]["throughput_rps"] == pytest.approx((4 + 10) / 10)  # the sole model


def test_vllm_engine_error_reason_without_the_http_instrumentator() -> None:
    text = (
        "# TYPE vllm:request_success_total counter\n"
        'vllm:request_success_total{engine="0",finished_reason="stop",model_name="m"} 7\n'
        'vllm:request_success_total{engine="0",finished_reason="abort",model_name="m"} 2\n'
        'vllm:request_success_total{engine="0",finished_reason="error",model_name="m"} 1\n'
    )
    assert run(VLLM_PRESET, text).models["m"]["error_rate"] == pytest.approx(0.1)


# --------------------------------------------------------------------------- summaries

SUMMARY = """
# TYPE nv_inference_request_summary_us summary
nv_inference_request_summary_us_count{{model="a",version="1"}} {c1}
nv_inference_request_summary_us_sum{{model="a",version="1"}} {s1}
nv_inference_request_summary_us{{model="a",version="1",quantile="0.5"}} 1000
nv_inference_request_summary_us{{model="a",version="1",quantile="0.9"}} 3000
nv_inference_request_summary_us{{model="a",version="1",quantile="0.99"}} 9000
nv_inference_request_summary_us_count{{model="a",version="2"}} {c2}
nv_inference_request_summary_us_sum{{model="a",version="2"}} {s2}
nv_inference_request_summary_us{{model="a",version="2",quantile="0.5"}} 2000
nv_inference_request_summary_us{{model="a",version="2",quantile="0.9"}} 6000
nv_inference_request_summary_us{{model="a",version="2",quantile="0.99"}} NaN
"""


def test_summary_quantiles_nearest_and_weighted_by_count_delta() -> None:
    first = SUMMARY.format(c1=10, s1=10000, c2=10, s2=20000)
    second = SUMMARY.format(c1=40, s1=70000, c2=20, s2=40000)
    a = run(get_preset("triton"), first, second).models["a"]
    assert a["latency_p50_ms"] == pytest.approx((1.0 * 30 + 2.0 * 10) / 40)
    # no 0.95 quantile: the nearest, 0.99 (0.04 away; 0.9 is 0.05 away); version 2's 0.99 is
    # NaN (an empty window) and is skipped
    assert a["latency_p95_ms"] == pytest.approx(9.0)
    assert a["latency_p99_ms"] == pytest.approx(9.0)
    assert a["latency_mean_ms"] == pytest.approx((60000 + 20000) / 40 / 1000)
    idle = run(get_preset("triton"), second, second).models["a"]
    assert idle["latency_p50_ms"] is None


# --------------------------------------------------------------------------- formats and units


def test_openmetrics_and_text_conventions_give_the_same_figures() -> None:
    text = (
        "# TYPE reqs_total counter\n"
        'reqs_total{svc="x"} 10\n'
        "# TYPE fails_total counter\n"
        'fails_total{svc="x"} 1\n'
        "# TYPE lat_ms histogram\n"
        + histogram("lat_ms", 'svc="x",', {"10": 4, "100": 9, "+Inf": 10}, 420.0)
        + "\n"
    )
    om = (
        "# TYPE reqs counter\n"
        'reqs_total{svc="x"} 10\n'
        'reqs_created{svc="x"} 1700000000\n'
        "# TYPE fails counter\n"
        'fails_total{svc="x"} 1\n'
        "# TYPE lat_ms histogram\n"
        + histogram("lat_ms", 'svc="x",', {"10": 4, "100": 9, "+Inf": 10}, 420.0)
        + "\n# EOF\n"
    )
    for names in (("reqs_total", "fails_total"), ("reqs", "fails")):
        preset = get_preset("generic", GenericMetrics(
            requests=names[0], errors=names[1], latency="lat_ms", latency_unit="ms",
            model_label="svc",
        ))
        a, b = run(preset, text), run(preset, om)
        assert a == b
        assert a.models["x"]["error_rate"] == pytest.approx(0.1)
        assert a.models["x"]["latency_p50_ms"] == pytest.approx(10 + 90 * 1 / 5)
        assert a.models["x"]["latency_mean_ms"] == pytest.approx(42.0)


def test_families_built_directly_without_the_parser() -> None:
    def fam(name: str, type_: str, *samples: tuple[str, dict[str, str], float]) -> MetricFamily:
        return MetricFamily(name, type_, samples=[Sample(n, lb, v) for n, lb, v in samples])

    families = {
        "ts_inference_requests": fam(
            "ts_inference_requests", "counter",
            ("ts_inference_requests_total", {"model_name": "r"}, 4.0),
        ),
        "ts_inference_latency_microseconds": fam(
            "ts_inference_latency_microseconds", "counter",
            ("ts_inference_latency_microseconds_total", {"model_name": "r"}, 100_000.0),
        ),
    }
    d = derive(get_preset("torchserve"), Scrape(1.0, families))
    assert d.models["r"]["latency_mean_ms"] == pytest.approx(25.0)


@pytest.mark.parametrize(("unit", "factor"), [("s", 1000.0), ("ms", 1.0), ("us", 0.001)])
def test_generic_latency_units(unit: str, factor: float) -> None:
    text = "# TYPE d histogram\n" + histogram("d", "", {"1": 1, "4": 3, "+Inf": 4}, 10.0) + "\n"
    preset = get_preset("generic", GenericMetrics(latency="d", latency_unit=unit))
    m = run(preset, text).metrics
    assert m["latency_mean_ms"] == pytest.approx(2.5 * factor)
    assert m["latency_p50_ms"] == pytest.approx((1 + 3 * 1 / 2) * factor)
    assert m["latency_p99_ms"] == pytest.approx(4 * factor)  # rank in +Inf: highest finite bound


# --------------------------------------------------------------------------- end to end


class _Feed:
    """A real HTTP server on 127.0.0.1 that answers /metrics with the next body in turn."""

    def __init__(self, bodies: list[str], content_type: str) -> None:
        self.bodies = bodies
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (stdlib name)
                body = feed.bodies.pop(0).encode()
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/metrics"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def serve() -> Iterator[Callable[[list[str]], str]]:
    feeds: list[_Feed] = []

    def start(bodies: list[str]) -> str:
        feed = _Feed(bodies, "text/plain; version=0.0.4; charset=utf-8")
        feed.thread.start()
        feeds.append(feed)
        return feed.url

    yield start
    for feed in feeds:
        feed.server.shutdown()
        feed.server.server_close()


def poll_twice(url: str, preset: Preset) -> tuple[Derived, float]:
    scrapes = []
    with httpx.Client(timeout=5.0) as client:
        for _ in range(2):
            at = time.time()
            r = client.get(url)
            r.raise_for_status()
            families = parse_bytes(r.content, r.headers["content-type"], only=preset.families)
            scrapes.append(Scrape(at, families))
    return derive(preset, scrapes[1], scrapes[0]), scrapes[1].at - scrapes[0].at


def bump(text: str, add: Mapping[str, float], *, sets: Mapping[str, float] | None = None) -> str:
    """Raise by ``add[prefix]`` (or set to ``sets[prefix]``) every sample whose text before the
    value starts with ``prefix``; each prefix must match at least once."""
    seen: set[str] = set()
    out = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            head, value = line.rsplit(" ", 1)
            for prefix in add.keys() | (sets or {}).keys():
                if head.startswith(prefix):
                    seen.add(prefix)
                    new = (sets or {}).get(prefix)
                    value = str(new if new is not None else float(value) + add[prefix])
            line = f"{head} {value}"
        out.append(line)
    assert seen == add.keys() | (sets or {}).keys(), "a prefix matched no sample"
    return "\n".join(out) + "\n"


def test_end_to_end_triton(feeds_dir: Path, serve: Callable[[list[str]], str]) -> None:
    first = (feeds_dir / "triton_metrics.txt").read_text()
    d_ok = 'nv_inference_request_success{model="densenet_onnx"'
    second = bump(first, {
        d_ok: 10,
        'nv_inference_request_failure{model="densenet_onnx",reason="BACKEND"': 2,
        'nv_inference_request_failure{model="densenet_onnx",reason="CANCELED"': 3,
        'nv_inference_request_duration_us{model="densenet_onnx"': 10 * 20_000,
        'nv_inference_queue_duration_us{model="densenet_onnx"': 10 * 500,
        'nv_inference_request_success{model="cc_fraud_detect_model"': 5,
        'nv_inference_request_duration_us{model="cc_fraud_detect_model"': 5 * 1_000,
    }, sets={
        'nv_inference_pending_request_count{model="densenet_onnx"': 4,
        'nv_inference_pending_request_count{model="cc_fraud_detect_model"': 1,
    })
    d, dt = poll_twice(serve([first, second]), get_preset("triton"))
    dense, fraud = d.models["densenet_onnx"], d.models["cc_fraud_detect_model"]
    assert dense["throughput_rps"] == pytest.approx(15 / dt)
    assert dense["error_rate"] == pytest.approx(2 / 15)
    assert dense["latency_mean_ms"] == pytest.approx(20.0)
    assert dense["queue_ms"] == pytest.approx(0.5)
    assert dense["inflight"] == 4.0
    assert fraud["error_rate"] == 0.0
    assert fraud["latency_mean_ms"] == pytest.approx(1.0)
    assert fraud["queue_ms"] == 0.0
    total = d.metrics
    assert total["throughput_rps"] == pytest.approx(20 / dt)
    assert total["error_rate"] == pytest.approx(2 / 20)
    assert total["latency_mean_ms"] == pytest.approx((200_000 + 5_000) / 15 / 1000)
    assert total["inflight"] == 5.0


def test_end_to_end_torchserve(feeds_dir: Path, serve: Callable[[list[str]], str]) -> None:
    first = (feeds_dir / "torchserve_metrics.txt").read_text()
    second = bump(first, {
        "ts_inference_requests_total{": 5,
        "ts_inference_latency_microseconds{": 5 * 40_000,
        "ts_queue_latency_microseconds{": 5 * 100,
    })
    host = 'Hostname="88665a372f4b.ant.amazon.com",'
    second = second.replace(
        "# TYPE Requests5XX counter\n",
        f'# TYPE Requests5XX counter\nRequests5XX{{Level="Host",{host}}} 1.0\n',
    )
    d, dt = poll_twice(serve([first, second]), get_preset("torchserve"))
    r = d.models["resnet18"]
    assert r["throughput_rps"] == pytest.approx(5 / dt)
    assert r["latency_mean_ms"] == pytest.approx(40.0)
    assert r["queue_ms"] == pytest.approx(0.1)
    assert r["error_rate"] == pytest.approx(1 / 5)  # a new series counts from 0
    assert d.metrics == r


def test_end_to_end_vllm(feeds_dir: Path, serve: Callable[[list[str]], str]) -> None:
    first = (feeds_dir / "vllm_metrics.txt").read_text()
    e2e = "vllm:e2e_request_latency_seconds_bucket{"
    # 4 requests: 0.9 s and 0.95 s in (0.8, 1.0], 3 s and 4 s in (2.5, 5.0]
    rules: dict[str, float] = {
        f'{e2e}engine="0",le="{le}"': 2 for le in ("1.0", "1.5", "2.0", "2.5")
    }
    rules |= {
        f'{e2e}engine="0",le="{le}"': 4
        for le in ("5.0", "10.0", "15.0", "20.0", "30.0", "40.0", "50.0", "60.0", "120.0",
                   "240.0", "480.0", "960.0", "1920.0", "7680.0", "+Inf")
    }
    rules |= {
        "vllm:e2e_request_latency_seconds_count{": 4,
        "vllm:e2e_request_latency_seconds_sum{": 0.9 + 0.95 + 3 + 4,
        "vllm:request_queue_time_seconds_count{": 4,
        "vllm:request_queue_time_seconds_sum{": 0.2,
        'vllm:request_success_total{engine="0",finished_reason="stop"': 4,
        'http_requests_total{handler="/v1/chat/completions",method="POST",status="2xx"}': 3,
        'http_requests_total{handler="/v1/models",method="GET"': 10,
    }
    second = bump(first, rules, sets={
        "vllm:num_requests_running{": 3, "vllm:num_requests_waiting{": 2,
    })
    second = second.replace(
        "# TYPE http_requests_total counter\n",
        "# TYPE http_requests_total counter\n"
        'http_requests_total{handler="/v1/chat/completions",method="POST",status="5xx"} 1.0\n',
    )
    d, dt = poll_twice(serve([first, second]), VLLM_PRESET)
    assert set(d.models) == {QWEN}
    q = d.models[QWEN]
    assert q["throughput_rps"] == pytest.approx(4 / dt)
    assert q["error_rate"] == pytest.approx(1 / 4)
    assert q["latency_p50_ms"] == pytest.approx(1000.0)  # rank 2: top of (0.8, 1.0]
    assert q["latency_p95_ms"] == pytest.approx(4750.0)  # rank 3.8: 2.5 + 2.5 * 1.8/2
    assert q["latency_p99_ms"] == pytest.approx(4950.0)
    assert q["latency_mean_ms"] == pytest.approx(8.85 / 4 * 1000)
    assert q["queue_ms"] == pytest.approx(50.0)
    assert q["inflight"] == 5.0
    assert d.metrics == q


def test_a_scrape_read_once_derives_the_same_as_read_afresh(feeds_dir: Path) -> None:
    # The monitor's chain: each scrape is derived as the current one, then as the previous one
    # of the next derive, which reuses what the first read of it (Scrape.readings).
    for name, preset_name in (("vllm_metrics.txt", "vllm"), ("triton_metrics.txt", "triton"),
                              ("triton_summary.txt", "triton")):
        preset = get_preset(preset_name)
        text = (feeds_dir / name).read_text()
        later = re.sub(r"(_count|_sum|_bucket|_total)(\{[^}]*\})? (\d+(\.\d+)?)",
                       lambda m: f"{m[1]}{m[2] or ''} {float(m[3]) * 1.5 + 3}", text)
        chain = [scrape(text, 100.0, preset), scrape(later, 110.0, preset)]
        derive(preset, chain[0])
        reused = derive(preset, chain[1], chain[0])
        assert chain[0].readings  # what the first derive read is kept on the scrape
        fresh = derive(preset, scrape(later, 110.0, preset), scrape(text, 100.0, preset))
        assert reused == fresh, name
        assert any(v is not None for v in reused.metrics.values()), name
