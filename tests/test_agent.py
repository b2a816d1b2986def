"""The embedded agent: its exposition, its inference log, its HTTP routes, and mmtui watching it
run inside a real uvicorn server."""

from __future__ import annotations

import json
import math
import random
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

from mmtui.agent import REDACTED, Agent, MmtuiAgentMiddleware
from mmtui.agent.asgi import ASGIApp, Receive, Scope, Send
from mmtui.agent.example import build_app, drifted, features_of, load_rows
from mmtui.agent.http import MAX_BODY
from mmtui.agent.log import is_sampled
from mmtui.config import parse_config
from mmtui.feeds.derive import Scrape, derive
from mmtui.feeds.parser import parse
from mmtui.feeds.presets import get_preset
from mmtui.feeds.records import HttpRecordsFeed, LabelUpdate, Record
from mmtui.monitor import Monitor
from mmtui.sim.datasets import FRAUD, validation_path
from mmtui.stats.window import RecordWindow

MODEL = "fraud-scorer"


def lines(body: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in body.splitlines()]


def config_for(agent: Agent, base: str, **baseline: str) -> Monitor:
    text = '[monitor]\ninterval = "1s"\n\n' + agent.endpoint_toml(base, **baseline)
    return Monitor(parse_config(text, source="<agent>", env={}))


# --------------------------------------------------------------------------- /metrics


def test_metrics_text_parses_with_mmtui_and_prometheus_client() -> None:
    agent = Agent(MODEL, buckets=(0.01, 0.1, 1.0))
    latencies = [0.004, 0.01, 0.05, 0.1, 0.3, 2.0, 0.02]
    for i, s in enumerate(latencies):
        agent.observe(s, error=i in (2, 5))
    agent.observe(0.5, model='odd "name"\\')
    text = agent.metrics_text().decode()

    families = parse(text)
    hist = families["mmtui_request_duration_seconds"]
    assert hist.type == "histogram"
    mine = [s for s in hist.samples if s.labels["model"] == MODEL]
    buckets = {s.labels["le"]: s.value for s in mine if s.name.endswith("_bucket")}
    # le is inclusive: 0.01 and 0.1 fall in their own buckets; cumulative counts
    assert buckets == {"0.01": 2, "0.1": 5, "1.0": 6, "+Inf": 7}
    by_name = {s.name: s.value for s in mine if not s.name.endswith("_bucket")}
    assert by_name["mmtui_request_duration_seconds_count"] == 7
    assert by_name["mmtui_request_duration_seconds_sum"] == pytest.approx(sum(latencies))
    assert families["mmtui_requests_total"].type == "counter"
    totals = {s.labels["model"]: s.value for s in families["mmtui_requests_total"].samples}
    assert totals == {MODEL: 7, 'odd "name"\\': 1}
    errors = {s.labels["model"]: s.value for s in families["mmtui_request_errors_total"].samples}
    assert errors == {MODEL: 2, 'odd "name"\\': 0}
    assert families["mmtui_requests_in_flight"].type == "gauge"
    assert families["process_start_time_seconds"].samples[0].value == pytest.approx(
        time.time(), abs=60)

    reference = {f.name: f for f in text_string_to_metric_families(text)}
    assert reference["mmtui_request_duration_seconds"].type == "histogram"
    assert reference["mmtui_requests"].type == "counter"  # prometheus_client drops _total
    ref = {(s.name, tuple(sorted(s.labels.items()))): s.value
           for f in reference.values() for s in f.samples}
    ours = {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in families.values() for s in f.samples}
    assert ref == ours


def test_default_model_series_exist_before_any_request() -> None:
    families = parse(Agent(MODEL).metrics_text().decode())
    (total,) = families["mmtui_requests_total"].samples
    assert total.labels == {"model": MODEL} and total.value == 0
    assert len(families["mmtui_request_duration_seconds"].samples) == 15 + 2  # 14 bounds + Inf


