"""The Monitor end to end: the real simulator on 127.0.0.1 → poll → parse → derive → Snapshot."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mmtui.config import Config, EndpointConfig, MonitorConfig, parse_config
from mmtui.feeds.poller import ScrapeResult
from mmtui.feeds.records import FeedStats, Record
from mmtui.monitor import Monitor
from mmtui.sim.server import SimServer
from mmtui.snapshot import RowSnapshot, Snapshot

EPOCH = 1_800_000_000.0


class FakeClock:
    """Wall-clock time shared by the simulator and the monitor, moved by the test."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(EPOCH)


def _sim(scenario: str, clock: FakeClock) -> Iterator[SimServer]:
    server = SimServer(scenario=scenario, seed=7, clock=clock)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def calm(clock: FakeClock) -> Iterator[SimServer]:
    yield from _sim("calm", clock)


@pytest.fixture
def incident(clock: FakeClock) -> Iterator[SimServer]:
    yield from _sim("incident", clock)


def rows_by_key(snap: Snapshot) -> dict[str, RowSnapshot]:
    return {row.key: row for row in snap.rows}


def monitor_for(server: SimServer, clock: FakeClock, interval: str = "2s") -> Monitor:
    config = parse_config(server.config_toml(interval=interval), source="<sim>", env={})
    return Monitor(config, clock=clock)


async def test_first_scrape_gives_lifetime_figures_and_null_rates(
    calm: SimServer, clock: FakeClock
) -> None:
    monitor = monitor_for(calm, clock)
    snap = await monitor.poll_once()
    rows = rows_by_key(snap)
    assert {r.endpoint for r in snap.rows} == {ep["name"] for ep in calm.endpoints}
    assert all(r.status == "up" for r in snap.rows), [(r.key, r.error) for r in snap.rows]
    llm = rows["chat-llm"]
    assert llm.metrics["throughput_rps"] is None  # one scrape: no rate yet
    assert llm.metrics["latency_p95_ms"] is not None and llm.metrics["latency_p95_ms"] > 0


async def test_two_scrapes_give_rates_and_per_model_rows(calm: SimServer, clock: FakeClock) -> None:
    monitor = monitor_for(calm, clock)
    await monitor.poll_once()
    clock.t += 10.0
    snap = await monitor.poll_once()
    rows = rows_by_key(snap)
    fraud_models = [r for r in snap.rows if r.endpoint == "fraud-scorer" and r.model is not None]
    assert len(fraud_models) >= 2  # Triton hosts several models: one row each
    total = rows["fraud-scorer"].metrics["throughput_rps"]
    assert total is not None and total > 0
    per_model = [r.metrics["throughput_rps"] for r in fraud_models]
    assert sum(v for v in per_model if v is not None) == pytest.approx(total)
    for row in snap.rows:
        assert row.metrics["throughput_rps"] is not None and row.metrics["throughput_rps"] > 0
        err = row.metrics["error_rate"]
        assert err is not None and 0 <= err <= 1
        assert len(row.history["throughput_rps"]) == 2
        assert row.history["throughput_rps"][-1] == row.metrics["throughput_rps"]
        assert row.last_ok == clock.t


async def test_incident_down_endpoint_shows_reason_and_keeps_others_up(
    incident: SimServer, clock: FakeClock
) -> None:
    monitor = monitor_for(incident, clock)
    await monitor.poll_once()
    clock.t = EPOCH + 100.0  # image-classifier is down 95-125 s into the script
    snap = await monitor.poll_once()
    rows = rows_by_key(snap)
    down = rows["image-classifier"]
    assert down.status == "down"
    assert down.error
    assert down.last_ok == EPOCH  # the last good data is kept, with its age
    assert down.history["throughput_rps"][-1] is None  # the outage is a gap in the sparkline
    assert all(r.status == "up" for r in snap.rows if r.endpoint != "image-classifier")
    clock.t = EPOCH + 130.0  # back, as a restarted process (counters from 0)
    snap = await monitor.poll_once()
    back = rows_by_key(snap)["image-classifier"]
    assert back.status == "up"
    rate = back.metrics["throughput_rps"]
    assert rate is None or rate >= 0  # a counter reset never shows as negative traffic


