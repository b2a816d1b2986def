"""The alerts service on a real SQLite file with real HTTP peers on 127.0.0.1: snapshots in,
alerts, the event log, history and notifications out; acks and silences from another connection
(as ``mmtui alerts`` makes them); a restart that repeats nothing; silences mirrored to a real
Alertmanager."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from mmtui.alerts.channel_config import ChannelConfig
from mmtui.alerts.rules import Rule, RuleOverride
from mmtui.alerts.service import AlertService, AlertsView
from mmtui.alerts.state import Alert
from mmtui.alerts.store import COARSE, FINE, Store
from mmtui.config import Config, EndpointConfig, MonitorConfig
from mmtui.monitor import Monitor
from mmtui.snapshot import RowSnapshot, Snapshot
from tests.test_alertmanager import alertmanager, hook  # noqa: F401 (fixtures)

T0 = 1_714_564_800.0  # 2024-05-01T12:00:00Z
ANA = "ana@jump1"

RULES = (
    Rule("slow", "latency_p95_ms", ">", 250.0, for_=10.0, severity="critical"),
    Rule("model errors", "error_rate", ">", 0.05, model="m1", severity="warning"),
    Rule("feature drift", "drift.*", ">", 0.2, severity="info"),
    Rule("dataset drift", "drift_share", ">=", 0.5, severity="warning"),
    Rule("accuracy floor", "accuracy", "<", 0.85, severity="critical", compliance=True),
    Rule("down", kind="nodata", for_=10.0, severity="critical"),
)


# --------------------------------------------------------------------------- a receiver


class Receiver(ThreadingHTTPServer):
    """Records every POSTed JSON body by path; answers 200 (PagerDuty gets 202)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.hits: list[tuple[str, Any]] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def bodies(self, path: str) -> list[Any]:
        with self.lock:
            return [body for p, body in self.hits if p == path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Receiver

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.hits.append((self.path, json.loads(raw)))
        body = b'{"status": "success"}'
        self.send_response(202 if self.path == "/pd" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    srv = Receiver()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join()


def channels(receiver: Receiver) -> tuple[ChannelConfig, ...]:
    """A webhook at /hook and PagerDuty at /pd, for every severity, retrying fast."""
    return (
        ChannelConfig(type="webhook", name="hook", url=receiver.url("/hook"),
                      min_severity="info", backoff=0.01, max_backoff=0.02),
        ChannelConfig(type="pagerduty", name="pd", url=receiver.url("/pd"), routing_key="rk",
                      min_severity="info", backoff=0.01, max_backoff=0.02),
    )


# --------------------------------------------------------------------------- helpers


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def row(endpoint: str, *, status: str = "up", model: str | None = None,
        drift: dict[str, float] | None = None, **metrics: float | None) -> RowSnapshot:
    """An endpoint (or model) row; ``drift`` gives ``drift.<feature>`` values."""
    values = {**metrics, **{f"drift.{k}": v for k, v in (drift or {}).items()}}
    return RowSnapshot(endpoint, model, "triton", status, None, T0, values)


def snap(t: float, *rows: RowSnapshot) -> Snapshot:
    return Snapshot(at=t, tick=int(t - T0), paused=False, interval=2.0, rows=rows)


def healthy(t: float, p95: float = 100.0) -> Snapshot:
    return snap(t, row("api", latency_p95_ms=p95, error_rate=0.0))


def by_rule(view: AlertsView) -> dict[str, Alert]:
    return {a.rule: a for a in view.alerts}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    with Store(path) as s:
        yield s


def service_for(store: Store, clock: Clock, receiver: Receiver | None = None,
                **kw: Any) -> AlertService:
    config = Config(rules=RULES, channels=channels(receiver) if receiver else ())
    return AlertService(config, store=store, clock=clock, bell=lambda: None, **kw)


# --------------------------------------------------------------------------- tests


async def test_pending_firing_resolved_with_notifications_and_the_event_log(
    store: Store, path: Path, clock: Clock, receiver: Receiver
) -> None:
    service = service_for(store, clock, receiver)
    try:
        view = await service.tick(healthy(T0, p95=300.0))
        assert by_rule(view)["slow"].state == "pending"
        with Store(path) as shell:  # on disk, for other processes
            assert [a.state for a in shell.alerts(T0)] == ["pending"]
        view = await service.tick(healthy(T0 + 10, p95=320.0))
        slow = by_rule(view)["slow"]
        assert slow.state == "firing" and slow.value == 320.0
        assert await service.drain(10.0) == 0
        view = await service.tick(healthy(T0 + 20, p95=100.0))
        assert by_rule(view)["slow"].state == "resolved"
        assert await service.drain(10.0) == 0
    finally:
        await service.aclose()
    firing, resolved = receiver.bodies("/hook")
    assert [a["status"] for a in firing["alerts"]] == ["firing"]
    assert [a["status"] for a in resolved["alerts"]] == ["resolved"]
    assert firing["alerts"][0]["fingerprint"] == resolved["alerts"][0]["fingerprint"] == (
        slow.fingerprint)
    assert firing["alerts"][0]["labels"] == {"alertname": "slow", "endpoint": "api",
                                             "severity": "critical"}
    assert [(e["event_action"], e["dedup_key"]) for e in receiver.bodies("/pd")] == [
        ("trigger", slow.fingerprint), ("resolve", slow.fingerprint)]
    with Store(path) as shell:
        events = shell.events(slow.id)
    assert [e.detail["to"] for e in events if e.kind == "transition"] == [
        "pending", "firing", "resolved"]
    sent = sorted((e.detail["channel"], e.detail["kind"], e.detail["ok"])
                  for e in events if e.kind == "notification")
    assert sent == [("hook", "firing", True), ("hook", "resolved", True),
                    ("pd", "firing", True), ("pd", "resolved", True)]


async def test_every_metric_of_every_row_is_evaluated(store: Store, clock: Clock) -> None:
    service = service_for(store, clock)
    rows = (
        row("fraud", latency_p95_ms=10.0, drift_share=0.6, accuracy=0.7,
            drift={"amount": 0.4, "country": 0.1}),
        row("fraud", model="m1", error_rate=0.3),
        row("fraud", model="m2", error_rate=0.3),
        row("api", status="down", latency_p95_ms=None),
    )
    view = await service.tick(snap(T0, *rows))
    await service.aclose()
    got = {(a.rule, a.endpoint, a.model, a.feature, a.state) for a in view.alerts}
    assert got == {
        ("dataset drift", "fraud", None, None, "firing"),
        ("feature drift", "fraud", None, "amount", "firing"),
        ("accuracy floor", "fraud", None, None, "firing"),
        ("model errors", "fraud", "m1", None, "firing"),
        ("down", "api", None, None, "pending"),
    }
    assert by_rule(view)["accuracy floor"].compliance


async def test_an_ack_made_elsewhere_is_picked_up_and_sent_as_acknowledge(
    store: Store, path: Path, clock: Clock, receiver: Receiver
) -> None:
    service = service_for(store, clock, receiver)
    try:
        await service.tick(healthy(T0, p95=300.0))
        slow = by_rule(await service.tick(healthy(T0 + 10, p95=300.0)))["slow"]
        with Store(path) as shell:  # `mmtui alerts ack` in another process
            shell.ack(slow.id[:5], ANA, note="rolling back", now=T0 + 12)
        view = await service.tick(healthy(T0 + 14, p95=300.0))
        ack = by_rule(view)["slow"].ack
        assert ack is not None and (ack.by, ack.note, ack.at) == (ANA, "rolling back", T0 + 12)
        assert view.unhandled == ()
        assert await service.drain(10.0) == 0
        clock.t = T0 + 15
        service.unack(slow.id, who=ANA)  # the TUI's key: a worker thread in real life
        view = await service.tick(healthy(T0 + 16, p95=300.0))
        assert by_rule(view)["slow"].ack is None and view.unhandled == (by_rule(view)["slow"],)
        assert await service.drain(10.0) == 0
    finally:
        await service.aclose()
    assert [e["event_action"] for e in receiver.bodies("/pd")] == [
        "trigger", "acknowledge", "trigger"]
    assert {e["dedup_key"] for e in receiver.bodies("/pd")} == {slow.fingerprint}
    assert len(receiver.bodies("/hook")) == 1  # webhooks carry no acks and no unacks


async def test_ack_expiry_renotifies(store: Store, clock: Clock, receiver: Receiver) -> None:
    service = service_for(store, clock, receiver)
    try:
        await service.tick(healthy(T0, p95=300.0))
        slow = by_rule(await service.tick(healthy(T0 + 10, p95=300.0)))["slow"]
        clock.t = T0 + 11
        service.ack(slow.id, note="5 minutes", expires=300.0, who=ANA)
        assert by_rule(await service.tick(healthy(T0 + 12, p95=300.0)))["slow"].ack is not None
        view = await service.tick(healthy(T0 + 320, p95=300.0))
        assert by_rule(view)["slow"].ack is None
        assert await service.drain(10.0) == 0
    finally:
        await service.aclose()
    assert [d["alerts"][0]["status"] for d in receiver.bodies("/hook")] == ["firing", "firing"]


async def test_a_silence_mutes_until_it_is_expired(
    store: Store, clock: Clock, receiver: Receiver
) -> None:
    service = service_for(store, clock, receiver)
    try:
        silence = service.silence(["endpoint=api", 'alertname="slow"'], 3600, "deploy", who=ANA)
        await service.tick(healthy(T0, p95=300.0))
        view = await service.tick(healthy(T0 + 10, p95=300.0))
        slow = by_rule(view)["slow"]
        assert slow.state == "firing" and slow.silenced_by == (silence.id,)
        assert view.silences == (silence,) and view.unhandled == ()
        assert await service.drain(10.0) == 0
        assert receiver.bodies("/hook") == [] and receiver.bodies("/pd") == []
        clock.t = T0 + 20
        service.expire_silence(silence.short_id, who=ANA)
        view = await service.tick(healthy(T0 + 22, p95=300.0))
        assert by_rule(view)["slow"].silenced_by == () and view.silences == ()
        assert await service.drain(10.0) == 0
    finally:
        await service.aclose()
    assert len(receiver.bodies("/hook")) == 1 and len(receiver.bodies("/pd")) == 1


async def test_a_restart_resumes_without_repeating_notifications(
    path: Path, clock: Clock, receiver: Receiver
) -> None:
    with Store(path) as store:
        first = service_for(store, clock, receiver)
        await first.tick(healthy(T0, p95=300.0))
        await first.tick(healthy(T0 + 10, p95=300.0))
        assert await first.drain(10.0) == 0
        await first.aclose()
    assert len(receiver.bodies("/hook")) == 1
    with Store(path) as store:
        second = service_for(store, clock, receiver)
        view = await second.tick(healthy(T0 + 60, p95=300.0))
        assert by_rule(view)["slow"].state == "firing"
        assert await second.drain(10.0) == 0
        assert len(receiver.bodies("/hook")) == 1  # still firing: nothing sent again
        await second.tick(healthy(T0 + 62, p95=100.0))
        assert await second.drain(10.0) == 0
        await second.aclose()
    statuses = [d["alerts"][0]["status"] for d in receiver.bodies("/hook")]
    assert statuses == ["firing", "resolved"]


async def test_rule_overrides_from_the_store_apply_at_the_next_tick(
    store: Store, path: Path, clock: Clock
) -> None:
    service = service_for(store, clock)
    await service.tick(healthy(T0, p95=300.0))
    assert by_rule(await service.tick(healthy(T0 + 10, p95=300.0)))["slow"].state == "firing"
    with Store(path) as shell:
        shell.set_override(RuleOverride("slow", threshold=400.0, by=ANA), now=T0 + 11)
    view = await service.tick(healthy(T0 + 12, p95=300.0))
    await service.aclose()
    assert by_rule(view)["slow"].state == "resolved"


async def test_drift_hook_is_called_once_when_a_drift_alert_starts_firing(
    store: Store, clock: Clock
) -> None:
    calls: list[str] = []
    service = service_for(store, clock, on_drift_firing=calls.append)
    drifting = row("fraud", drift_share=0.6, drift={"amount": 0.1})
    await service.tick(snap(T0, drifting, row("api", latency_p95_ms=900.0)))
    await service.tick(snap(T0 + 10, drifting, row("api", latency_p95_ms=900.0)))
    await service.tick(snap(T0 + 12, row("fraud", drift_share=0.6, drift={"amount": 0.5})))
    await service.aclose()
    assert calls == ["fraud", "fraud"]  # drift_share at T0, then drift.amount at T0 + 12


async def test_history_is_coarse_then_fine_and_seeds_the_monitor_series(
    store: Store, clock: Clock
) -> None:
    from mmtui.alerts.state import Observation

    start = T0 - 3 * 3600  # sparse for two hours, then every 5 s for the last hour
    for k in [*range(0, 2 * 3600, 60), *range(2 * 3600, 3 * 3600, 5)]:
        store.add_history(start + k, [Observation("api", None, "latency_p95_ms", float(k))])
    store.flush()
    service = service_for(store, clock)
    ((key, points),) = service.history(T0 - 86400).items()
    assert key == ("api", None, "latency_p95_ms")
    times = [t for t, _ in points]
    assert times == sorted(set(times))
    coarse = [t for t in times if t < T0 - 3600]
    assert coarse and all(t % COARSE == 0 for t in coarse)
    assert all(b - a == COARSE for a, b in zip(coarse, coarse[1:], strict=False))
    fine = [t for t in times if t >= T0 - 3600]
    assert len(fine) == 3600 // FINE and all(b - a == FINE for a, b in zip(fine, fine[1:],
                                                                            strict=False))
    assert points[-1] == (T0 - FINE, (3 * 3600 - 10 + 3 * 3600 - 5) / 2)  # a bucket's mean
    config = Config(monitor=MonitorConfig(history=5000),
                    endpoints=(EndpointConfig("api", "http://127.0.0.1:9/metrics", "vllm"),),
                    rules=RULES)
    monitor = Monitor(config, clock=clock, alerts=AlertService(config, store=store, clock=clock))
    assert await monitor.seed_history() == len(points)
    ring = monitor.buffers.ring("api", None, "latency_p95_ms")
    assert ring is not None and ring.arrays()[0].tolist() == times