@pytest.mark.parametrize(("prefix", "preset_name"), [("mmtui", "agent"), ("fraud", "generic")])
def test_the_written_preset_derives_every_serving_figure_from_the_agent(
    prefix: str, preset_name: str
) -> None:
    """The config entry the agent writes maps its names onto mmtui's derived metrics: the
    ``agent`` preset for the default prefix, ``generic`` with the names for another."""
    agent = Agent(MODEL, prefix=prefix)
    config = parse_config(agent.endpoint_toml("http://127.0.0.1:1/"), env={})
    (ep,) = config.endpoints
    assert ep.preset == preset_name
    preset = get_preset(ep.preset, ep.generic)
    first = Scrape(100.0, parse(agent.metrics_text().decode(), only=preset.families))
    for i in range(100):
        agent.observe(0.02 if i < 90 else 0.6, error=i % 25 == 0)
    agent.metrics.started()
    second = Scrape(110.0, parse(agent.metrics_text().decode(), only=preset.families))
    m = derive(preset, second, first).metrics
    assert m["throughput_rps"] == pytest.approx(10.0)
    assert m["error_rate"] == pytest.approx(0.04)
    assert m["latency_mean_ms"] == pytest.approx((90 * 20 + 10 * 600) / 100)
    assert 10.0 < m["latency_p50_ms"] <= 25.0  # type: ignore[operator]  # in the 10-25 ms bucket
    assert 500.0 < m["latency_p95_ms"] <= 750.0  # type: ignore[operator]
    assert m["inflight"] == 1


def test_bad_parameters_are_refused_with_what_is_wrong() -> None:
    for kwargs, message in [
        ({"sample_rate": 1.5}, "sample_rate must be between 0 and 1"),
        ({"capacity": 0}, "capacity must be an integer >= 1"),
        ({"buckets": (0.1, 0.1)}, "strictly increasing"),
        ({"buckets": (0.1, math.inf)}, "finite positive"),
        ({"prefix": "9lives"}, "is not a metric name"),
        ({"redact": "email"}, "collection of names"),
    ]:
        with pytest.raises(ValueError, match=message):
            Agent(MODEL, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="model must be a non-empty string"):
        Agent("")


def test_concurrent_observe_and_record_lose_nothing() -> None:
    agent = Agent(MODEL, capacity=100_000)
    threads, per_thread = 8, 2000

    def work(k: int) -> None:
        for i in range(per_thread):
            agent.observe(0.001 * (i % 50), error=i % 10 == 0)
            agent.record({"x": i, "k": k}, i % 2, id=f"{k}-{i}")

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    families = parse(agent.metrics_text().decode())
    n = threads * per_thread
    assert families["mmtui_requests_total"].samples[0].value == n
    assert families["mmtui_request_errors_total"].samples[0].value == n // 10
    inf = [s for s in families["mmtui_request_duration_seconds"].samples
           if s.labels.get("le") == "+Inf"]
    assert inf[0].value == n
    body, cursor = agent.records_body(limit=n)
    seqs = [line["seq"] for line in lines(body)]
    assert seqs == list(range(1, n + 1)) and cursor == n
    assert len({line["id"] for line in lines(body)}) == n


# --------------------------------------------------------------------------- /records


def test_sampling_rate_is_honoured_and_labels_follow_their_records() -> None:
    n, rate = 20_000, 0.1
    agent = Agent(MODEL, sample_rate=rate, capacity=n)
    ids = [f"req-{i}" for i in range(n)]
    for rid in ids:
        agent.record({"x": 1.0}, 0, id=rid)
    kept = {line["id"] for line in lines(agent.records_body(limit=n)[0])}
    sd = math.sqrt(n * rate * (1 - rate))
    assert abs(len(kept) - n * rate) < 5 * sd
    labelled = {rid for rid in ids[:2000] if agent.label(rid, 1)}
    assert labelled == kept & set(ids[:2000])  # the same ids: request and label agree
    stats = agent.stats()
    assert (stats.records_seen, stats.records_kept) == (n, len(kept))
    assert (stats.labels_seen, stats.labels_kept) == (2000, len(labelled))


def test_sampling_without_ids_is_random_and_seeded() -> None:
    def run(seed: int) -> tuple[int, bytes]:
        agent = Agent(MODEL, sample_rate=0.25, seed=seed, clock=lambda: 1.0)
        ids = [agent.record({"x": float(i)}, 0) for i in range(8000)]
        assert len(set(ids)) == 8000
        body = agent.records_body(limit=8000)[0]
        assert {line["id"] for line in lines(body)} == {i for i in ids if is_sampled(i, 0.25)}
        return len(lines(body)), body

    count, body = run(11)
    assert abs(count - 2000) < 5 * math.sqrt(8000 * 0.25 * 0.75)
    assert run(11)[1] == body
    assert run(12)[1] != body


