"""The Prometheus source against a real Prometheus (Debian ``prometheus``) scraping the simulator.

The module fixture starts the simulator (scenario ``incident``) and a Prometheus on 127.0.0.1 that
scrapes each simulated endpoint every second as its own job, plus a ``ghost`` job whose target
refuses connections (``up == 0``). The suite pays for one Prometheus start.

Faults a real Prometheus cannot be made to produce on demand (an ``execution`` error, NaN and
±Inf values for every figure, a non-JSON answer, a server that never answers) come from a tiny
loopback HTTP server answering crafted JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import doctest
import json
import math
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import numpy as np
import pytest

import mmtui.feeds.promql as promql
import mmtui.feeds.promsource as promsource
from mmtui.config import Config, EndpointConfig, MonitorConfig, parse_config
from mmtui.feeds.presets import get_preset
from mmtui.feeds.promql import build_plan, glob_regex
from mmtui.feeds.promsource import PromPoll, PromSource
from mmtui.monitor import Monitor
from mmtui.names import PRESETS, SERVING_METRICS
from mmtui.sim import FLEET, SimServer
from mmtui.snapshot import RowSnapshot, Snapshot

BINARY = shutil.which("prometheus")
SCRAPE = 1.0
"""Prometheus' scrape interval here, seconds."""
WINDOW = 10.0
"""Seconds over which both sides compare their figures."""


class ShiftedClock:
    """Real time plus an offset the tests move forward, to put the scenario where they need it."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Prom:
    url: str
    sim: SimServer
    clock: ShiftedClock
    started: float
    """Wall-clock time Prometheus became ready."""
    ghost: str
    """The job whose only target is down."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prom]:
    if BINARY is None:
        pytest.skip("no prometheus on PATH (apt install prometheus)")
    clock = ShiftedClock()
    sim = SimServer("incident", seed=11, clock=clock)
    sim.start()
    tmp = tmp_path_factory.mktemp("prometheus")
    host = sim.url.split("//", 1)[1].rstrip("/")
    jobs = "".join(
        f"  - job_name: {ep.name}\n"
        f"    metrics_path: /models/{ep.name}/metrics\n"
        f"    static_configs: [{{targets: ['{host}']}}]\n"
        for ep in FLEET
    )
    refused = f"127.0.0.1:{_free_port()}"
    jobs += f"  - job_name: ghost\n    static_configs: [{{targets: ['{refused}']}}]\n"
    config = tmp / "prometheus.yml"
    config.write_text(
        f"global:\n  scrape_interval: {SCRAPE:g}s\n  scrape_timeout: 900ms\n"
        f"scrape_configs:\n{jobs}"
    )
    port = _free_port()
    log_path = tmp / "prometheus.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [
            BINARY,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_scraped(url, proc, log_path)
        yield Prom(url, sim, clock, time.time(), "ghost")
    finally:
        sim.stop()  # first: its connections close cleanly, not reset by a killed Prometheus
        proc.kill()
        proc.wait(timeout=10)
        log.close()


