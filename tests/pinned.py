"""Pinned sample data for the TUI's tests, its SVG snapshots and the README screenshot.

:class:`Clock` and :class:`FakeSource` are the settable clock and the hand-published
SnapshotSource that the Pilot tests drive. :class:`PinnedSource` is a whole fleet frozen at
:data:`NOW`: one :class:`~mmtui.snapshot.Snapshot` (:func:`fleet`) of eight rows (a multi-model
LLM endpoint, one endpoint down with its reason, one stale), a drift result computed from the
shipped fraud validation data against a seeded drifted window, alerts in every state, history
for the charts, and a real alert service over a real SQLite store. Nothing here reads the wall
clock or an unseeded generator, so every drawing of it is the same.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from textual.pilot import Pilot

from mmtui.alerts.rules import Rule, RuleOverride, Severity
from mmtui.alerts.service import AlertService
from mmtui.alerts.state import Ack, Alert, State, fingerprint, sort_key
from mmtui.alerts.store import Store
from mmtui.config import Config, load_config
from mmtui.explore import FeatureHistogram, SeriesData
from mmtui.feeds.records import FeedStats
from mmtui.names import (
    ERROR_RATE,
    INFLIGHT,
    LATENCY_MEAN,
    LATENCY_P50,
    LATENCY_P95,
    LATENCY_P99,
    QUEUE,
    THROUGHPUT,
    Metrics,
)
from mmtui.sim.datasets import FRAUD, data_dir
from mmtui.sim.sample_data import build_baseline
from mmtui.snapshot import STATUS_DOWN, STATUS_STALE, STATUS_UP, RowSnapshot, Snapshot
from mmtui.stats.concept import QualityReport
from mmtui.stats.drift import DriftResult, compute_drift
from mmtui.stats.profile import Profile
from mmtui.stats.quality import classification_metrics
from mmtui.tracking import RecordsView, drift_score, feature_histogram, records_metrics
from mmtui.ui.app import MmtuiApp

NOW = 1_700_000_000.0
"""The pinned wall-clock time (2023-11-14T22:13:20Z)."""
INTERVAL = 2.0


class Clock:
    """A settable wall clock."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeSource:
    """A SnapshotSource whose snapshots the test publishes by hand."""

    def __init__(self, *, fail: Exception | None = None, finish: bool = False) -> None:
        self.paused = False
        self.polls = 0
        self.callbacks: list[Callable[[Snapshot], None]] = []
        self.started = asyncio.Event()
        self._fail = fail
        self._finish = finish

    def subscribe(self, callback: Callable[[Snapshot], None]) -> None:
        self.callbacks.append(callback)

    def set_paused(self, paused: bool) -> None:
        self.paused = paused

    def poll_now(self) -> None:
        self.polls += 1

    async def run(self) -> None:
        self.started.set()
        if self._fail is not None:
            raise self._fail
        if not self._finish:
            await asyncio.Event().wait()

    def publish(self, snapshot: Snapshot) -> None:
        for callback in self.callbacks:
            callback(snapshot)


# ----------------------------------------------------------------------------- the fleet

LATENCIES = (LATENCY_P50, LATENCY_P95, LATENCY_P99, LATENCY_MEAN, QUEUE)
QUALITY = ("accuracy", "precision", "recall", "f1")
"""Quality figures move a tenth as much as serving figures (and stay fractions)."""
SPARK_POINTS = 60
"""Sparkline history per row, as the Monitor keeps it."""


