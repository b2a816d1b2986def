"""The demo simulator: deterministic state, real exposition text, scripted incidents, HTTP."""

from __future__ import annotations

import argparse
import json
import math
import queue
import re
import signal
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mmtui.commands import simulate
from mmtui.sim import (
    FLEET,
    SCENARIOS,
    EndpointSpec,
    Incident,
    ModelSpec,
    Scenario,
    SimServer,
    Simulator,
)
from mmtui.sim.exposition import Hist, cpp_double, go_float, java_double
from mmtui.sim.server import is_loopback

T0 = 1_700_000_000.0
TICKS_PER_S = 10
Key = tuple[str, frozenset[tuple[str, str]]]
NAMES = [ep.name for ep in FLEET]


def samples(text: str) -> dict[Key, float]:
    """Every sample of a scrape, parsed by prometheus_client, by (name, labels).

    prometheus_client names every counter sample ``<family>_total``, even where the server wrote
    no ``_total`` (Triton, TorchServe's CamelCase); counters are keyed by family name here.
    """
    out: dict[Key, float] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            name = fam.name if fam.type == "counter" and s.name == f"{fam.name}_total" else s.name
            out[(name, frozenset(s.labels.items()))] = s.value
    return out


def value(sc: Mapping[Key, float], name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in sc.items() if n == name and want <= ls)


def buckets(sc: Mapping[Key, float], name: str) -> dict[float, float]:
    return {float(dict(ls)["le"]): v for (n, ls), v in sc.items() if n == f"{name}_bucket"}


def quantile(q: float, cumulative: dict[float, float]) -> float:
    """Prometheus' histogram_quantile (linear within the bucket), for the tests' own use."""
    les = sorted(cumulative)
    rank = q * cumulative[math.inf]
    lower, below = 0.0, 0.0
    for le in les:
        if cumulative[le] >= rank:
            if le == math.inf:
                return lower
            return lower + (le - lower) * (rank - below) / (cumulative[le] - below)
        lower, below = le, cumulative[le]
    raise AssertionError("no +Inf bucket")


def between(sim: Simulator, name: str, start_s: float, end_s: float) -> tuple[dict[Key, float],
                                                                            dict[Key, float]]:
    first = samples(sim.render(name, round(start_s * TICKS_PER_S)))
    return first, samples(sim.render(name, round(end_s * TICKS_PER_S)))


# ----------------------------------------------------------------------------- determinism


def test_same_seed_gives_the_same_text_and_another_seed_does_not() -> None:
    a = Simulator("incident", seed=7, epoch=T0)
    b = Simulator("incident", seed=7, epoch=T0)
    c = Simulator("incident", seed=8, epoch=T0)
    for name in NAMES:
        text = a.render(name, 250)
        assert text == b.render(name, 250)
        assert text != c.render(name, 250)


def test_the_state_at_a_tick_does_not_depend_on_when_scrapes_happened() -> None:
    # 1300 ticks span the outage (95-125 s) and its restart; one catch-up vs many small steps.
    whole = Simulator("incident", seed=3, epoch=T0)
    steps = Simulator("incident", seed=3, epoch=T0)
    for k in (1, 2, 77, 500, 951, 1000, 1249, 1251):
        steps.advance(k)
        steps.render("image-classifier")
    assert steps.tick == 1251
    for name in NAMES:
        assert whole.render(name, 1300) == steps.render(name, 1300)


def test_a_tick_already_past_renders_the_current_state() -> None:
    sim = Simulator("calm", seed=0, epoch=T0)
    now = sim.render("sentiment", 100)
    assert sim.render("sentiment", 50) == now
    assert sim.tick == 100
    assert sim.tick_at(T0 + 12.34) == 123


# ----------------------------------------------------------------------------- exposition text


