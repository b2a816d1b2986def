"""The simulator's ``incident`` scenario end to end: the real simulator on 127.0.0.1 → Monitor →
AlertService → a real SQLite file → webhook and PagerDuty receivers on 127.0.0.1.

One run (a module fixture, about 60 polls) steps a fake clock shared by the simulator and the
monitor through the 180 s script and on to 232 s, 4 s a poll, and records what the store logged
and what the receivers got. Mid-incident, another connection to the state file acknowledges the
chat-llm latency alert with a note and silences fraud-scorer's error alert, as ``mmtui alerts``
does from a shell. The tests then check each alert's pending → firing → resolved times against
the script (see :mod:`mmtui.sim.scenarios`), within the slack the rules' ``for`` and the
incidents' ramps give. Drift and accuracy come from the simulator's inference records; those
tests skip when the simulator serves none.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mmtui.alerts.service import AlertService
from mmtui.alerts.state import parse_matcher
from mmtui.alerts.store import Event, Store
from mmtui.config import Config, parse_config
from mmtui.monitor import Monitor
from mmtui.sim.server import SimServer
from mmtui.snapshot import Snapshot
from tests.test_alert_service import Receiver

EPOCH = 1_800_000_000.0
STEP = 4.0
END = 232.0
ANA, BEN = "ana@jump1", "ben@jump1"
NO_RECORDS = "simulator records not available yet"

RULES = """
[[rules]]
name = "chat latency"
metric = "latency_p95_ms"
op = ">"
threshold = 25000             # calm p95 is 9-17 s; the spike (8-38 s) takes it to 30-65 s
for = "8s"
endpoint = "chat-llm"
severity = "critical"

[[rules]]
name = "error rate"
metric = "error_rate"
op = ">"
threshold = 0.05
for = "8s"
endpoint = "*"
model = ""                    # endpoint rows: one alert per endpoint
severity = "critical"

[[rules]]
name = "endpoint down"
kind = "nodata"
for = "10s"
severity = "critical"

[[rules]]
name = "dataset drift"
metric = "drift_share"
op = ">="
threshold = 0.2               # 2 of fraud-scorer's 10 features, 2 of sentiment's 6
for = "8s"
keep_firing_for = "20s"       # a window statistic flickers at the edge: one incident, one alert
severity = "warning"

[[rules]]
name = "accuracy floor"
metric = "accuracy"
op = "<"
threshold = 0.85
clear = 0.87
for = "8s"
severity = "critical"
compliance = true

[[rules]]
name = "watch-time error"
metric = "mae"
op = ">"
threshold = 235               # calm 180-220 s of watch time
for = "8s"
severity = "warning"
"""


def channels(receiver: Receiver) -> str:
    return f"""
[[channels]]
type = "webhook"
name = "hook"
url = "{receiver.url('/hook')}"
min_severity = "info"
backoff = "10ms"
max_backoff = "20ms"