async def test_latency_spike_is_visible(incident: SimServer, clock: FakeClock) -> None:
    monitor = monitor_for(incident, clock)
    await monitor.poll_once()
    clock.t = EPOCH + 6.0
    normal = rows_by_key(await monitor.poll_once())["chat-llm"].metrics["latency_p95_ms"]
    clock.t = EPOCH + 20.0
    await monitor.poll_once()
    clock.t = EPOCH + 26.0
    spiked = rows_by_key(await monitor.poll_once())["chat-llm"].metrics["latency_p95_ms"]
    assert normal is not None and spiked is not None
    assert spiked > 2 * normal


async def test_stale_when_last_good_data_is_older_than_three_intervals(
    calm: SimServer, clock: FakeClock
) -> None:
    monitor = monitor_for(calm, clock, interval="2s")
    await monitor.poll_once()
    clock.t += 5.0
    assert {r.status for r in monitor.snapshot().rows} == {"up"}
    clock.t += 2.0
    assert {r.status for r in monitor.snapshot().rows} == {"stale"}


class _Garbage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = b"this is { not metrics\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


async def test_unparsable_body_is_an_error_with_the_reason(clock: FakeClock) -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/metrics"
        config = Config(
            monitor=MonitorConfig(interval=1.0),
            endpoints=(EndpointConfig(name="bad", metrics_url=url, preset="vllm"),),
        )
        snap = await Monitor(config, clock=clock).poll_once()
    finally:
        httpd.shutdown()
        httpd.server_close()
    (row,) = snap.rows
    assert row.status == "error"
    assert row.error is not None and row.error.startswith("unparsable body: line 1")


async def test_run_publishes_snapshots_and_pauses(calm: SimServer) -> None:
    """The live loop with the real clock: snapshots arrive, pause stops polling, cancel is clean."""
    config = parse_config(calm.config_toml(interval="0.2s"), env={})
    monitor = Monitor(config)
    snaps: list[Snapshot] = []
    got_data = asyncio.Event()

    def on_snapshot(snap: Snapshot) -> None:
        snaps.append(snap)
        if all(r.status == "up" for r in snap.rows):
            got_data.set()

    monitor.subscribe(on_snapshot)
    task = asyncio.create_task(monitor.run())
    try:
        await asyncio.wait_for(got_data.wait(), timeout=10)
        monitor.set_paused(True)
        await asyncio.sleep(0.3)  # let scrapes in flight finish
        assert snaps[-1].paused
        before = [r.last_ok for r in monitor.snapshot().rows]
        await asyncio.sleep(0.6)
        assert [r.last_ok for r in monitor.snapshot().rows] == before
        monitor.set_paused(False)
        monitor.poll_now()
        await asyncio.sleep(0.6)
        assert [r.last_ok for r in monitor.snapshot().rows] != before
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    ticks = [s.tick for s in snaps]
    assert ticks == sorted(ticks)


async def test_after_the_first_cycle_a_cycle_is_ingested_in_the_hop_of_its_snapshot(
    calm: SimServer,
) -> None:
    """The first cycle is ingested as it lands (the first frame waits for it); after that the
    results wait for the publisher, whose one worker-thread hop ingests them all and takes the
    snapshot: a hop per scrape costs the idle TUI two thread wake-ups each."""
    config = parse_config(calm.config_toml(interval="1s"), env={})
    monitor = Monitor(config)
    in_take = threading.local()
    ingested: list[tuple[bool, str]] = []  # (inside a snapshot's hop?, endpoint)
    takes: list[int] = []  # results each snapshot's hop ingested
    take, ingest = monitor._take, monitor.ingest

    def counted_take(arrived: list[ScrapeResult], evaluate: bool | None) -> object:
        in_take.on = True
        try:
            return take(arrived, evaluate)
        finally:
            in_take.on = False
            takes.append(len(arrived))

    def recorded_ingest(result: ScrapeResult) -> object:
        ingested.append((getattr(in_take, "on", False), result.endpoint))
        return ingest(result)

    monitor._take = counted_take  # type: ignore[assignment,method-assign]
    monitor.ingest = recorded_ingest  # type: ignore[assignment,method-assign]
    endpoints = len(config.endpoints)
    task = asyncio.create_task(monitor.run())
    try:
        for _ in range(1000):
            if takes.count(endpoints) >= 2:  # two whole cycles, each in one hop
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError(f"no whole cycle ingested in one hop: {takes}")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    first = [inside for inside, _ in ingested[:endpoints]]
    assert first == [False] * endpoints  # the first cycle: as each result landed
    assert all(inside for inside, _ in ingested[endpoints:])