@dataclass(frozen=True, slots=True)
class Incident:
    """``metrics`` were ``1 / (1 + rise)`` of their current value until ``start`` seconds ago;
    then they climbed (linearly, or at once with ``step``) to it."""

    metrics: tuple[str, ...]
    rise: float
    start: float
    step: bool = False

    def factor(self, age: np.ndarray) -> np.ndarray:
        before = 1.0 / (1.0 + self.rise)
        if self.step:
            return np.where(age > self.start, before, 1.0)
        done = np.clip(1.0 - age / self.start, 0.0, 1.0)
        return before + (1.0 - before) * done


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One row of the fleet: its current figures and how they moved (a slow wave, a swing of
    a minute and a half, jitter that is a fixed function of time, incidents), ending at
    ``last_ok``."""

    endpoint: str
    model: str | None
    preset: str
    p95: float
    rps: float
    err: float
    last_ok: float = NOW
    status: str = STATUS_UP
    error: str | None = None
    incidents: tuple[Incident, ...] = ()
    wave: float = 0.06
    swing: float = 0.2
    jitter: float = 0.05

    @property
    def key(self) -> str:
        return self.endpoint if self.model is None else f"{self.endpoint}/{self.model}"

    def figures(self) -> dict[str, float]:
        """Every derived serving metric, from p95, throughput and error rate."""
        mean = 0.55 * self.p95
        return {
            LATENCY_P50: 0.45 * self.p95, LATENCY_P95: self.p95, LATENCY_P99: 1.4 * self.p95,
            LATENCY_MEAN: mean, QUEUE: 0.08 * self.p95, THROUGHPUT: self.rps,
            ERROR_RATE: self.err, INFLIGHT: round(self.rps * mean / 1000.0, 1),
        }

    def values(self, metric: str, current: float, ts: np.ndarray) -> np.ndarray:
        """``metric`` at the times ``ts``: ``current`` at :data:`NOW`, NaN after ``last_ok``."""
        phase = zlib.crc32(f"{self.key} {metric}".encode()) % 1000 / 1000 * 2 * np.pi
        quiet = 0.1 if metric in QUALITY else 1.0
        age = NOW - ts

        def shape(a: np.ndarray) -> np.ndarray:
            slow = 1 + quiet * self.wave * np.sin(2 * np.pi * a / 1500.0 + phase)
            swing = 1 + quiet * self.swing * np.sin(2 * np.pi * a / 90.0 + 2 * phase)
            fast = np.sin(a * 0.9 + phase) * 0.6 + np.sin(a * 2.3 + 2 * phase) * 0.4
            return slow * swing * (1 + quiet * self.jitter * fast)

        out = current * shape(age) / shape(np.zeros(1))
        for incident in self.incidents:
            if metric in incident.metrics:
                out = out * incident.factor(age)
        return np.where(ts <= self.last_ok, out, np.nan)


FLEET = (
    Endpoint("fraud-scorer", None, "triton", 38.2, 412.6, 0.0021),
    Endpoint("chat-llm", None, "vllm", 31_840.0, 4.3, 0.0047, swing=0.08,
             incidents=(Incident(LATENCIES, 0.9, 240.0),)),
    Endpoint("chat-llm", "llama-3-8b", "vllm", 31_840.0, 3.1, 0.0065, swing=0.08,
             incidents=(Incident(LATENCIES, 0.9, 240.0),)),
    Endpoint("chat-llm", "mistral-7b", "vllm", 12_410.0, 1.2, 0.0),
    Endpoint("sentiment", None, "torchserve", 84.0, 57.9, 0.063,
             incidents=(Incident((ERROR_RATE,), 25.0, 420.0, step=True),)),
    Endpoint("recsys-ranker", None, "triton", 61.0, 230.4, 0.0008, last_ok=NOW - 14.0,
             status=STATUS_STALE),
    Endpoint("embedder", None, "tgi", 22.0, 95.0, 0.0, last_ok=NOW - 95.0, status=STATUS_DOWN,
             error="connection refused: http://10.0.4.17:8080/metrics [Errno 111]"),
    Endpoint("search-rerank", None, "kserve", 17.6, 1284.0, 0.0003),
)
"""The fleet, in overview order; every row's last good scrape is at or before NOW."""
FRAUD_WINDOW, FRAUD_SEED, FRAUD_DRIFT = 800, 7, 0.8
"""Records in fraud-scorer's window, the seed they are drawn with, and the drift strength."""
ACK_NOTE = "bad tokenizer in v42; rolling back to v41"
OVERRIDE = RuleOverride("accuracy floor", for_=600.0, by="ana@jump1", at=NOW - 3600.0)
"""A run-time edit stored in the state file: the rules console (sorted by name, so this rule
is highlighted) shows who made it, when."""


@cache
def rules() -> tuple[Rule, ...]:
    """The shipped default rules (``sample_data/rules.toml``)."""
    return load_config(data_dir() / "rules.toml").rules


@cache
def fraud_profile() -> Profile:
    """fraud-scorer's baseline: the shipped validation CSV, profiled."""
    return build_baseline(FRAUD)