def test_redacted_values_never_reach_the_log() -> None:
    secrets = {"email": "jane.doe@example.com", "SSN": "078-05-1120"}
    agent = Agent(MODEL, redact=("email", "ssn"))
    agent.record({"amount": 12.5, **secrets}, 1, id="a")
    with agent.track({"amount": 3.0, "Email": secrets["email"]}, id="b") as t:
        t.prediction = 0
    agent.label("a", 1)
    body = agent.records_body()[0]
    for value in secrets.values():
        assert value.encode() not in body
    first, second, _ = lines(body)
    assert first["features"] == {"amount": 12.5, "email": REDACTED, "SSN": REDACTED}
    assert second["features"] == {"amount": 3.0, "Email": REDACTED}


def test_ring_buffer_is_bounded_and_a_late_cursor_reads_from_the_oldest_line() -> None:
    agent = Agent(MODEL, capacity=50)
    for i in range(120):
        agent.record({"x": i}, 0, id=i)
    body, cursor = agent.records_body()
    got = lines(body)
    assert [g["seq"] for g in got] == list(range(71, 121)) and cursor == 120
    assert agent.stats().lines == 50
    assert [g["seq"] for g in lines(agent.records_body(after=10)[0])] == list(range(71, 121))


def test_cursor_reads_each_line_once() -> None:
    agent = Agent(MODEL)
    assert agent.records_body() == (b"", None)
    for i in range(5):
        agent.record({"x": i}, i, id=f"r{i}", ts=1_700_000_000.0 + i)
    body, cursor = agent.records_body(limit=3)
    assert [g["id"] for g in lines(body)] == ["r0", "r1", "r2"] and cursor == 3
    body, cursor = agent.records_body(cursor)
    assert [g["id"] for g in lines(body)] == ["r3", "r4"] and cursor == 5
    assert agent.records_body(cursor) == (b"", 5)
    agent.label("r1", 1)
    body, cursor = agent.records_body(cursor)
    assert lines(body) == [{"seq": 6, "id": "r1", "label": 1}] and cursor == 6
    # a cursor from before a restart (beyond the last seq) reads from the oldest line
    assert lines(agent.records_body(after=999)[0])[0]["seq"] == 1


def test_values_become_protocol_scalars_or_are_refused_by_name() -> None:
    agent = Agent(MODEL)
    agent.record({"i": np.int64(3), "f": np.float32(0.5), "b": np.bool_(True), "nan": math.nan,
                  "s": "FR", "none": None}, np.int64(1), id="n")
    (line,) = lines(agent.records_body()[0])
    assert line["features"] == {"i": 3, "f": 0.5, "b": True, "nan": None, "s": "FR", "none": None}
    assert line["prediction"] == 1
    with pytest.raises(TypeError, match="feature 'emb' is a list"):
        agent.record({"emb": [0.1, 0.2]}, 0)
    with pytest.raises(TypeError, match="feature 'v' is a ndarray"):
        agent.record({"v": np.zeros(3)}, 0)
    with pytest.raises(ValueError, match="label is null"):
        agent.label("n", None)


def test_track_times_logs_and_counts_failures() -> None:
    agent = Agent(MODEL)
    with agent.track({"x": 1.0}) as t:
        assert agent.metrics_text().count(b'mmtui_requests_in_flight{model="fraud-scorer"} 1')
        t.prediction = 1
    with pytest.raises(RuntimeError), agent.track({"x": 2.0}, id="boom"):
        raise RuntimeError("model crashed")
    (line,) = lines(agent.records_body()[0])
    assert line["id"] == t.id and line["prediction"] == 1  # the failed one logs nothing
    families = parse(agent.metrics_text().decode())
    assert families["mmtui_requests_total"].samples[0].value == 2
    assert families["mmtui_request_errors_total"].samples[0].value == 1
    assert families["mmtui_requests_in_flight"].samples[0].value == 0


# --------------------------------------------------------------------------- HTTP, stdlib server