async def test_silences_are_mirrored_to_a_real_alertmanager(
    store: Store, alertmanager: str,  # noqa: F811
) -> None:
    config = Config(rules=RULES, channels=(ChannelConfig(
        type="alertmanager", name="am", url=alertmanager, backoff=0.01, max_backoff=0.02),))
    service = AlertService(config, store=store, clock=time.time)

    def mirrors(sid: str) -> list[dict[str, Any]]:
        listing = httpx.get(f"{alertmanager}/api/v2/silences", timeout=5).json()
        return [s for s in listing if s["comment"].endswith(f"[mmtui silence {sid}]")]

    try:
        silence = service.silence(["endpoint=~fraud-.*", "severity!=info"], 600, "card testing",
                                  who=ANA)
        await service.tick(snap(time.time(), row("fraud-scorer")))
        assert await service.drain(10.0) == 0
        (mirror,) = mirrors(silence.id)
        assert mirror["status"]["state"] == "active" and mirror["createdBy"] == ANA
        assert sorted((m["name"], m["value"], m["isRegex"], m["isEqual"])
                      for m in mirror["matchers"]) == [
            ("endpoint", "fraud-.*", True, True), ("severity", "info", False, False)]
        service.expire_silence(silence.id, who=ANA)
        await service.tick(snap(time.time(), row("fraud-scorer")))
        assert await service.drain(10.0) == 0
        assert [m["status"]["state"] for m in mirrors(silence.id)] == ["expired"]
    finally:
        await service.aclose()
    results = [e.detail for e in store.events() if e.kind == "notification"]
    assert [(r["kind"], r["ok"], r["silence"]) for r in results] == [
        ("silence", True, silence.id), ("unsilence", True, silence.id)]