@cache
def fraud_window() -> dict[str, np.ndarray]:
    """fraud-scorer's records window: a seeded card-testing campaign (amounts, merchant
    categories and channel drift), labels included."""
    n = FRAUD_WINDOW
    rows = FRAUD.generate(np.random.default_rng(FRAUD_SEED), np.full(n, FRAUD_DRIFT), np.zeros(n))
    return rows.table()


@cache
def fraud_drift() -> DriftResult:
    return compute_drift(fraud_profile(), fraud_window())


@cache
def fraud_records() -> RecordsView:
    """What the records tracker would report on :func:`fraud_window`."""
    profile, window = fraud_profile(), fraud_window()
    metrics = classification_metrics(window["label"], window["prediction"])
    quality = QualityReport(
        task="classification", n_labeled=FRAUD_WINDOW, metrics=metrics,
        baseline=dict(profile.quality),
        change={k: v - profile.quality[k] for k, v in metrics.items() if k in profile.quality},
        errors_seen=FRAUD_WINDOW, error_estimate=1.0 - metrics["accuracy"], detections=(),
    )
    feed = FeedStats(records=48_213, labels=31_877, bad={"missing feature": 2},
                     last_bad='missing feature: {"id": "txn-0x3f1", "amount": 12.5}')
    return RecordsView(status="ok", error=None, records=FRAUD_WINDOW, labeled=FRAUD_WINDOW,
                       feed=feed, drift=fraud_drift(), quality=quality)


def spark_times() -> np.ndarray:
    return NOW - INTERVAL * np.arange(SPARK_POINTS - 1, -1, -1, dtype=np.float64)


def row(ep: Endpoint) -> RowSnapshot:
    """``ep`` as the Monitor publishes it: no figures while down, sparklines of the last
    :data:`SPARK_POINTS` polls (gaps after the last good scrape)."""
    figures = ep.figures()
    records = fraud_records() if ep.key == "fraud-scorer" else None
    metrics: Metrics = {} if ep.status == STATUS_DOWN else dict(figures)
    if records is not None:
        metrics.update(records_metrics(records))
    ts = spark_times()
    history: dict[str, tuple[float | None, ...]] = {}
    for metric in (LATENCY_P95, LATENCY_MEAN, THROUGHPUT, ERROR_RATE):
        values = ep.values(metric, figures[metric], ts)
        history[metric] = tuple(None if np.isnan(v) else float(v) for v in values)
    last_ok = ep.last_ok
    return RowSnapshot(ep.endpoint, ep.model, ep.preset, ep.status, ep.error, last_ok, metrics,
                       history, records)


def alert(
    rule: str, endpoint: str, *, severity: Severity, state: State, age: float,
    value: float, threshold: float, summary: str, feature: str | None = None,
    active: float | None = None, ack: Ack | None = None, compliance: bool = False,
) -> Alert:
    """An alert of a rule of :func:`rules`, ``age`` seconds in its state."""
    labels = {"alertname": rule, "endpoint": endpoint, "severity": severity}
    if feature is not None:
        labels["feature"] = feature
    since = NOW - age
    return Alert(
        fingerprint=fingerprint(labels), rule=rule, endpoint=endpoint, model=None,
        feature=feature, metric="", severity=severity, state=state, since=since,
        active_at=NOW - (active if active is not None else age), value=value,
        threshold=threshold, labels=labels, annotations={"summary": summary},
        compliance=compliance, ack=ack, notified=state == "firing",
        fired_at=None if state == "pending" else since,
    )