@pytest.mark.parametrize("name", NAMES)
def test_every_endpoint_parses_and_has_its_servers_families(name: str) -> None:
    sim = Simulator("incident", seed=0, epoch=T0)
    types = {f.name: f.type for f in text_string_to_metric_families(sim.render(name, 50))}
    preset = sim.spec(name).preset
    expected = {
        "vllm": {"vllm:e2e_request_latency_seconds": "histogram",
                 "vllm:request_queue_time_seconds": "histogram",
                 "vllm:time_to_first_token_seconds": "histogram",
                 "vllm:request_success": "counter", "vllm:num_requests_running": "gauge",
                 "vllm:num_requests_waiting": "gauge", "http_requests": "counter",
                 "http_request_duration_seconds": "histogram",
                 "process_start_time_seconds": "gauge"},
        "triton": {"nv_inference_request_success": "counter",
                   "nv_inference_request_failure": "counter", "nv_inference_count": "counter",
                   "nv_inference_exec_count": "counter",
                   "nv_inference_request_duration_us": "counter",
                   "nv_inference_queue_duration_us": "counter",
                   "nv_inference_compute_infer_duration_us": "counter",
                   "nv_inference_pending_request_count": "gauge"},
        "torchserve": {"ts_inference_requests": "counter",
                       "ts_inference_latency_microseconds": "counter",
                       "ts_queue_latency_microseconds": "counter", "Requests2XX": "counter",
                       "Requests5XX": "counter", "PredictionTime": "gauge"},
    }[preset]
    # prometheus_client names a counter family without its _total.
    assert {k: types.get(k) for k in expected} == expected


def test_vllm_text_is_written_like_prometheus_client_writes_it() -> None:
    sim = Simulator("calm", seed=0, epoch=T0)
    lines = sim.render("chat-llm", 10).splitlines()
    model = 'model_name="meta-llama/Llama-3.1-8B-Instruct"'
    assert f'vllm:e2e_request_latency_seconds_bucket{{engine="0",le="0.3",{model}}}' in " ".join(
        lines)
    assert "# TYPE vllm:request_success_total counter" in lines
    assert "# TYPE vllm:request_success_created gauge" in lines
    assert any(line.startswith("process_virtual_memory_bytes 1.372014592e+010") for line in lines)
    post = [line for line in lines if line.startswith("http_requests_total{")]
    assert post and all('status="2xx"' in line for line in post), "5xx appears once it happens"


def test_vllm_failures_are_http_5xx_and_appear_when_first_seen() -> None:
    sim = Simulator("incident", seed=0, epoch=T0)
    sc = samples(sim.render("code-llm", 160 * TICKS_PER_S))
    assert value(sc, "http_requests", method="POST", status="5xx") > 20
    created = value(sc, "http_requests_created", method="POST", status="5xx")
    assert T0 - 30 <= created <= T0 + 160, "when the first 5xx happened (warm-up included)"


def test_torchserve_text_is_written_like_the_java_client_writes_it() -> None:
    sim = Simulator("calm", seed=0, epoch=T0)
    text = sim.render("image-classifier", 3000)
    lines = text.splitlines()
    samples_ = [line for line in lines if not line.startswith("#")]
    assert samples_ and all(line.split(" ")[0].endswith(",}") for line in samples_)
    latency = next(line for line in lines if line.startswith("ts_inference_latency_micro"))
    assert re.fullmatch(r"\d\.\d+E\d", latency.split(" ")[-1]), "Double.toString from 1e7"
    assert "# TYPE GPUUtilization gauge" in lines
    assert not any(line.startswith("GPUUtilization") for line in lines)
    assert java_double(3.0) == "3.0"
    assert java_double(12345678.9) == "1.23456789E7"
    assert java_double(0.0001) == "1.0E-4"