async def test_a_paused_monitor_is_not_evaluated_and_snapshots_carry_the_alerts(
    store: Store, clock: Clock
) -> None:
    config = Config(endpoints=(EndpointConfig("api", "http://127.0.0.1:9/metrics", "vllm"),),
                    rules=(Rule("down", kind="nodata", for_=0.0),))
    service = AlertService(config, store=store, clock=clock)
    monitor = Monitor(config, clock=clock, alerts=service)
    monitor.set_paused(True)
    clock.t = T0 + 60  # never polled and paused: frozen figures are no evidence of an outage
    snap = await monitor.refresh()
    assert snap.alerts == () and store.alerts() == []
    monitor.set_paused(False)
    await monitor.poll_once()  # nothing listens on port 9: down
    snap = await monitor.refresh()
    assert [(a.rule, a.state) for a in snap.alerts] == [("down", "firing")]
    assert monitor.snapshot().alerts == snap.alerts  # later snapshots keep the last evaluation
    await service.aclose()


async def test_a_restarted_monitor_waits_for_rates_before_evaluating(
    path: Path, clock: Clock, receiver: Receiver
) -> None:
    """A first scrape has no rates: evaluated, it would resolve the restored alert (and notify
    resolved, then firing again)."""
    from mmtui.sim.server import SimServer

    with SimServer(scenario="calm", seed=1, clock=clock) as sim:
        ep = next(e for e in sim.endpoints if e["name"] == "chat-llm")
        config = Config(
            endpoints=(EndpointConfig("chat-llm", str(ep["metrics_url"]), "vllm"),),
            rules=(Rule("traffic", "throughput_rps", ">", 0.0),),
            channels=channels(receiver),
        )
        for restart in range(2):
            with Store(path) as store:
                service = AlertService(config, store=store, clock=clock)
                monitor = Monitor(config, clock=clock, alerts=service)
                first = await monitor.poll_once()
                assert first.rows[0].metrics["throughput_rps"] is None
                assert [a.state for a in first.alerts] == ([] if restart == 0 else ["firing"])
                clock.t += 2
                second = await monitor.poll_once()
                assert [a.state for a in second.alerts] == ["firing"]
                assert await service.drain(10.0) == 0
                await service.aclose()
                clock.t += 2
        with Store(path) as store:
            transitions = [e.detail["to"] for e in store.events() if e.kind == "transition"]
    assert transitions == ["firing"]
    assert [d["status"] for d in receiver.bodies("/hook")] == ["firing"]


async def test_resume_applies_an_ack_without_new_figures(
    store: Store, path: Path, clock: Clock, receiver: Receiver
) -> None:
    """A paused monitor resumes instead of ticking: the ack shows and PagerDuty hears of it."""
    service = service_for(store, clock, receiver)
    try:
        await service.tick(healthy(T0, p95=300.0))
        slow = by_rule(await service.tick(healthy(T0 + 10, p95=300.0)))["slow"]
        with Store(path) as shell:
            shell.ack(slow.id, ANA, now=T0 + 11)
        clock.t = T0 + 12
        view = await service.resume()
        assert by_rule(view)["slow"].ack is not None and by_rule(view)["slow"].state == "firing"
        assert await service.drain(10.0) == 0
    finally:
        await service.aclose()
    assert [e["event_action"] for e in receiver.bodies("/pd")] == ["trigger", "acknowledge"]