def _wait_scraped(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until Prometheus is ready and has scraped every job once."""
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"prometheus exited with {proc.returncode}: {log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.TransportError, ValueError, KeyError):
            r = httpx.get(f"{url}/api/v1/query", params={"query": "count(up)"}, timeout=1.0)
            result = r.json()["data"]["result"]
            if result and int(float(result[0]["value"][1])) == len(FLEET) + 1:
                return
        time.sleep(0.1)
    pytest.fail(f"prometheus at {url} not scraping after 30 s: {log.read_text()[-2000:]}")


def prom_endpoint(prom: Prom, name: str, preset: str, **extra: str) -> str:
    lines = [
        "[[endpoints]]",
        f"name = {json.dumps(name)}",
        f"preset = {json.dumps(preset)}",
        'source = "prometheus"',
        f"prometheus_url = {json.dumps(prom.url)}",
        "selector = " + json.dumps(extra.pop("selector", f'{{job="{name}"}}')),
        f'scrape_interval = "{SCRAPE:g}s"',
    ]
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def rows(snap: Snapshot) -> dict[str, RowSnapshot]:
    return {row.key: row for row in snap.rows}


def set_phase(prom: Prom, phase: float) -> None:
    """Move the simulator's clock forward to ``phase`` seconds into the scenario's cycle."""
    sim = prom.sim.simulator
    cycle = sim.scenario.cycle
    now = (prom.clock() - sim.clock.epoch) % cycle
    prom.clock.offset += (phase - now) % cycle


# --------------------------------------------------------------------------- the real thing


async def test_prometheus_figures_match_direct_polling(prom: Prom) -> None:
    """One Monitor polls each endpoint directly and through Prometheus over the same 10 s.

    Prometheus' window starts and ends at its own scrapes, up to one scrape interval off ours,
    so the two count slightly different requests. Tolerances: throughput 3 % plus three
    standard deviations of the Poisson count of one scrape interval at each end (7 % at
    115 rps, 19 % at 7 rps); error rate 0.03 absolute (``rate`` also misses the first failure of
    a 5xx series that appears inside the window, which derive counts from 0); p95 and mean
    latency 20 % (p95 of 50 to 1,000 requests, interpolated in coarse buckets or read from
    Triton's own summary window). Measured on a 2-core VM: at most 8 %, 0.014, 9 % and 7 %.

    The scenario is put 52 s into its cycle: fraud-scorer's model fraud_xgb fails 25 % of its
    requests, so one error rate is far from zero.
    """
    set_phase(prom, 52.0)
    await asyncio.sleep(1.5 * SCRAPE)  # Prometheus' windows start after the jump
    direct = "".join(
        f"[[endpoints]]\nname = {json.dumps(ep.name)}\npreset = {json.dumps(ep.preset)}\n"
        f"metrics_url = \"{prom.sim.url}models/{ep.name}/metrics\"\n"
        for ep in FLEET
    )
    via = "".join(prom_endpoint(prom, f"prom-{ep.name}", ep.preset,
                                selector=f'{{job="{ep.name}"}}', rate_window=f"{WINDOW:g}s")
                  for ep in FLEET)
    config = parse_config(f"[monitor]\ninterval = \"{WINDOW:g}s\"\n{direct}{via}", env={})
    monitor = Monitor(config)
    await monitor.poll_once()
    await asyncio.sleep(WINDOW)
    snap = await monitor.poll_once()
    got = rows(snap)
    compared = 0
    for ep in FLEET:
        d, p = got[ep.name], got[f"prom-{ep.name}"]
        assert d.status == "up" and p.status == "up", (d.error, p.error)
        keys = {r.model for r in snap.rows if r.endpoint == ep.name}
        assert keys == {r.model for r in snap.rows if r.endpoint == f"prom-{ep.name}"}
        dm, pm = d.metrics, p.metrics
        rps = dm["throughput_rps"]
        assert rps is not None
        rel = 0.03 + 3 * math.sqrt(2 * rps * SCRAPE) / (rps * WINDOW)
        assert pm["throughput_rps"] == pytest.approx(rps, rel=rel), ep.name
        assert dm["error_rate"] is not None and pm["error_rate"] is not None
        assert pm["error_rate"] == pytest.approx(dm["error_rate"], abs=0.03), ep.name
        if dm["latency_p95_ms"] is not None:
            assert pm["latency_p95_ms"] == pytest.approx(dm["latency_p95_ms"], rel=0.2), ep.name
            compared += 1
        assert pm["latency_mean_ms"] == pytest.approx(dm["latency_mean_ms"], rel=0.2), ep.name
    assert compared == 3  # two vLLM histograms, one Triton with summaries
    assert got["prom-fraud-scorer"].metrics["error_rate"] > 0.1  # the burst, seen through PromQL
    xgb = got["prom-fraud-scorer/fraud_xgb"].metrics["error_rate"]
    assert xgb == pytest.approx(got["fraud-scorer/fraud_xgb"].metrics["error_rate"], abs=0.03)


async def test_backfill_puts_history_older_than_the_monitor_into_the_series(prom: Prom) -> None:
    await asyncio.sleep(max(0.0, prom.started + 8.0 - time.time()))  # a few s of history
    config = parse_config(
        "[monitor]\ninterval = \"1s\"\n"
        + prom_endpoint(prom, "fraud-scorer", "triton", backfill="1m")
        + prom_endpoint(prom, "chat-llm", "vllm", backfill="1m"),
        env={},
    )
    monitor = Monitor(config)
    born = time.time()
    seen: list[Snapshot] = []
    monitor.subscribe(seen.append)
    task = asyncio.create_task(monitor.run())
    try:
        async with asyncio.timeout(15):
            while not (seen and all(r.status == "up" for r in seen[-1].rows)):
                await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    for name in ("fraud-scorer", "chat-llm"):
        ring = monitor.buffers.ring(name, None, "throughput_rps")
        assert ring is not None
        t, v = ring.arrays()
        older = v[(t < born) & ~np.isnan(v)]
        assert len(older) >= 3, (name, t - born, v)  # figures from before the process
        assert (older > 0).all()
        assert (t[1:] >= t[:-1]).all()  # oldest first, the live polls after the backfill
    (series,) = monitor.series("fraud-scorer", "fraud_xgb", ["latency_p95_ms"], born - 60)
    old = series.values[series.timestamps < born]
    assert (~np.isnan(old)).sum() >= 3  # per model too, for the drill-down charts


async def test_every_preset_query_is_valid_promql(prom: Prom) -> None:
    """Each preset's one query parses and runs; figures are missing, not failures."""
    async with httpx.AsyncClient() as client:
        for preset in PRESETS:
            generic = None
            if preset == "generic":
                generic = parse_config(
                    "[[endpoints]]\nname='g'\nmetrics_url='http://x'\n[endpoints.metrics]\n"
                    "requests='app_requests_total'\nerrors='app_errors_total'\n"
                    "latency='app_latency_seconds'\nqueue='app_queue_seconds'\n"
                    "inflight='app_inflight'\nmodel_label='model'\n", env={}
                ).endpoints[0].generic
            ep = EndpointConfig(name=preset, metrics_url="", preset=preset, source="prometheus",
                                prometheus_url=prom.url, selector='{job="chat-llm"}',
                                models=("meta-*",), generic=generic)
            poll = await PromSource(ep, get_preset(preset, generic), interval=2.0,
                                    client=client).poll()
            if preset == "vllm":
                assert poll.status == "up" and poll.metrics["throughput_rps"], poll
            else:
                assert poll.status == "error", poll
                assert poll.error == f'Prometheus has no {preset} series for {{job="chat-llm"}}'


async def test_prometheus_failures_become_endpoint_states(prom: Prom) -> None:
    closed = f"http://127.0.0.1:{_free_port()}"
    config = parse_config(
        prom_endpoint(prom, "bad-regex", "vllm", selector='{job=~"("}')
        + prom_endpoint(prom, "nothing", "vllm", selector='{job="no-such-job"}')
        + prom_endpoint(prom, "ghost", "vllm", selector=f'{{job="{prom.ghost}"}}')
        + prom_endpoint(prom, "refused", "vllm").replace(prom.url, closed)
        + prom_endpoint(prom, "chat-llm", "vllm"),
        env={},
    )
    monitor = Monitor(config)
    events: list[tuple[str, str, float, dict[str, Any]]] = []

    class Recorder:
        def event(self, kind: str, endpoint: str, at: float, data: dict[str, Any]) -> None:
            events.append((kind, endpoint, at, data))

    monitor.recorder = Recorder()  # the record/replay feature's hook
    got = rows(await monitor.poll_once())
    assert got["bad-regex"].status == "error"
    assert got["bad-regex"].error is not None
    assert got["bad-regex"].error.startswith("Prometheus bad_data: ")
    assert "missing closing )" in got["bad-regex"].error
    assert got["nothing"].status == "error"
    assert got["nothing"].error == 'Prometheus has no vllm series for {job="no-such-job"}'
    assert got["ghost"].status == "down"
    assert got["ghost"].error == 'Prometheus has every target of {job="ghost"} down'
    assert (got["refused"].status, got["refused"].error) == ("down", "connection refused")
    assert got["chat-llm"].status == "up" and got["chat-llm"].error is None
    for row in got.values():
        assert "\n" not in (row.error or "")
    polls = [e for e in events if e[0] == "prometheus"]
    assert [e[1] for e in polls] == ["bad-regex", "nothing", "ghost", "refused", "chat-llm"]
    replayed = PromPoll.from_json(json.loads(json.dumps(polls[-1][3])))
    assert replayed.status == "up" and replayed.at == polls[-1][2]
    assert replayed.metrics == got["chat-llm"].metrics


# --------------------------------------------------------------------------- crafted answers


class Crafted(ThreadingHTTPServer):
    """Answers /api/v1/query with whatever the test sets (``answer(query) -> (code, ctype,
    body)``); ``hang`` makes it accept and never answer."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _CraftedHandler)
        self.answer: Any = None
        self.hang = threading.Event()
        self.release = threading.Event()
        self.seen: list[dict[str, list[str]]] = []
        self.headers_seen: list[dict[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/prom/"


class _CraftedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Crafted

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        self.server.seen.append(form)
        self.server.headers_seen.append(dict(self.headers))
        if self.server.hang.is_set():
            self.server.release.wait(10)
            return
        code, ctype, body = self.server.answer(form["query"][0])
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def crafted() -> Iterator[Crafted]:
    srv = Crafted()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield srv
    finally:
        srv.release.set()
        srv.shutdown()
        srv.server_close()
        thread.join()


def crafted_endpoint(srv: Crafted, **kw: Any) -> EndpointConfig:
    return EndpointConfig(name="c", metrics_url="", preset="triton", source="prometheus",
                          prometheus_url=srv.url, selector='{job="fraud"}', **kw)


def vector(*series: tuple[dict[str, str], str]) -> str:
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": m, "value": [1.0e9, v]} for m, v in series]}})


async def test_nan_and_inf_values_are_missing_figures(crafted: Crafted) -> None:
    ep = crafted_endpoint(crafted, headers={"Authorization": "Bearer s3cret-token"})
    source = PromSource(ep, get_preset("triton"), interval=2.0)
    plan = source.plan
    requests = set(plan.requests)
    strange = ["NaN", "+Inf", "-Inf"]

    def answer(query: str) -> tuple[int, str, str]:
        ids = re.findall(r'"mmtui_part", "(p\d+)"', query)
        series = []
        for i, pid in enumerate(ids):
            for model in ("fraud_xgb", "fraud_embed"):
                value = "7" if pid in requests else strange[i % 3]
                series.append(({"mmtui_part": pid, "model": model}, value))
        return 200, "application/json", vector(*series)

    crafted.answer = answer
    poll = await source.poll(at=1_000_000_000.0)
    await source.aclose()
    assert poll.status == "up" and poll.error is None
    # Two request counters (success, failure) × two models × 7/s; a NaN failure rate is no
    # failure; every other figure was NaN or ±Inf: missing.
    expected = dict.fromkeys(SERVING_METRICS)
    expected.update(throughput_rps=28.0, error_rate=0.0)
    assert poll.metrics == expected
    assert poll.models == {m: {**expected, "throughput_rps": 14.0}
                           for m in ("fraud_xgb", "fraud_embed")}
    form = crafted.seen[-1]
    assert form["time"] == ["1000000000.000"]
    assert crafted.headers_seen[-1]["Authorization"] == "Bearer s3cret-token"


@pytest.mark.parametrize(
    ("code", "ctype", "body", "status", "error"),
    [
        (422, "application/json",
         '{"status":"error","errorType":"execution","error":"query would load too many\\nsamples"}',
         "error", "Prometheus execution: query would load too many samples"),
        (503, "application/json",
         '{"status":"error","errorType":"timeout","error":"query timed out"}',
         "error", "Prometheus timeout: query timed out"),
        (200, "text/html", "<html>login</html>", "error",
         "not a Prometheus API answer (HTTP 200 OK, text/html)"),
        (200, "application/json",
         '{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}', "error",
         "Prometheus answered 'scalar', expected a vector"),
        (200, "application/json", '{"status":"success","data":{"resultType":"vector","result":'
         '[{"metric":{"mmtui_part":"p0"},"value":[1,"fast"]}]}}',
         "error", "Prometheus sent a sample value 'fast'"),
        (502, "text/plain", "Bad Gateway", "error",
         "not a Prometheus API answer (HTTP 502 Bad Gateway, text/plain)"),
    ],
)
async def test_api_errors_are_one_line_endpoint_errors(
    crafted: Crafted, code: int, ctype: str, body: str, status: str, error: str
) -> None:
    crafted.answer = lambda query: (code, ctype, body)
    source = PromSource(crafted_endpoint(crafted), get_preset("triton"), interval=2.0)
    poll = await source.poll()
    await source.aclose()
    assert (poll.status, poll.error) == (status, error)
    assert all(v is None for v in poll.metrics.values())


async def test_a_server_that_never_answers_is_down_after_the_timeout(crafted: Crafted) -> None:
    crafted.hang.set()
    source = PromSource(crafted_endpoint(crafted, timeout=0.3), get_preset("triton"),
                        interval=2.0)
    poll = await source.poll()
    await source.aclose()
    assert poll.status == "down"
    assert poll.error is not None and "timed out after 0.3s" in poll.error


async def test_secrets_in_headers_never_reach_an_error(crafted: Crafted) -> None:
    crafted.answer = lambda query: (
        400, "application/json",
        '{"status":"error","errorType":"bad_data","error":"token s3cret-token rejected"}')
    source = PromSource(crafted_endpoint(crafted, headers={"X-Token": "s3cret-token"}),
                        get_preset("triton"), interval=2.0)
    poll = await source.poll()
    await source.aclose()
    assert poll.error == "Prometheus bad_data: token *** rejected"


async def test_backfill_step_stays_under_the_point_budget(crafted: Crafted) -> None:
    crafted.answer = lambda query: (200, "application/json", json.dumps(
        {"status": "success", "data": {"resultType": "matrix", "result": []}}))
    source = PromSource(crafted_endpoint(crafted), get_preset("triton"), interval=2.0,
                        clock=lambda: 1_800_000_000.0)
    assert await source.backfill(86400.0) == []
    await source.aclose()
    form = crafted.seen[-1]
    start, end, step = (float(form[k][0]) for k in ("start", "end", "step"))
    assert step == 60.0 and (end - start) / step <= promsource.BACKFILL_POINTS + 1
    assert end - start >= 86400.0
    assert "[75000ms]" in form["query"][0]  # window: step + scrape interval (15 s default)


# --------------------------------------------------------------------------- pure parts


def test_poll_json_round_trip_and_validation() -> None:
    poll = PromPoll(12.5, "up", None, dict.fromkeys(SERVING_METRICS, 1.5),
                    {"m": dict.fromkeys(SERVING_METRICS)})
    assert PromPoll.from_json(json.loads(json.dumps(poll.to_json()))) == poll
    bad: list[object] = [
        [], {"at": "x", "status": "up", "metrics": {}, "models": {}},
        {"at": 1, "status": "sideways", "metrics": {}, "models": {}},
        {"at": 1, "status": "up", "metrics": {"x": "1"}, "models": {}},
        {"at": 1, "status": "up", "metrics": {}, "models": []},
    ]
    for data in bad:
        with pytest.raises(ValueError):
            PromPoll.from_json(data)


def test_plan_per_preset() -> None:
    plan = build_plan(get_preset("vllm"), '{job="chat", env=~"prod|staging",}', 60.0,
                      models=("meta-*",))
    q = plan.query
    assert 'env=~"prod|staging"' in q and ",}" not in q
    assert ('histogram_quantile(0.95, sum by (le) (rate({__name__="vllm:e2e_request_latency_'
            'seconds_bucket", job="chat", env=~"prod|staging", model_name=~"meta-.*"}[60000ms])))'
            ) in q
    # vLLM's HTTP counter is server-wide: summed without the model label, 5xx of POSTs.
    assert ('sum (rate({__name__=~"http_requests|http_requests_total|http_requests_count", '
            'job="chat", env=~"prod|staging", method=~"POST", status=~"5.*", quantile=""}'
            '[60000ms]))') in q
    assert ('sum by (model_name) (rate({__name__=~"vllm:request_success|vllm:request_success_'
            'total|vllm:request_success_count", job="chat", env=~"prod|staging", quantile=""}'
            '[60000ms]))') in q
    tgi = build_plan(get_preset("tgi"), '{job="t"}', 60.0)
    assert " by (" not in tgi.query.replace("by (le)", "")  # no model label: endpoint totals
    assert 'err!~"validation|cancelled|dropped"' in tgi.query


def test_glob_regex_and_doctests() -> None:
    assert glob_regex("a.b*|c?") == "a\\.b.*|c."
    assert glob_regex("[^x]") == "[\\^x]"
    assert glob_regex("x[") == "x\\["
    assert doctest.testmod(promsource).failed == 0
    assert doctest.testmod(promql).failed == 0


def test_rate_window_follows_scrape_and_poll_intervals() -> None:
    ep = EndpointConfig(name="e", metrics_url="", source="prometheus",
                        prometheus_url="http://p", selector='{a="b"}')
    assert promsource.rate_window(ep, 2.0) == 60.0  # 4 × 15 s
    assert promsource.rate_window(ep, 120.0) == 135.0  # a point every 2 min leaves no gap
    fast = EndpointConfig(name="e", metrics_url="", source="prometheus", scrape_interval=1.0,
                          prometheus_url="http://p", selector='{a="b"}', rate_window=30.0)
    assert promsource.rate_window(fast, 2.0) == 30.0


def test_monitor_does_not_scrape_prometheus_endpoints() -> None:
    ep = EndpointConfig(name="p", metrics_url="", preset="vllm", source="prometheus",
                        prometheus_url="http://127.0.0.1:9", selector='{job="p"}')
    monitor = Monitor(Config(monitor=MonitorConfig(interval=1.0), endpoints=(ep,)))
    assert monitor._new_poller()._endpoints == ()