def test_triton_text_is_written_like_prometheus_cpp_writes_it() -> None:
    sim = Simulator("calm", seed=0, epoch=T0)
    lines = sim.render("fraud-scorer", 100).splitlines()
    success = [line for line in lines if line.startswith("nv_inference_request_success{")]
    assert [line.split('"')[1] for line in success] == ["fraud_xgb", "fraud_embed"]
    assert all(line.split(" ")[-1].isdigit() for line in success)
    reasons = [line.split('reason="')[1].split('"')[0] for line in lines
               if line.startswith("nv_inference_request_failure{")]
    assert reasons == ["OTHER", "BACKEND", "CANCELED"] * 2 + ["REJECTED"] * 2
    q = next(line for line in lines if line.startswith("nv_inference_request_summary_us{"))
    assert q.startswith('nv_inference_request_summary_us{model="fraud_xgb",version="1",'
                        'quantile="0.5"} ')
    assert cpp_double(float("nan")) == "Nan" and cpp_double(161.0) == "161"
    assert go_float(1771042382.34) == "1.77104238234e+09"


def test_mmtui_parser_reads_what_prometheus_client_reads() -> None:
    parser = pytest.importorskip("mmtui.feeds.parser")
    sim = Simulator("incident", seed=0, epoch=T0)
    for name in NAMES:
        text = sim.render(name, 600)
        ours = parser.parse(text)
        theirs = list(text_string_to_metric_families(text))
        assert sum(len(f.samples) for f in ours.values()) == sum(len(f.samples) for f in theirs)


# ----------------------------------------------------------------------------- invariants


def check_invariants(sim: Simulator, name: str, ticks: tuple[int, ...]) -> None:
    """Counters (and histogram/summary counts and sums) never decrease across ``ticks``;
    histogram buckets are cumulative and end at ``_count``."""
    before: dict[Key, float] = {}
    for k in ticks:
        text = sim.render(name, k)
        now = samples(text)
        fams = list(text_string_to_metric_families(text))
        growing = {f.name for f in fams if f.type in ("counter", "histogram", "summary")}
        for (n, ls), v in now.items():
            family = n.removesuffix("_bucket").removesuffix("_count").removesuffix("_sum")
            if family in growing and not any(q == "quantile" for q, _ in ls):
                assert v >= before.get((n, ls), 0.0), (name, k, n, dict(ls))
        for fam in fams:
            if fam.type != "histogram":
                continue
            series: dict[frozenset[tuple[str, str]], list[tuple[float, float]]] = {}
            for (n, ls), v in now.items():
                if n == f"{fam.name}_bucket":
                    rest = frozenset(p for p in ls if p[0] != "le")
                    series.setdefault(rest, []).append((float(dict(ls)["le"]), v))
            assert series, fam.name
            for rest, bs in series.items():
                counts = [c for _, c in sorted(bs)]
                assert counts == sorted(counts), (name, fam.name)
                assert counts[-1] == now[(f"{fam.name}_count", rest)]
        before = now


@pytest.mark.parametrize("name", NAMES)
def test_counters_never_decrease_and_histograms_are_consistent(name: str) -> None:
    check_invariants(Simulator("calm", seed=5, epoch=T0), name, (0, 37, 400, 1500))


def test_the_invariant_check_sees_a_restart() -> None:
    sim = Simulator("incident", seed=5, epoch=T0)
    with pytest.raises(AssertionError):
        check_invariants(sim, "image-classifier", (900, 1300))


def test_histogram_buckets_are_upper_inclusive_and_sums_exact() -> None:
    import numpy as np

    h = Hist([1.0, 2.0])
    h.observe(np.array([1.0, 1.5, 2.0, 3.0]))
    h.observe(np.array([0.25]), np.array([4.0]))
    assert h.cumulative() == [(1.0, 5.0), (2.0, 7.0), (math.inf, 8.0)]
    assert h.total == 8.5 and h.count == 8.0


# ----------------------------------------------------------------------------- the incidents