async def test_mmtui_reads_the_agent_records_and_joins_late_labels() -> None:
    agent = Agent(MODEL)
    server = agent.serve(path_prefix="/monitoring")
    try:
        for i in range(3):
            agent.record({"amount": 10.0 * i, "country": "FR"}, i % 2, id=f"t{i}")
        feed = HttpRecordsFeed(server.url + "records", limit=2)
        async with httpx.AsyncClient() as client:
            first = await feed.poll(client)  # two pages of two lines and one
            assert [type(x) for x in first] == [Record] * 3 and feed.cursor == 3
            reply = await client.post(server.url + "labels",
                                      json=[{"id": "t0", "label": 0}, {"id": "t2", "label": 1}])
            assert reply.json() == {"received": 2, "kept": 2}
            late = await feed.poll(client)
            assert late == [LabelUpdate("t0", 0), LabelUpdate("t2", 1)]
            assert await feed.poll(client) == []  # each line once
        window = RecordWindow(100)
        window.add(first)
        window.add(late)
        y_true, y_pred = window.labeled()
        assert list(y_true) == ["0", "1"] and list(y_pred) == ["0", "0"]
    finally:
        server.close()


def test_http_routes_refuse_bad_requests_with_one_line() -> None:
    agent = Agent(MODEL)
    server = agent.serve()
    try:
        with httpx.Client(base_url=server.url) as client:
            assert client.get("records", params={"after": "x"}).json() == {
                "error": "after: expected an integer >= 0, got 'x'"}
            assert client.get("records", params={"limit": "0"}).status_code == 400
            r = client.post("metrics")
            assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
            assert client.get("nope").status_code == 404
            assert client.post("labels", content=b"{").status_code == 400
            r = client.post("labels", json=[{"id": "a", "label": 1}, {"id": "b"}])
            assert r.status_code == 400 and "item 1" in r.json()["error"]
            assert agent.records_body() == (b"", None)  # all or nothing
            r = client.post("labels", content=b"x" * (MAX_BODY + 1))
            assert r.status_code == 413
            r = client.get("metrics")
            assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    finally:
        server.close()