[[channels]]
type = "pagerduty"
name = "pd"
url = "{receiver.url('/pd')}"
routing_key = "test-routing-key"
min_severity = "critical"
backoff = "10ms"
max_backoff = "20ms"
"""


class Clock:
    def __init__(self) -> None:
        self.t = EPOCH

    def __call__(self) -> float:
        return self.t


@dataclass
class Run:
    """What one pass through the script left behind."""

    events: list[Event]
    snapshots: dict[float, Snapshot]
    """By seconds into the script."""
    hook: list[dict[str, Any]]
    pd: list[dict[str, Any]]
    drift_reports: list[tuple[str, float]]
    records: bool
    """The simulator serves inference records (drift and quality)."""
    silence_id: str = ""
    acked: str = ""
    """Fingerprint of the alert acknowledged mid-incident."""

    def timeline(self, rule: str, endpoint: str) -> list[tuple[str, float]]:
        """(new state, seconds into the script) of every transition of one alert."""
        return [(str(e.detail["to"]), e.at - EPOCH) for e in self.events
                if e.kind == "transition" and e.detail["rule"] == rule
                and e.detail["endpoint"] == endpoint]

    def fingerprint(self, rule: str, endpoint: str) -> str:
        fps = {e.fingerprint for e in self.events if e.kind == "transition"
               and e.detail["rule"] == rule and e.detail["endpoint"] == endpoint}
        (fp,) = fps
        assert fp is not None
        return fp

    def webhook_alerts(self) -> list[tuple[str, str, str]]:
        """(status, alertname, endpoint) of every alert the webhook got, in order."""
        return [(a["status"], a["labels"]["alertname"], a["labels"]["endpoint"])
                for doc in self.hook for a in doc["alerts"]]


async def _drive(tmp: Path, receiver: Receiver) -> Run:
    clock = Clock()
    with SimServer(scenario="incident", seed=7, clock=clock) as sim:
        records = any(ep["records_url"] for ep in sim.endpoints)
        base = parse_config(sim.config_toml(interval="2s"), source="<sim>", env={})
        ours = parse_config(RULES + channels(receiver), source="<test>", env={})
        config: Config = dataclasses.replace(base, rules=ours.rules, channels=ours.channels)
        path = tmp / "state.db"
        store, shell = Store(path), Store(path)  # the monitor's, and `mmtui alerts` beside it
        drift_reports: list[tuple[str, float]] = []
        service = AlertService(
            config, store=store, clock=clock, bell=lambda: None,
            on_drift_firing=lambda ep: drift_reports.append((ep, clock.t - EPOCH)),
        )
        monitor = Monitor(config, clock=clock, alerts=service)
        run = Run([], {}, [], [], drift_reports, records)
        try:
            t = 0.0
            while t <= END:
                clock.t = EPOCH + t
                run.snapshots[t] = await monitor.poll_once()
                assert await service.drain(10.0) == 0
                if t == 24.0:  # chat-llm's latency alert fires since 20 s: ack it
                    (alert,) = [a for a in shell.alerts(clock.t) if a.rule == "chat latency"]
                    shell.ack(alert.id, ANA, note="rolling back", now=clock.t + 1)
                    run.acked = alert.fingerprint
                if t == 48.0:  # fraud-scorer's error burst is known: silence it for a minute
                    silence = shell.add_silence(
                        [parse_matcher("endpoint=fraud-scorer"),
                         parse_matcher('alertname="error rate"')],
                        ends_at=clock.t + 60, created_by=BEN, reason="bad deploy, rolling back",
                        now=clock.t + 1,
                    )
                    run.silence_id = silence.id
                t += STEP
        finally:
            await service.aclose()
            run.events = shell.events()
            store.close()
            shell.close()
    run.hook, run.pd = receiver.bodies("/hook"), receiver.bodies("/pd")
    return run


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield asyncio.run(_drive(tmp_path_factory.mktemp("incident"), receiver))
    finally:
        receiver.shutdown()
        receiver.server_close()
        thread.join()


def states(timeline: list[tuple[str, float]]) -> list[str]:
    return [s for s, _ in timeline]


def at(timeline: list[tuple[str, float]], state: str, n: int = 0) -> float:
    """When the alert entered ``state`` the ``n``-th time."""
    return [t for s, t in timeline if s == state][n]


# --------------------------------------------------------------------------- serving


def test_latency_spike_on_chat_llm(run: Run) -> None:
    tl = run.timeline("chat latency", "chat-llm")
    assert states(tl)[:3] == ["pending", "firing", "resolved"]
    pending, firing, resolved = at(tl, "pending"), at(tl, "firing"), at(tl, "resolved")
    assert 8 <= pending <= 8 + 2 * STEP  # the spike ramps in from 8 s
    assert firing == pending + 8  # `for`, on the 4 s grid
    assert 38 <= resolved <= 38 + 2 * STEP
    assert at(tl, "pending", 1) >= 180 + 8  # and again in the next cycle


def test_error_bursts_on_fraud_scorer_and_code_llm(run: Run) -> None:
    fraud = run.timeline("error rate", "fraud-scorer")
    assert states(fraud)[:3] == ["pending", "firing", "resolved"]
    assert all(t >= 180 + 50 for _, t in fraud[3:])  # the next cycle's burst
    assert 50 <= at(fraud, "pending") <= 50 + 2 * STEP
    assert at(fraud, "firing") == at(fraud, "pending") + 8
    assert 80 <= at(fraud, "resolved") <= 80 + 2 * STEP
    code = run.timeline("error rate", "code-llm")
    firing = at(code, "firing")
    assert 140 <= firing <= 140 + 8 + 2 * STEP
    assert all(t >= 140 for s, t in code if s == "firing")  # a lone bad scrape never fires
    assert 165 <= at(code, "resolved") <= 165 + 2 * STEP
    quiet = ("chat-llm", "image-classifier", "recsys-ranker", "sentiment")
    assert all(run.timeline("error rate", ep) == [] for ep in quiet)


def test_nodata_on_image_classifier_and_inhibition(run: Run) -> None:
    tl = run.timeline("endpoint down", "image-classifier")
    assert tl == [("pending", 96.0), ("firing", 108.0), ("resolved", 128.0)]  # down 95-125 s
    down = run.snapshots[112.0]
    alert = next(a for a in down.alerts if a.rule == "endpoint down")
    assert alert.state == "firing" and alert.threshold == 10 and alert.value == 16.0
    assert {r.status for r in down.rows if r.endpoint == "image-classifier"} == {"down"}
    others = {e.detail["endpoint"] for e in run.events
              if e.kind == "transition" and e.detail["rule"] == "endpoint down"}
    assert others == {"image-classifier"}


# --------------------------------------------------------------------------- people


def test_an_ack_made_beside_the_monitor_is_shown_and_sent_to_pagerduty(run: Run) -> None:
    snap = run.snapshots[28.0]
    (alert,) = [a for a in snap.alerts if a.rule == "chat latency"]
    assert alert.fingerprint == run.acked and alert.state == "firing"
    assert alert.ack is not None and (alert.ack.by, alert.ack.note) == (ANA, "rolling back")
    assert alert.to_json()["acked_by"] == ANA and alert.to_json()["ack_note"] == "rolling back"
    mine = [(e["event_action"], e["dedup_key"]) for e in run.pd if e["dedup_key"] == run.acked]
    assert mine[:3] == [("trigger", run.acked), ("acknowledge", run.acked),
                        ("resolve", run.acked)]
    kinds = [e.kind for e in run.events if e.fingerprint == run.acked]
    assert kinds.index("ack") < kinds.index("ack_cleared")  # resolving drops the ack
    assert next(a for a in run.snapshots[44.0].alerts if a.rule == "chat latency").ack is None


def test_a_silence_mutes_fraud_scorer_errors_but_nothing_else(run: Run) -> None:
    (alert,) = [a for a in run.snapshots[64.0].alerts
                if a.rule == "error rate" and a.endpoint == "fraud-scorer"]
    assert alert.state == "firing" and alert.silenced_by == (run.silence_id,)
    fp = run.fingerprint("error rate", "fraud-scorer")
    assert [e for e in run.pd if e["dedup_key"] == fp] == []  # muted while it fired
    sent = run.webhook_alerts()
    assert [s for s in sent if s[1:] == ("error rate", "fraud-scorer")] == []
    assert ("firing", "error rate", "code-llm") in sent  # other alerts still notify
    assert ("resolved", "error rate", "code-llm") in sent
    assert ("firing", "endpoint down", "image-classifier") in sent


# --------------------------------------------------------------------------- records


def test_drift_alerts_on_fraud_scorer_and_sentiment(run: Run) -> None:
    if not run.records:
        pytest.skip(NO_RECORDS)
    fraud = run.timeline("dataset drift", "fraud-scorer")
    assert states(fraud)[:3] == ["pending", "firing", "resolved"]
    assert 20 < at(fraud, "pending") < 100  # drift in the records 20-100 s
    assert 100 < at(fraud, "resolved")  # once the window no longer holds drifted records
    sentiment = run.timeline("dataset drift", "sentiment")
    assert states(sentiment)[:3] == ["pending", "firing", "resolved"]
    assert 60 < at(sentiment, "pending") < 140 < at(sentiment, "resolved")
    assert run.timeline("dataset drift", "recsys-ranker") == []  # a concept shift only
    assert run.drift_reports[:2] == [("fraud-scorer", at(fraud, "firing")),
                                     ("sentiment", at(sentiment, "firing"))]


def test_quality_alerts_on_fraud_scorer_and_recsys_ranker(run: Run) -> None:
    if not run.records:
        pytest.skip(NO_RECORDS)
    accuracy = run.timeline("accuracy floor", "fraud-scorer")
    assert states(accuracy) == ["pending", "firing", "resolved"]
    assert 110 < at(accuracy, "pending")  # the concept shift (110-170 s), seen as labels arrive
    assert 170 < at(accuracy, "resolved")
    firing = next(a for a in run.snapshots[at(accuracy, "firing")].alerts
                  if a.rule == "accuracy floor")
    assert firing.compliance and firing.value is not None and firing.value < 0.85
    mae = run.timeline("watch-time error", "recsys-ranker")
    assert states(mae)[:3] == ["pending", "firing", "resolved"]
    assert 30 < at(mae, "pending") and 90 < at(mae, "resolved")  # concept shift 30-90 s
    fp = run.fingerprint("accuracy floor", "fraud-scorer")
    assert [e["event_action"] for e in run.pd if e["dedup_key"] == fp] == ["trigger", "resolve"]