def test_incident_latency_spike_multiplies_chat_llm_p95() -> None:
    sim = Simulator("incident", seed=0, epoch=T0)
    calm_a, calm_b = between(sim, "chat-llm", -20.0, 7.0)
    spike_a, spike_b = between(sim, "chat-llm", 12.0, 36.0)
    name = "vllm:e2e_request_latency_seconds"

    def p95(a: dict[Key, float], b: dict[Key, float]) -> float:
        ba, bb = buckets(a, name), buckets(b, name)
        return quantile(0.95, {le: bb[le] - ba.get(le, 0.0) for le in bb})

    assert p95(spike_a, spike_b) >= 3 * p95(calm_a, calm_b)
    waiting = value(samples(sim.render("chat-llm", 300)), "vllm:num_requests_waiting")
    assert waiting >= 1
    other = Simulator("calm", seed=0, epoch=T0)
    other_a, other_b = between(other, "chat-llm", 12.0, 36.0)
    assert p95(other_a, other_b) < 1.5 * p95(calm_a, calm_b)


def test_incident_error_burst_fails_a_quarter_of_fraud_xgb() -> None:
    sim = Simulator("incident", seed=0, epoch=T0)
    before_a, before_b = between(sim, "fraud-scorer", 0.0, 49.0)
    burst_a, burst_b = between(sim, "fraud-scorer", 53.0, 78.0)

    def rate(a: dict[Key, float], b: dict[Key, float], model: str) -> float:
        fail = value(b, "nv_inference_request_failure", model=model) - value(
            a, "nv_inference_request_failure", model=model)
        ok = value(b, "nv_inference_request_success", model=model) - value(
            a, "nv_inference_request_success", model=model)
        return fail / (fail + ok)

    assert 0.18 <= rate(burst_a, burst_b, "fraud_xgb") <= 0.32
    assert rate(before_a, before_b, "fraud_xgb") < 0.02
    assert rate(burst_a, burst_b, "fraud_embed") < 0.02
    backend = value(burst_b, "nv_inference_request_failure", model="fraud_xgb", reason="BACKEND")
    assert backend > 0.8 * value(burst_b, "nv_inference_request_failure", model="fraud_xgb")


def test_incident_code_llm_answers_5xx() -> None:
    sim = Simulator("incident", seed=0, epoch=T0)
    a, b = between(sim, "code-llm", 144.0, 163.0)
    fail = value(b, "http_requests", method="POST", status="5xx") - value(
        a, "http_requests", method="POST", status="5xx")
    total = value(b, "http_requests", method="POST") - value(a, "http_requests", method="POST")
    assert 0.1 <= fail / total <= 0.3


def test_incident_outage_then_a_restarted_process() -> None:
    sim = Simulator("incident", seed=0, epoch=T0)
    assert not sim.is_down("image-classifier", 949)
    assert sim.is_down("image-classifier", 950)
    assert sim.is_down("image-classifier", 1249)
    assert not sim.is_down("image-classifier", 1250)
    assert sim.is_down("image-classifier", (180 + 100) * TICKS_PER_S), "the script repeats"
    assert not any(sim.is_down(n, 1000) for n in NAMES if n != "image-classifier")
    before = samples(sim.render("image-classifier", 940))
    after = samples(sim.render("image-classifier", 1300))
    requests = "ts_inference_requests"
    assert 0 < value(after, requests) < 0.3 * value(before, requests)
    assert 0 < value(after, "Requests2XX") < value(before, "Requests2XX")
    assert not Simulator("calm", seed=0, epoch=T0).is_down("image-classifier", 1000)


