"""Presets: every model server's real (or documented) metrics derive sensible figures."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from mmtui.config import GenericMetrics
from mmtui.feeds.derive import Derived, Scrape, derive
from mmtui.feeds.parser import parse
from mmtui.feeds.presets import Preset, get_preset
from mmtui.names import PRESETS, SERVING_METRICS

QWEN = "Qwen/Qwen3-4B-Instruct-2507-FP8"


def lifetime(preset: Preset, text: str) -> Derived:
    return derive(preset, Scrape(0.0, parse(text, only=preset.families)))


def interval(preset: Preset, first: str, second: str, dt: float = 10.0) -> Derived:
    prev = Scrape(100.0, parse(first, only=preset.families))
    return derive(preset, Scrape(100.0 + dt, parse(second, only=preset.families)), prev)


def assert_complete(d: Derived) -> None:
    for metrics in (d.metrics, *d.models.values()):
        assert tuple(metrics) == SERVING_METRICS


# --------------------------------------------------------------------------- lookup


def test_every_named_preset_exists() -> None:
    for name in PRESETS:
        generic = GenericMetrics(requests="r_total") if name == "generic" else None
        preset = get_preset(name, generic)
        assert preset.name == name
        assert preset.families and "process_start_time_seconds" in preset.families


def test_unknown_preset_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown preset 'tritonserver'") as info:
        get_preset("tritonserver")
    for name in PRESETS:
        assert name in str(info.value)


def test_generic_needs_names_and_a_known_unit() -> None:
    with pytest.raises(ValueError, match="needs metric names"):
        get_preset("generic")
    with pytest.raises(ValueError, match="needs metric names"):
        get_preset("generic", GenericMetrics())
    with pytest.raises(ValueError, match="latency_unit 'minutes'"):
        get_preset("generic", GenericMetrics(latency="x", latency_unit="minutes"))


def test_model_labels() -> None:
    labels = {name: get_preset(name).model_label for name in PRESETS if name != "generic"}
    assert labels == {
        "vllm": "model_name", "triton": "model", "torchserve": "model_name", "tgi": None,
        "kserve": "model_name", "mlserver": "model", "bentoml": "service_name",
        "rayserve": "application", "agent": "model",
    }


@pytest.mark.parametrize(
    ("name", "feed"),
    [("vllm", "vllm_metrics.txt"), ("triton", "triton_metrics.txt"),
     ("torchserve", "torchserve_metrics.txt")],
)
def test_only_families_lose_nothing(feeds_dir: Path, name: str, feed: str) -> None:
    text = (feeds_dir / feed).read_text()
    preset = get_preset(name)
    assert lifetime(preset, text) == derive(preset, Scrape(0.0, parse(text)))


# --------------------------------------------------------------------------- real feeds


def test_vllm_feed(feeds_dir: Path) -> None:
    d = lifetime(get_preset("vllm"), (feeds_dir / "vllm_metrics.txt").read_text())
    assert_complete(d)
    assert set(d.models) == {QWEN}
    m = d.models[QWEN]
    # e2e buckets: 1 ≤ 2 s, 2 ≤ 2.5 s, 4 ≤ 10 s, 6 ≤ 15 s; p95 rank 5.7 → 10 + 5 * 1.7/2 s
    assert m["latency_p95_ms"] == pytest.approx(14_250.0)
    assert m["latency_p50_ms"] == pytest.approx(7_500.0)
    assert m["latency_p99_ms"] == pytest.approx(14_850.0)
    assert m["latency_mean_ms"] == pytest.approx(41.35763955116272 / 6 * 1000)
    assert m["queue_ms"] == pytest.approx(0.0003117750002274988 / 6 * 1000)
    assert m["error_rate"] == 0.0  # 6 POSTs, none 5xx
    assert m["inflight"] == 0.0
    assert m["throughput_rps"] is None  # one scrape: no rate
    assert d.metrics == m


def test_triton_feed(feeds_dir: Path) -> None:
    d = lifetime(get_preset("triton"), (feeds_dir / "triton_metrics.txt").read_text())
    assert_complete(d)
    assert set(d.models) == {"densenet_onnx", "cc_fraud_detect_model"}
    for metrics in (d.metrics, *d.models.values()):
        assert metrics["error_rate"] is None  # every counter is 0: no traffic yet
        assert metrics["latency_mean_ms"] is None
        assert metrics["inflight"] == 0.0


def test_triton_trtllm_feed(feeds_dir: Path) -> None:
    d = lifetime(get_preset("triton"), (feeds_dir / "triton_trtllm_zero_counters.txt").read_text())
    assert set(d.models) == {"tensorrt_llm"}


def test_triton_summary_feed(feeds_dir: Path) -> None:
    d = lifetime(get_preset("triton"), (feeds_dir / "triton_summary.txt").read_text())
    assert set(d.models) == {"my_model"}
    assert d.models["my_model"]["queue_ms"] == pytest.approx(11110 / 161 / 1000)


def test_torchserve_feed(feeds_dir: Path) -> None:
    d = lifetime(get_preset("torchserve"), (feeds_dir / "torchserve_metrics.txt").read_text())
    assert_complete(d)
    assert set(d.models) == {"resnet18"}
    r = d.models["resnet18"]
    assert r["latency_mean_ms"] == pytest.approx(290371.129 / 3 / 1000)
    assert r["queue_ms"] == pytest.approx(365.21 / 3 / 1000)
    assert r["error_rate"] == 0.0  # Requests5XX declared without samples: none yet
    assert r["latency_p95_ms"] is None
    assert r["inflight"] is None


def test_torchserve_host_level_errors_with_several_models(feeds_dir: Path) -> None:
    text = (feeds_dir / "torchserve_metrics.txt").read_text()
    host = 'Level="Host",Hostname="88665a372f4b.ant.amazon.com",'
    second_model = (
        'ts_inference_requests_total{model_name="squeezenet",model_version="default",'
        'hostname="88665a372f4b.ant.amazon.com",} 7.0\n'
    )
    for family, line in (("Requests5XX", f"Requests5XX{{{host}}} 2.0\n"),
                         ("ts_inference_requests_total", second_model)):
        text = text.replace(f"# TYPE {family} counter\n", f"# TYPE {family} counter\n{line}")
    d = lifetime(get_preset("torchserve"), text)
    assert set(d.models) == {"resnet18", "squeezenet"}
    assert d.models["resnet18"]["error_rate"] is None  # the host's 5xx name no model
    assert d.metrics["error_rate"] == pytest.approx(2 / 10)
    flood = text.replace(f"Requests5XX{{{host}}} 2.0", f"Requests5XX{{{host}}} 40.0")
    assert lifetime(get_preset("torchserve"), flood).metrics["error_rate"] == 1.0  # clamped


def test_torchserve_custom_metrics_feed(feeds_dir: Path) -> None:
    text = (feeds_dir / "torchserve_custom_metrics_histogram.txt").read_text()
    d = lifetime(get_preset("torchserve"), text)
    assert set(d.models) == {"mnist"}
    assert d.models["mnist"]["latency_mean_ms"] is not None


def test_bentoml_feed_has_custom_metrics_only(feeds_dir: Path) -> None:
    text = (feeds_dir / "bentoml_custom_metrics.txt").read_text()
    d = lifetime(get_preset("bentoml"), text)
    assert d.models == {}
    assert all(v is None for v in d.metrics.values())
    # the same payload through generic, with the service's own names
    generic = get_preset("generic", GenericMetrics(
        requests="summary_requests_total", latency="inference_time_seconds", model_label="status",
    ))
    g = lifetime(generic, text)
    assert set(g.models) == {"success"}
    s = g.models["success"]
    assert s["latency_mean_ms"] == pytest.approx(51.74311947822571 / 12 * 1000)
    # all 12 in (2, 5]: p50 rank 6 → 2 + 3 * 6/12 s
    assert s["latency_p50_ms"] == pytest.approx(3_500.0)
    assert s["latency_p95_ms"] == pytest.approx(4_850.0)
    assert s["error_rate"] is None  # no errors counter configured


# --------------------------------------------------------------------------- generic


def test_generic_with_separate_success_and_failure_counters() -> None:
    text = (
        "# TYPE ok_total counter\nok_total 90\n# TYPE failed_total counter\nfailed_total 10\n"
        "# TYPE queue_seconds_total counter\nqueue_seconds_total 5\n"
        "# TYPE busy gauge\nbusy 3\n# TYPE last_ms gauge\nlast_ms 12\n"
    )
    preset = get_preset("generic", GenericMetrics(
        requests="ok_total", errors="failed_total", requests_include_errors=False,
        queue="queue_seconds_total", inflight="busy",
    ))
    m = lifetime(preset, text).metrics
    assert m["error_rate"] == pytest.approx(0.1)
    assert m["queue_ms"] == pytest.approx(5 / 100 * 1000)  # cumulative counter / all requests
    assert m["inflight"] == 3.0
    second = text.replace("ok_total 90", "ok_total 130").replace("_total 10", "_total 20")
    assert interval(preset, text, second).metrics["throughput_rps"] == pytest.approx(5.0)
    # a gauge (the last request's time) is no duration source
    last = get_preset("generic", GenericMetrics(requests="ok_total", queue="last_ms"))
    assert lifetime(last, text).metrics["queue_ms"] is None


# --------------------------------------------------------------------------- documented formats
# No captured payloads exist for these servers in ../shared/feeds; the texts below use the metric
# names, labels and types from each server's documentation and source.

TGI = """
# TYPE tgi_request_count counter
tgi_request_count {count}
# TYPE tgi_request_success counter
tgi_request_success 100
# TYPE tgi_request_failure counter
tgi_request_failure{{err="validation"}} 12
tgi_request_failure{{err="dropped"}} 3
tgi_request_failure{{err="generation"}} {generation}
# TYPE tgi_queue_size gauge
tgi_queue_size 4
# TYPE tgi_batch_current_size gauge
tgi_batch_current_size 8
# TYPE tgi_request_duration histogram
tgi_request_duration_bucket{{le="0.5"}} 20
tgi_request_duration_bucket{{le="1"}} 60
tgi_request_duration_bucket{{le="5"}} {under5}
tgi_request_duration_bucket{{le="+Inf"}} {done}
tgi_request_duration_sum {total}
tgi_request_duration_count {done}
# TYPE tgi_request_queue_duration histogram
tgi_request_queue_duration_bucket{{le="0.01"}} 90
tgi_request_queue_duration_bucket{{le="+Inf"}} {done}
tgi_request_queue_duration_sum 2
tgi_request_queue_duration_count {done}
"""


def test_tgi() -> None:
    preset = get_preset("tgi")
    first = TGI.format(count=120, generation=5, under5=100, done=100, total=150.0)
    d = lifetime(preset, first)
    assert d.models == {}
    m = d.metrics
    assert m["error_rate"] == pytest.approx(5 / 120)  # validation and dropped are client side
    assert m["inflight"] == 12.0
    assert m["latency_mean_ms"] == pytest.approx(1500.0)
    assert m["latency_p50_ms"] == pytest.approx(875.0)  # rank 50 in (0.5, 1]: 0.5 + 0.5 * 30/40
    assert m["queue_ms"] == pytest.approx(20.0)
    second = TGI.format(count=140, generation=9, under5=110, done=116, total=190.0)
    m2 = interval(preset, first, second, dt=4.0).metrics
    assert m2["throughput_rps"] == pytest.approx(5.0)
    assert m2["error_rate"] == pytest.approx(4 / 20)
    assert m2["latency_mean_ms"] == pytest.approx(40 / 16 * 1000)
    assert m2["latency_p50_ms"] == pytest.approx(4200.0)  # rank 8 of the 10 new in (1, 5]


KSERVE_IDLE = """
# HELP request_predict_seconds predict request latency
# TYPE request_predict_seconds histogram
"""

KSERVE = KSERVE_IDLE + "\n".join(
    f'request_predict_seconds_bucket{{le="{le}",model_name="{model}"}} {n}'
    for model, counts in (("sklearn-iris", (2, 8, 10, 10)), ("xgb-churn", (0, 1, 3, 4)))
    for le, n in zip(("0.005", "0.01", "0.025", "+Inf"), counts, strict=True)
) + """
request_predict_seconds_count{model_name="sklearn-iris"} 10.0
request_predict_seconds_sum{model_name="sklearn-iris"} 0.08
request_predict_seconds_count{model_name="xgb-churn"} 4.0
request_predict_seconds_sum{model_name="xgb-churn"} 0.2
# TYPE request_predict_seconds_created gauge
request_predict_seconds_created{model_name="sklearn-iris"} 1.7e9
"""


def test_kserve() -> None:
    preset = get_preset("kserve")
    idle = lifetime(preset, KSERVE_IDLE)  # a label-gated histogram has no samples before traffic
    assert idle.models == {}
    assert all(v is None for v in idle.metrics.values())
    d = lifetime(preset, KSERVE)
    assert_complete(d)
    assert set(d.models) == {"sklearn-iris", "xgb-churn"}
    assert d.models["sklearn-iris"]["latency_mean_ms"] == pytest.approx(8.0)
    assert d.models["sklearn-iris"]["error_rate"] is None  # KServe counts no failures
    assert d.metrics["latency_mean_ms"] == pytest.approx(280 / 14)
    xgb = '_count{model_name="xgb-churn"}'
    second = KSERVE.replace(f"{xgb} 4.0", f"{xgb} 9.0")
    assert interval(preset, KSERVE, second, dt=5.0).models["xgb-churn"]["throughput_rps"] == 1.0


def sample(name: str, labels: Mapping[str, str], value: float) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{name}{{{inner}}} {value}"


def histogram(
    name: str, labels: Mapping[str, str], buckets: Mapping[str, float], total: float
) -> str:
    lines = [sample(f"{name}_bucket", {**labels, "le": le}, n) for le, n in buckets.items()]
    count = buckets["+Inf"]
    lines += [sample(f"{name}_sum", labels, total), sample(f"{name}_count", labels, count)]
    return "\n".join(lines)


INFER = {"app_name": "mlserver", "method": "POST", "path": "/v2/models/{model_name}/infer"}
READY = {"app_name": "mlserver", "method": "GET", "path": "/v2/models/{model_name}/ready"}


def mlserver(extra: str = "") -> str:
    iris = {"model": "iris", "version": "v1"}
    return "\n".join([
        "# TYPE model_infer_request_success_total counter",
        sample("model_infer_request_success_total", iris, 95.0),
        extra,
        "# TYPE model_infer_request_failure_total counter",
        sample("model_infer_request_failure_total", iris, 5.0),
        "# TYPE model_infer_request_duration summary",
        sample("model_infer_request_duration_count", iris, 95.0),
        sample("model_infer_request_duration_sum", iris, 1.9),
        "# TYPE rest_server_request_duration_seconds histogram",
        histogram("rest_server_request_duration_seconds", INFER,
                  {"0.01": 40, "0.05": 100, "+Inf": 100}, 2.5),
        histogram("rest_server_request_duration_seconds", READY,
                  {"0.01": 0, "0.05": 0, "+Inf": 50}, 40.0),
        "# TYPE rest_server_requests_in_progress gauge",
        sample("rest_server_requests_in_progress", INFER, 2.0),
        sample("rest_server_requests_in_progress", READY, 1.0),
    ]) + "\n"


def test_mlserver() -> None:
    preset = get_preset("mlserver")
    d = lifetime(preset, mlserver())
    iris = d.models["iris"]
    assert iris["error_rate"] == pytest.approx(0.05)
    assert iris["latency_mean_ms"] == pytest.approx(20.0)  # the model's summary
    # quantiles from the REST histogram, /infer only: p50 rank 50 → 10 + 40 * 10/60 ms
    assert iris["latency_p50_ms"] == pytest.approx(10 + 40 * 10 / 60)
    assert iris["inflight"] == 2.0
    assert iris["queue_ms"] is None  # MLServer's queues are sizes, not times
    two = lifetime(preset, mlserver(
        sample("model_infer_request_success_total", {"model": "wine", "version": "v2"}, 1.0)
    ))
    assert two.models["iris"]["latency_p50_ms"] is None  # REST latency has no model label
    assert two.metrics["latency_p50_ms"] == pytest.approx(10 + 40 * 10 / 60)


BENTO = {"endpoint": "/classify", "runner_name": "", "service_name": "iris_classifier",
         "service_version": "v1"}


def bentoml(errors: float | None) -> str:
    def code(c: str) -> dict[str, str]:
        return {**BENTO, "http_response_code": c}

    return "\n".join([
        "# TYPE bentoml_service_request_total counter",
        sample("bentoml_service_request_total", code("200"), 96.0),
        sample("bentoml_service_request_total", code("422"), 2.0),
        sample("bentoml_service_request_total", code("503"), errors) if errors else "",
        "# TYPE bentoml_service_request_in_progress gauge",
        sample("bentoml_service_request_in_progress", BENTO, 3.0),
        "# TYPE bentoml_service_request_duration_seconds histogram",
        sample("bentoml_service_request_duration_seconds_sum", code("200"), 4.8),  # sum first
        histogram("bentoml_service_request_duration_seconds", code("200"),
                  {"0.05": 90, "+Inf": 96}, 4.8),
    ]) + "\n"


def test_bentoml() -> None:
    preset = get_preset("bentoml")
    ok = lifetime(preset, bentoml(None))
    assert ok.models["iris_classifier"]["error_rate"] == 0.0  # the 5xx series does not exist yet
    d = lifetime(preset, bentoml(2.0))
    m = d.models["iris_classifier"]
    assert m["error_rate"] == pytest.approx(2 / 100)  # 422 is the client's
    assert m["latency_mean_ms"] == pytest.approx(50.0)
    assert m["latency_p50_ms"] == pytest.approx(50 * 48 / 90)
    assert m["inflight"] == 3.0


def ray(ok: float) -> str:
    worker = {"Component": "core_worker", "SessionName": "s"}
    summ = {"application": "summarizer", "route": "/sum"}

    def http(method: str, code: str, **app: str) -> dict[str, str]:
        return {**worker, **(app or summ), "method": method, "status_code": code}

    return "\n".join([
        "# TYPE ray_serve_num_http_requests_total counter",
        sample("ray_serve_num_http_requests_total", http("POST", "200"), ok),
        sample("ray_serve_num_http_requests_total", http("POST", "500"), 5.0),
        sample("ray_serve_num_http_requests_total", http("GET", "404"), 10.0),
        sample("ray_serve_num_http_requests_total",
               http("POST", "200", application="translator", route="/tr"), 50.0),
        "# TYPE ray_serve_http_request_latency_ms histogram",
        histogram("ray_serve_http_request_latency_ms", {**summ, "method": "POST"},
                  {"100.0": 60, "500.0": 85, "+Inf": 85}, 8500.0),
        "# TYPE ray_serve_replica_processing_queries gauge",
        sample("ray_serve_replica_processing_queries",
               {**summ, "deployment": "Summarizer", "replica": "Summarizer#ab"}, 2.0),
        sample("ray_serve_replica_processing_queries",
               {**summ, "deployment": "Summarizer", "replica": "Summarizer#cd"}, 1.0),
    ]) + "\n"


def test_rayserve() -> None:
    preset = get_preset("rayserve")
    first = ray(85.0)
    d = lifetime(preset, first)
    assert set(d.models) == {"summarizer", "translator"}
    s = d.models["summarizer"]
    assert s["error_rate"] == pytest.approx(5 / 100)  # the 404 is traffic, not an error
    assert s["latency_mean_ms"] == pytest.approx(100.0)  # already in ms
    assert s["latency_p50_ms"] == pytest.approx(100 * 42.5 / 60)  # rank 0.5 * 85
    assert s["inflight"] == 3.0
    assert d.models["translator"]["inflight"] is None
    assert d.metrics["error_rate"] == pytest.approx(5 / 150)
    later = interval(preset, first, ray(115.0), dt=3.0)
    assert later.models["summarizer"]["throughput_rps"] == pytest.approx(10.0)
    assert later.models["summarizer"]["error_rate"] == 0.0