def alerts() -> tuple[Alert, ...]:
    """Firing critical (one acknowledged with a note), pending warning, a compliance bound,
    a drifted feature, one resolved; most urgent first as the service orders them."""
    drift = fraud_drift()
    worst = max(drift.features, key=drift_score)
    found = (
        alert("LLM p95 latency", "chat-llm", severity="critical", state="firing", age=75.0,
              active=105.0, value=31_840.0, threshold=30_000.0,
              summary="chat-llm: p95 latency 31840 ms > 30000 ms"),
        alert("endpoint down", "embedder", severity="critical", state="firing", age=75.0,
              value=95.0, threshold=20.0, summary="embedder: no metrics for 95s"),
        alert("error rate", "sentiment", severity="critical", state="firing", age=400.0,
              active=410.0, value=0.063, threshold=0.05, summary="sentiment: error rate 6.3%",
              ack=Ack("ana@jump1", NOW - 240.0, ACK_NOTE)),
        alert("error budget", "sentiment", severity="warning", state="firing", age=120.0,
              active=420.0, value=0.063, threshold=0.01, compliance=True,
              summary="sentiment: error budget burning (6.3% errors, objective 1%)"),
        alert("error rate elevated", "sentiment", severity="warning", state="firing", age=390.0,
              active=420.0, value=0.063, threshold=0.02, summary="sentiment: error rate 6.3%"),
        alert("dataset drift", "fraud-scorer", severity="warning", state="pending", age=12.0,
              value=drift.drift_share, threshold=0.25,
              summary=f"fraud-scorer: {drift.drift_share:.0%} of features drifted"),
        alert("feature drift", "fraud-scorer", severity="info", state="firing", age=40.0,
              active=70.0, value=drift_score(worst), threshold=0.15, feature=worst.name,
              summary=f"fraud-scorer: feature {worst.name} drifted "
                      f"(JS distance {drift_score(worst):.2f})"),
        alert("p95 latency vs baseline", "recsys-ranker", severity="warning", state="resolved",
              age=540.0, active=900.0, value=58.0, threshold=96.0,
              summary="recsys-ranker: p95 latency 58 ms, over 3× its usual (96 ms)"),
    )
    return tuple(sorted(found, key=sort_key))


def fleet() -> Snapshot:
    """The one snapshot the pinned source publishes."""
    return Snapshot(at=NOW, tick=42, paused=False, interval=INTERVAL,
                    rows=tuple(row(ep) for ep in FLEET), alerts=alerts())


class PinnedSource(FakeSource):
    """Holds :func:`fleet` (:func:`until_shown` publishes it) and answers the drill-downs (an
    :class:`~mmtui.explore.Explorer`); ``alerts`` is a real AlertService over a real store at
    ``state`` holding :data:`OVERRIDE`. The caller closes it."""

    def __init__(self, state: Path) -> None:
        super().__init__()
        self.clock = Clock()
        store = Store(state)
        store.set_override(OVERRIDE)
        self.alerts = AlertService(Config(rules=rules()), store=store, clock=self.clock)
        self.snapshot = fleet()
        """Built here, not on the event loop: the drift test takes a few milliseconds."""

    def close(self) -> None:
        self.alerts.store.close()

    def series(
        self, endpoint: str, model: str | None, metrics: Sequence[str], since: float
    ) -> list[SeriesData]:
        ep = next((e for e in FLEET if (e.endpoint, e.model) == (endpoint, model)), None)
        if ep is None:
            return []
        step = max(INTERVAL, (NOW - since) / 600)
        ts = NOW - step * np.arange(int((NOW - since) // step), -1, -1, dtype=np.float64)
        current: Mapping[str, float | None] = ep.figures()
        if ep.key == "fraud-scorer":
            quality = fraud_records().quality
            current = {**current, **(quality.metrics if quality is not None else {})}
        return [
            SeriesData(m, ts, ep.values(m, value, ts))
            for m in metrics if (value := current.get(m)) is not None
        ]

    def feature_histogram(
        self, endpoint: str, feature: str, bins: int = 20
    ) -> FeatureHistogram | None:
        if endpoint != "fraud-scorer" or feature not in fraud_window():
            return None
        values = fraud_window()[feature]
        return feature_histogram(endpoint, fraud_profile(), feature, values, bins)

    def rules_for(self, endpoint: str, model: str | None) -> Sequence[Rule]:
        return [r for r in rules() if r.matches_series(endpoint, model)]


def pinned_app(state: Path) -> MmtuiApp:
    """The app over a :class:`PinnedSource` whose store is the file ``state``, at the pinned
    time, in the default theme. Close ``app.source`` after the run."""
    source = PinnedSource(state)
    return MmtuiApp(source, clock=source.clock)


async def until_shown(pilot: Pilot[int]) -> None:
    """Publish the pinned snapshot once the app runs, and wait until it reaches the screens.

    Published from here rather than from ``run()``: the overview subscribes when it mounts,
    which may come after the source's worker has started.
    """
    app = pilot.app
    assert isinstance(app, MmtuiApp) and isinstance(app.source, PinnedSource)
    await app.source.started.wait()
    await pilot.pause()
    app.source.publish(app.source.snapshot)
    for _ in range(1000):
        if app.latest_snapshot is not None:
            await pilot.pause()
            return
        await pilot.pause(0.01)
    raise AssertionError("the pinned snapshot never arrived")