def test_derived_serving_metrics_show_the_incidents() -> None:
    """End to end through mmtui's own parser, presets and derivation, where they exist."""
    parser = pytest.importorskip("mmtui.feeds.parser")
    derive = pytest.importorskip("mmtui.feeds.derive")
    presets = pytest.importorskip("mmtui.feeds.presets")
    sim = Simulator("incident", seed=0, epoch=T0)

    def metrics(name: str, start_s: float, end_s: float) -> dict[str, float | None]:
        scrapes = []
        for s in (start_s, end_s):
            k = round(s * TICKS_PER_S)
            scrapes.append(derive.Scrape(sim.clock.at(k), parser.parse(sim.render(name, k))))
        preset = presets.get_preset(sim.spec(name).preset)
        out: dict[str, float | None] = derive.derive(preset, scrapes[1], scrapes[0]).metrics
        return out

    calm = metrics("chat-llm", 0.0, 6.0)["latency_p95_ms"]
    spike = metrics("chat-llm", 14.0, 30.0)["latency_p95_ms"]
    assert calm is not None and spike is not None and spike >= 3 * calm
    burst = metrics("fraud-scorer", 55.0, 75.0)["error_rate"]
    assert burst is not None and burst > 0.08
    back = metrics("image-classifier", 90.0, 130.0)["throughput_rps"]
    assert back is not None and back > 0


# ----------------------------------------------------------------------------- the server


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served() -> Iterator[tuple[SimServer, FakeClock]]:
    clock = FakeClock(T0)
    with SimServer("incident", seed=0, clock=clock) as server:
        yield server, clock


def test_server_lists_and_serves_every_endpoint(served: tuple[SimServer, FakeClock]) -> None:
    server, clock = served
    clock.now = T0 + 3.0
    with httpx.Client(timeout=5) as client:
        listing = client.get(server.url)
        assert listing.status_code == 200
        assert listing.headers["content-type"] == "application/json"
        endpoints = listing.json()["endpoints"]
        assert endpoints == server.endpoints
        assert [e["name"] for e in endpoints] == NAMES
        for ep in endpoints:
            assert set(ep) == {"name", "preset", "metrics_url", "records_url"}
            records = ep["name"] in ("fraud-scorer", "recsys-ranker", "sentiment")
            assert (ep["records_url"] is not None) == records
            assert ep["metrics_url"].startswith("http://127.0.0.1:")
            r = client.get(ep["metrics_url"])
            assert r.status_code == 200
            assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
            assert r.text == server.simulator.render(ep["name"], 30)
            assert list(text_string_to_metric_families(r.text))
        for path in ("models/nope/metrics", "models/chat-llm/records", "models/chat-llm",
                     "metrics", "models/chat-llm/metrics/extra"):
            r = client.get(server.url + path)
            assert r.status_code == 404, path
            assert r.json()["error"] == "not found"


def test_a_down_endpoint_drops_the_connection(served: tuple[SimServer, FakeClock]) -> None:
    server, clock = served
    url = server.url + "models/image-classifier/metrics"
    with httpx.Client(timeout=5) as client:
        assert client.get(url).status_code == 200
        clock.now = T0 + 100.0
        with pytest.raises(httpx.TransportError):
            client.get(url)
        assert client.get(server.url + "models/sentiment/metrics").status_code == 200
        clock.now = T0 + 130.0
        assert client.get(url).status_code == 200


def test_records_route_serves_a_plugged_in_provider(served: tuple[SimServer, FakeClock]) -> None:
    server, clock = served
    seen: list[tuple[int, dict[str, str]]] = []

    def provider(tick: int, query: Mapping[str, str]) -> tuple[str, bytes]:
        seen.append((tick, dict(query)))
        return "application/x-ndjson", b'{"x": 1}\n'

    server.set_records("sentiment", provider)
    clock.now = T0 + 2.0
    sentiment = next(e for e in server.endpoints if e["name"] == "sentiment")
    assert sentiment["records_url"] == server.url + "models/sentiment/records"
    r = httpx.get(f"{sentiment['records_url']}?since=5", timeout=5)
    assert (r.status_code, r.headers["content-type"], r.text) == (
        200, "application/x-ndjson", '{"x": 1}\n')
    assert seen == [(20, {"since": "5"})]
    with pytest.raises(KeyError):
        server.set_records("nope", provider)