def test_the_agent_imports_only_the_standard_library() -> None:
    script = ("import sys, mmtui.agent; "
              "print(sorted(m for m in sys.modules if m.split('.')[0] in "
              "('numpy', 'httpx', 'textual', 'scipy', 'starlette', 'uvicorn')))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- ASGI in uvicorn


@contextmanager
def uvicorn_serving(app: ASGIApp) -> Iterator[str]:
    """A real uvicorn server on a free loopback port, in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


async def test_middleware_times_the_app_and_serves_under_its_prefix() -> None:
    agent = Agent(MODEL)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/crash":
            raise RuntimeError("boom")
        status = {"/missing": 404, "/unavailable": 503}.get(scope["path"], 200)
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"hi"})

    wrapped = MmtuiAgentMiddleware(
        app, agent, path_prefix="/-/mmtui/",
        model_of=lambda scope: None if scope["path"] == "/healthz" else "m",
    )
    with uvicorn_serving(wrapped) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            for path in ("/ok", "/ok", "/missing", "/unavailable", "/crash", "/healthz"):
                await client.get(path)
            assert (await client.get("/metrics")).text == "hi"  # the app's, not the agent's
            text = (await client.get("/-/mmtui/metrics")).text
    families = parse(text)
    totals = {s.labels["model"]: s.value for s in families["mmtui_requests_total"].samples}
    errors = {s.labels["model"]: s.value for s in families["mmtui_request_errors_total"].samples}
    assert totals == {MODEL: 0, "m": 6}  # /healthz untimed; /metrics passed to the app, timed
    assert errors == {MODEL: 0, "m": 2}  # 503 and the exception; a 404 is traffic


async def test_standalone_asgi_app_serves_only_the_agent() -> None:
    agent = Agent(MODEL)
    agent.record({"x": 1}, 0, id="r")
    with uvicorn_serving(agent.asgi_app()) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            assert (await client.get("/elsewhere")).status_code == 404
            assert lines((await client.get("/records")).content)[0]["id"] == "r"
            head = await client.head("/metrics")
            assert head.status_code == 200 and head.content == b""
    assert b'mmtui_requests_total{model="fraud-scorer"} 0' in agent.metrics_text()


async def _predict(client: httpx.AsyncClient, rid: str, features: dict[str, object]) -> int:
    """POST one transaction; the prediction, or -1 when the server failed."""
    reply = await client.post("/predict", json={"id": rid, "features": features})
    return int(reply.json()["prediction"]) if reply.status_code == 200 else -1


async def test_mmtui_monitors_the_agent_in_a_real_server_drift_included() -> None:
    """Done when: the agent inside a uvicorn model server, real traffic, and mmtui's Monitor
    shows throughput, latency, errors, quality from late labels, and drift when it happens."""
    agent = Agent(MODEL, sample_rate=0.5, redact=("email",))
    rows = load_rows()
    rng = random.Random(3)
    baseline = {"baseline": str(validation_path(FRAUD)), "target": "label",
                "prediction": "prediction"}
    with uvicorn_serving(build_app(agent)) as base:
        monitor = config_for(agent, base, **baseline)
        async with httpx.AsyncClient(base_url=base) as client:
            truth: dict[str, int] = {}

            async def send(n: int, *, shift: bool = False, failures: int = 0) -> dict[str, int]:
                """``n`` transactions (and ``failures`` unreadable ones); predictions by id."""
                sent: dict[str, int] = {}
                for _ in range(n):
                    row = rng.choice(rows)
                    rid = f"txn-{len(truth)}"
                    truth[rid] = int(row["label"])
                    features: dict[str, object] = {**features_of(drifted(row, rng) if shift
                                                                 else row)}
                    features["email"] = f"{rid}@example.com"
                    sent[rid] = await _predict(client, rid, features)
                for i in range(failures):
                    assert await _predict(client, f"bad-{i}", {"amount": "n/a"}) == -1
                return sent

            calm = await send(300, failures=3)
            first = (await monitor.poll_once()).rows[0]
            assert first.status == "up" and first.metrics["throughput_rps"] is None
            calm |= await send(300, failures=6)
            labels = [{"id": rid, "label": truth[rid]} for rid in calm]
            kept = (await client.post("/labels", json=labels)).json()["kept"]
            row = (await monitor.poll_once()).rows[0]

            m = row.metrics
            assert row.status == "up" and row.error is None
            assert m["throughput_rps"] is not None and m["throughput_rps"] > 0
            assert m["error_rate"] == pytest.approx(6 / 306)
            assert m["latency_p95_ms"] is not None and m["latency_p95_ms"] > 0
            assert m["latency_mean_ms"] is not None and m["latency_mean_ms"] > 0
            records = row.records
            assert records is not None and records.status == "ok", records
            sampled = [rid for rid in calm if agent.sampled(rid)]
            assert records.records == len(sampled) == kept and records.labeled == kept
            accuracy = sum(calm[rid] == truth[rid] for rid in sampled) / len(sampled)
            assert m["accuracy"] == pytest.approx(accuracy)
            assert records.drift is not None and records.drift.drifted_features == []
            assert m["drift_share"] == 0.0

            await send(600, shift=True)
            row = (await monitor.poll_once()).rows[0]
            drift = row.records.drift if row.records is not None else None
            assert drift is not None
            assert {"amount", "channel"} <= set(drift.drifted_features)
            assert not {"country", "card_type", "txn_hour"} & set(drift.drifted_features)
            assert row.metrics["drift_share"] == pytest.approx(
                len(drift.drifted_features) / len(drift.features))
            assert row.metrics["drift.amount"] > row.metrics["drift.country"]  # type: ignore[operator]
        body = agent.records_body(limit=10_000)[0]
        assert b"@example.com" not in body  # redacted before it was stored


def test_example_runs_and_writes_a_config_mmtui_reads(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mmtui.agent.example", "--port", "0", "--rate", "200",
         "--write-config", str(config)],
        stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stderr is not None
        url = None
        for line in proc.stderr:
            found = re.search(r"http://127\.0\.0\.1:\d+/", line)
            if found:
                url = found.group(0)
                break
        assert url is not None, "the example did not print its URL"
        parsed = parse_config(config.read_text(), source=str(config), env={})
        (ep,) = parsed.endpoints
        assert ep.metrics_url == url + "metrics" and ep.baseline is not None
        deadline = time.monotonic() + 10
        requests = 0.0
        while requests < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
            try:
                text = httpx.get(ep.metrics_url).text
            except httpx.TransportError:  # printed just before uvicorn starts listening
                continue
            requests = parse(text)["mmtui_requests_total"].samples[0].value
        assert requests >= 20, "the example's own traffic did not arrive"
    finally:
        proc.terminate()
        proc.wait(10)


def test_doctests() -> None:
    import doctest

    import mmtui.agent.agent
    import mmtui.agent.log

    for module in (mmtui.agent.agent, mmtui.agent.log):
        assert doctest.testmod(module).failed == 0