async def test_monitor_is_the_explorer_for_drill_downs(calm: SimServer, clock: FakeClock) -> None:
    from mmtui.explore import Explorer

    monitor = monitor_for(calm, clock)
    assert isinstance(monitor, Explorer)
    await monitor.poll_once()
    clock.t += 10.0
    await monitor.poll_once()
    (rps, p95) = monitor.series("fraud-scorer", None, ["throughput_rps", "latency_p95_ms"],
                                since=clock.t - 60)
    assert rps.metric == "throughput_rps" and len(rps.timestamps) == len(rps.values) == 2
    assert rps.values[-1] > 0 and p95.values[-1] > 0
    (later,) = monitor.series("fraud-scorer", None, ["throughput_rps"], since=clock.t + 1)
    assert later.values.size == 0
    hist = monitor.feature_histogram("fraud-scorer", "amount", bins=8)
    assert hist is not None and len(hist.bins) == 8
    assert monitor.feature_histogram("chat-llm", "amount") is None  # no records feed there
    names = {r.name for r in monitor.rules_for("chat-llm", None)}
    assert "chat-llm p95 latency" in names and "fraud-scorer p95 latency" not in names


async def test_drift_report_written_for_an_endpoint_with_records(
    incident: SimServer, clock: FakeClock, tmp_path: Path
) -> None:
    monitor = monitor_for(incident, clock)
    for _ in range(12):  # into the fraud drift window (20-100 s)
        clock.t += 5.0
        await monitor.poll_once()
    path = monitor.write_drift_report("fraud-scorer", tmp_path / "reports", why="alert")
    assert path is not None and path.parent == tmp_path / "reports"
    html = path.read_text()
    assert "<html" in html.lower() and "amount" in html and "merchant_category" in html
    assert monitor.write_drift_report("chat-llm", tmp_path / "reports", why="alert") is None


def test_the_dataset_drift_verdict_follows_the_drift_share_rule(tmp_path: Path) -> None:
    """The drift table's dataset verdict uses the threshold of the endpoint's drift_share rule
    (the demo's 0.25), not a fixed half, so the table and the alert agree."""
    baseline = Path(__file__).resolve().parents[1] / "sample_data" / "fraud_validation.csv"
    endpoints = "".join(f"""
[[endpoints]]
name = "{name}"
metrics_url = "http://127.0.0.1:1/metrics"
preset = "triton"
records_url = "{tmp_path / 'records.jsonl'}"
baseline = "{baseline}"
target = "label"
prediction = "prediction"
""" for name in ("fraud", "other"))
    rules = """
[[rules]]
name = "dataset drift"
metric = "drift_share"
op = ">="
threshold = 0.25
endpoint = "fraud"
"""
    monitor = Monitor(parse_config(endpoints + rules, env={}))
    header, *lines = baseline.read_text().splitlines()[:200]
    names = header.split(",")
    items = [Record(str(i), float(i), dict(zip(names[:-2], line.split(",")[:-2], strict=True)),
                    line.split(",")[-2]) for i, line in enumerate(lines)]
    thresholds = {}
    for name in ("fraud", "other"):
        view = monitor.ingest_records(name, items, None, FeedStats())
        assert view.drift is not None
        thresholds[name] = view.drift.drift_share_threshold
    assert thresholds == {"fraud": 0.25, "other": 0.5}