def test_config_toml_is_a_valid_config_for_the_served_endpoints(
    served: tuple[SimServer, FakeClock],
) -> None:
    server, _ = served
    text = server.config_toml(interval="2s")
    data = tomllib.loads(text)
    assert data["monitor"] == {"interval": "2s"}
    assert [(e["name"], e["preset"], e["metrics_url"]) for e in data["endpoints"]] == [
        (e["name"], e["preset"], e["metrics_url"]) for e in server.endpoints]
    assert [(e["name"], e.get("records_url")) for e in data["endpoints"]] == [
        (e["name"], e["records_url"]) for e in server.endpoints]
    metrics = {r.get("metric") for r in data["rules"]}
    assert {"latency_p95_ms", "error_rate", "drift_share", "drift.*", "accuracy"} <= metrics
    assert any(r.get("kind") == "nodata" for r in data["rules"])  # the shipped default set
    p95 = next(r for r in data["rules"] if r["endpoint"] == "chat-llm")
    assert 15_000 <= p95["threshold"] <= 40_000, "above calm, below the spike"
    from mmtui.config import parse_config

    cfg = parse_config(text, source="<sim>", env={})
    assert [e.name for e in cfg.endpoints] == NAMES


def test_a_custom_fleet_and_scenario_are_checked_against_each_other() -> None:
    solo = EndpointSpec("solo", "triton", (ModelSpec("m", rps=50.0, latency_ms=3.0,
                                                      queue_ms=0.1),))
    sim = Simulator("calm", seed=0, epoch=T0, endpoints=[solo])
    sc = samples(sim.render("solo", 100))
    assert 1200 < value(sc, "nv_inference_request_success", model="m") < 2800  # 40 s, ~50 rps
    with pytest.raises(ValueError, match="no endpoint 'chat-llm'"):
        Simulator("incident", endpoints=[solo])
    with pytest.raises(ValueError, match="exactly one model"):
        EndpointSpec("two", "vllm", solo.models * 2)
    spike = Scenario("s", "one spike", (Incident("latency", "solo", 1.0, 5.0, 3.0, model="x"),))
    with pytest.raises(ValueError, match="no endpoint 'solo/x'"):
        Simulator(spike, endpoints=[solo])


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown scenario 'nope'"):
        SimServer("nope")
    with pytest.raises(ValueError, match="non-loopback"):
        SimServer(host="0.0.0.0")
    with pytest.raises(ValueError, match="seed"):
        Simulator(seed=-1)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("10.0.0.1") and not is_loopback("example.com")
    assert set(SCENARIOS) == {"calm", "incident"}


# ----------------------------------------------------------------------------- the command


def _args(**kw: object) -> argparse.Namespace:
    base: dict[str, object] = dict(host="127.0.0.1", port=0, scenario="calm", seed=0,
                                   write_config=None)
    base.update(kw)
    return argparse.Namespace(**base)


def test_command_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert simulate.run(_args(scenario="nope")) == 2
    assert simulate.run(_args(write_config=str(tmp_path / "missing" / "x.toml"))) == 2
    assert simulate.run(_args(port=70000)) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(line.startswith("mmtui: error: ") for line in err)
    assert "missing/x.toml" in err[1]


def test_command_serves_until_ctrl_c(tmp_path: Path) -> None:
    config = tmp_path / "sim.toml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mmtui", "simulate", "--port", "0", "--scenario", "incident",
         "--write-config", str(config)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in proc.stderr or ():
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        seen: list[str] = []
        while not seen or "serving until Ctrl-C" not in seen[-1]:
            seen.append(lines.get(timeout=30))
        url = seen[0].rsplit(" on ", 1)[1].strip()
        listing = httpx.get(url, timeout=5).json()
        assert [e["name"] for e in listing["endpoints"]] == NAMES
        cfg = tomllib.loads(config.read_text())
        assert [e["metrics_url"] for e in cfg["endpoints"]] == [
            e["metrics_url"] for e in listing["endpoints"]]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    assert not any("Traceback" in line for line in seen + rest)
    assert json.dumps(listing)
