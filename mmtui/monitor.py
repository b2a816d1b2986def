"""The headless core loop: poll → parse → derive → series → alerts, one Snapshot per tick.

Textual-free. Parsing and derivation run in worker threads (``asyncio.to_thread``) so the event loop
that also drives the TUI never waits on them. Snapshots are coalesced: results that land together
(one poll cycle) produce one snapshot, and a quiet monitor still publishes once per interval so that
``stale`` shows up. Once the first cycle is shown, each snapshot is one worker-thread hop: the
results that landed since the last one are ingested, the snapshot taken and the alerts evaluated
there (see :meth:`Monitor.refresh`).

Alerts: with an :class:`~mmtui.alerts.service.AlertService` (built by the commands from the config
and the state store), every snapshot is evaluated before it is published (rules and SQLite in the
hop, notifications handed to the service's dispatcher on the loop) and carries the alerts and the
channels' health. Nothing is evaluated

* while paused: the figures are frozen, not evidence;
* before the monitor is warm: every endpoint has rates (two good scrapes) or failed, and its
  records their first view. A first scrape has no rates, and its missing values would resolve
  the alerts restored from the store, which would then fire, and notify, a second time. The
  live loop stops waiting :data:`WARMUP_INTERVALS` intervals after it started.

``run()`` also runs the service's notification delivery, and fills the series with the store's
history of the last :data:`HISTORY_SEED` seconds, so charts and sparklines show the last day at
once after a restart. That load starts once the first poll cycle is shown (reading a day of
history can take longer than the whole cycle, and it holds the state store): what the polls add to
the series meanwhile is held and added after the history, so series stay oldest first.

Endpoints with ``source = "prometheus"`` are not scraped: each has its own loop that first
backfills its series from the server's ``query_range`` (``backfill`` seconds, so the charts show
history older than the process), then queries the figures every interval
(:mod:`mmtui.feeds.promsource`); every poll goes through :meth:`Monitor.ingest_prometheus`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import numpy as np

from mmtui.alerts.store import StoreError
from mmtui.config import Config, EndpointConfig
from mmtui.explore import FeatureHistogram, SeriesData
from mmtui.feeds.derive import Derived, Scrape, derive
from mmtui.feeds.model import ParseError
from mmtui.feeds.parser import ParseMemo, parse_bytes
from mmtui.feeds.poller import Poller, ScrapeResult, backoff_delay, status_at
from mmtui.feeds.presets import Preset, get_preset
from mmtui.feeds.promsource import PromError, PromPoll, PromSource
from mmtui.names import (
    DRIFT_SHARE,
    ERROR_RATE,
    LATENCY_MEAN,
    LATENCY_P95,
    SERVING_METRICS,
    THROUGHPUT,
    Metrics,
)
from mmtui.paths import state_dir
from mmtui.recording import alerts_payload, records_payload, scrape_payload
from mmtui.series import SeriesKey, SeriesStore
from mmtui.snapshot import (
    STATUS_DOWN,
    STATUS_ERROR,
    STATUS_PENDING,
    STATUS_UP,
    RowSnapshot,
    Snapshot,
)
from mmtui.tracking import (
    Baseline,
    BaselineError,
    RecordsTracker,
    RecordsView,
    load_baseline,
    records_metrics,
)

if TYPE_CHECKING:
    from mmtui.alerts.rules import Rule
    from mmtui.alerts.service import AlertService, Outcome
    from mmtui.feeds.records import FeedStats, Item
    from mmtui.recording import Recorder

_log = logging.getLogger(__name__)

SPARK_METRICS = (LATENCY_P95, LATENCY_MEAN, THROUGHPUT, ERROR_RATE)
"""Metrics whose recent history goes into each row for sparklines."""
SPARK_POINTS = 60
HISTORY_SEED = 86400.0
"""Seconds of stored history ``run()`` loads into the series before the first poll."""
DATASET_DRIFT_SHARE = 0.5
"""The dataset-drift share of an endpoint no ``drift_share`` rule speaks for."""
WARMUP_INTERVALS = 3.0
"""Intervals after which ``run()`` evaluates alerts even if some endpoint is not warm yet."""

_EMPTY: Metrics = dict.fromkeys(SERVING_METRICS)
_NONE = np.empty(0)


@dataclass(frozen=True, slots=True)
class Processed:
    """One scrape, parsed and derived (or why it could not be)."""

    status: str
    error: str | None
    scrape: Scrape | None
    derived: Derived | None
    families: int


def process(
    result: ScrapeResult,
    preset: Preset,
    endpoint: EndpointConfig,
    previous: Scrape | None,
    memo: ParseMemo | None = None,
) -> Processed:
    """Parse and derive one scrape result against the previous good scrape (``memo``: the
    endpoint's :class:`~mmtui.feeds.parser.ParseMemo`); never raises."""
    if result.status != STATUS_UP or result.body is None:
        return Processed(result.status, result.error, None, None, 0)
    try:
        families = parse_bytes(result.body, result.content_type, only=preset.families, memo=memo)
    except ParseError as exc:
        return Processed(STATUS_ERROR, f"unparsable body: {exc}", None, None, 0)
    scrape = Scrape(at=result.started, families=families)
    try:
        derived = derive(preset, scrape, previous, models=endpoint.models)
    except Exception as exc:  # a preset meeting data it cannot handle must not kill the feed
        _log.exception("derive failed for %s", endpoint.name)
        return Processed(STATUS_ERROR, f"cannot derive metrics: {exc}", scrape, None, 0)
    return Processed(STATUS_UP, None, scrape, derived, len(families))


@dataclass(slots=True)
class _EndpointState:
    config: EndpointConfig
    preset: Preset
    status: str = STATUS_PENDING
    error: str | None = None
    last_ok: float | None = None
    good: int = 0
    """Good scrapes so far (two give rates)."""
    previous: Scrape | None = None
    derived: Derived | None = None
    models: list[str] = field(default_factory=list)
    tracker: RecordsTracker | None = None
    records: RecordsView | None = None
    memo: ParseMemo = field(default_factory=ParseMemo)


class Monitor:
    """Polls the configured endpoints and publishes Snapshots; implements ``SnapshotSource``."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], float] = time.time,
        spark_points: int = SPARK_POINTS,
        alerts: AlertService | None = None,
        reports_dir: Path | None = None,
        recorder: Recorder | None = None,
        baselines: Mapping[str, Baseline] | None = None,
    ) -> None:
        self.config = config
        self.alerts = alerts
        self.recorder = recorder
        """Takes every input and tick (``mmtui check --record``, :mod:`mmtui.recording`)."""
        self._baselines = baselines
        """Baselines already loaded (a replay's, from its recording) instead of the files."""
        self.interval = config.monitor.interval
        self._clock = clock
        self._spark_points = spark_points
        self._states = {
            ep.name: _EndpointState(ep, get_preset(ep.preset, ep.generic))
            for ep in config.endpoints
        }
        for st in self._states.values():
            if st.config.records_url is not None:
                st.tracker = self._tracker(st.config)
        self.buffers = SeriesStore(config.monitor.history)
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[Snapshot], None]] = []
        self._tick = 0
        self._paused = False
        self._dirty: asyncio.Event | None = None
        self._shown: asyncio.Event | None = None
        """Set when ``run()`` has published its first full poll cycle."""
        self._poller: Poller | None = None
        self._prom_wake: dict[str, asyncio.Event] = {}
        """Wakes each Prometheus-source endpoint's loop (``poll_now``)."""
        self._warm = False
        self._warm_by: float | None = None
        self._arrived: list[ScrapeResult] = []
        """Poll results left for the publisher's next hop (see :meth:`_on_result`)."""
        self._held: list[tuple[str, str | None, float, Metrics]] | None = None
        """Series points held while ``run()`` loads the stored history (None: not loading)."""
        self.last_snapshot: Snapshot | None = None
        if reports_dir is None:
            state = config.monitor.state
            reports_dir = (Path(state).parent if state else state_dir()) / "reports"
        self.reports_dir = reports_dir
        """Drift reports go here: when a drift alert fires, and every ``drift_report_every``."""
        self.reports_written: list[Path] = []
        self._report_tasks: set[asyncio.Task[None]] = set()
        if alerts is not None and alerts.on_drift_firing is None:
            alerts.on_drift_firing = self.report_drift_soon

    # -- SnapshotSource ------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self._paused

    def subscribe(self, callback: Callable[[Snapshot], None]) -> None:
        self._subscribers.append(callback)

    def set_paused(self, paused: bool) -> None:
        self._paused = paused
        if self._poller is not None:
            self._poller.set_paused(paused)
        if self._dirty is not None:
            self._dirty.set()  # show the pause state at once

    def poll_now(self) -> None:
        if self._poller is not None:
            self._poller.poll_now()
        for wake in self._prom_wake.values():
            wake.set()

    async def run(self) -> None:
        """Poll (and deliver notifications) until cancelled; the first poll of every endpoint
        starts at once, and the stored history is loaded into the series once it is shown."""
        self._dirty = asyncio.Event()
        self._shown = asyncio.Event()
        self._warm_by = self._clock() + WARMUP_INTERVALS * self.interval
        poller = self._new_poller()
        poller.set_paused(self._paused)
        self._poller = poller
        if self.alerts is not None:
            with self._lock:
                self._held = []
        self.publish()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(poller.run(), name="poller")
                poller.poll_now()  # first cycle now, not spread over the first interval
                group.create_task(self._publisher(), name="publisher")
                if self.alerts is not None:
                    group.create_task(self._restore_alerts(), name="restore alerts")
                    group.create_task(self._load_history(), name="history")
                    group.create_task(self.alerts.run(), name="notifications")
                every = self.config.monitor.drift_report_every
                if every:
                    group.create_task(self._report_schedule(every), name="drift reports")
                feeds = [st for st in self._states.values()
                         if st.tracker is not None or st.config.source == "prometheus"]
                if feeds:
                    group.create_task(self._other_feeds(feeds), name="records and prometheus")
        finally:
            self._poller = None

    async def _other_feeds(self, states: Sequence[_EndpointState]) -> None:
        """The records and Prometheus-source loops, on one client of their own."""
        # Made off the loop: it loads the CA certificates (0.1 s), which would hold up the
        # first scrapes and the first frame.
        client = await asyncio.to_thread(httpx.AsyncClient, timeout=10.0)
        async with client, asyncio.TaskGroup() as group:
            for st in states:
                if st.tracker is not None:
                    group.create_task(self._records_loop(st, client),
                                      name=f"records {st.config.name}")
                if st.config.source == "prometheus":
                    group.create_task(self._prometheus_loop(st, client),
                                      name=f"prometheus {st.config.name}")

    async def _restore_alerts(self) -> None:
        """The service's first evaluation, beside the first poll cycle: it reads the stored
        state (a fifth of a second), and after the cycle it would hold up the first frame."""
        assert self.alerts is not None
        try:
            await self.alerts.resume()
        except StoreError as exc:
            _log.error("alerts not restored: %s", exc)

    async def _load_history(self) -> None:
        """:meth:`seed_history` once the first cycle is shown (or after two intervals), then the
        points the polls brought meanwhile (see the module docstring)."""
        assert self._shown is not None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2 * self.interval):
                await self._shown.wait()
        try:
            await self.seed_history()
        except StoreError as exc:
            _log.error("cannot load the metric history: %s", exc)
        await asyncio.to_thread(self._release_held)
        if self._dirty is not None:
            self._dirty.set()  # the sparklines now have their history

    def _release_held(self) -> None:
        with self._lock:
            held, self._held = self._held, None
            for endpoint, model, at, metrics in held or ():
                self.buffers.append(endpoint, model, at, metrics)

    def _append(self, endpoint: str, model: str | None, at: float, metrics: Metrics) -> None:
        """A point of new figures into the series, or held while the history loads; under the
        lock."""
        if self._held is not None:
            self._held.append((endpoint, model, at, metrics))
        else:
            self.buffers.append(endpoint, model, at, metrics)

    async def poll_once(self) -> Snapshot:
        """One cycle outside ``run()``: scrape every endpoint once, ingest, evaluate, publish.

        For ``mmtui check --once`` and tests; don't call it while ``run()`` is running. The
        alerts are evaluated from the second call on (see the module docstring: warm);
        notifications stay queued in the service until its ``drain()``.
        """
        poller = self._new_poller()
        try:
            results = await poller.poll_once()
        finally:
            await poller.aclose()
        await asyncio.to_thread(lambda: [self.ingest(r) for r in results])
        proms = [st for st in self._states.values() if st.config.source == "prometheus"]
        if proms:
            async with httpx.AsyncClient() as client:
                polls = await asyncio.gather(*(self._prom_source(st, client).poll()
                                               for st in proms))
            for st, poll in zip(proms, polls, strict=True):
                await asyncio.to_thread(self.ingest_prometheus, st.config.name, poll)
        trackers = [st for st in self._states.values() if st.tracker is not None]
        if trackers:
            async with httpx.AsyncClient(timeout=10.0) as client:
                await asyncio.gather(*(self._poll_records(st, client) for st in trackers))
        return await self.refresh()

    async def refresh(self, *, evaluate: bool | None = None) -> Snapshot:
        """Ingest the poll results left for it, take a snapshot, evaluate the alerts on it
        (unless paused or not warm) and publish it: all but the publishing in one worker-thread
        hop.

        ``evaluate`` overrides that choice (a replay passes the recorded one).
        Raises StoreError when the state file fails (the results are ingested by then); the live
        loop logs that and goes on.
        """
        arrived, self._arrived = self._arrived, []
        snap, evaluated, outcome = await asyncio.to_thread(self._take, arrived, evaluate)
        if outcome is not None:
            assert self.alerts is not None
            view = self.alerts.apply(outcome)
            snap = dataclasses.replace(snap, alerts=view.alerts, channels=view.channels)
            if self.recorder is not None:
                self.recorder.event("alerts", None, snap.at, alerts_payload(evaluated, snap.alerts))
        return self.publish(snap)

    def _take(
        self, arrived: Sequence[ScrapeResult], evaluate: bool | None
    ) -> tuple[Snapshot, bool, Outcome | None]:
        """:meth:`refresh`'s worker-thread part: the results, the snapshot, whether it is
        evaluated, and the alerts' outcome (None without an alert service)."""
        for result in arrived:
            try:
                self.ingest(result)
            except Exception:  # one endpoint's bad result must not cost the others theirs
                _log.exception("ingest failed for %s", result.endpoint)
        snap = self.snapshot(tick=True, alerts=False)
        if evaluate is None:
            evaluate = not snap.paused and self.warm(snap.at)
        if self.alerts is None:
            return snap, evaluate, None
        # Without figures to evaluate: restored alerts, acks and silences only.
        outcome = self.alerts.evaluate(snap if evaluate else None,
                                       snap.at if evaluate else self._clock())
        return snap, evaluate, outcome

    def warm(self, now: float) -> bool:
        """Whether alerts may be evaluated (see the module docstring); once warm, always."""
        if not self._warm:
            with self._lock:
                self._warm = (self._warm_by is not None and now >= self._warm_by) or all(
                    (st.good >= 2 or st.status in (STATUS_DOWN, STATUS_ERROR))
                    and (st.tracker is None or st.records is not None)
                    for st in self._states.values()
                )
        return self._warm

    async def seed_history(self, seconds: float = HISTORY_SEED) -> int:
        """Load the store's history of the last ``seconds`` into the series (before polling:
        series are oldest first); returns the points loaded."""
        if self.alerts is None:
            return 0
        history = await asyncio.to_thread(self.alerts.history, self._clock() - seconds)

        def load() -> int:
            n = 0
            with self._lock:
                for (endpoint, model, metric), points in history.items():
                    if endpoint not in self._states or not points:
                        continue
                    ep = self._states[endpoint].config
                    if ep.source == "prometheus" and ep.backfill > 0 and metric in SERVING_METRICS:
                        continue  # backfilled from Prometheus itself (finer, and in order)
                    t0, v0 = points[0]
                    self.buffers.append(endpoint, model, t0, {metric: v0})
                    ring = self.buffers.ring(endpoint, model, metric)
                    assert ring is not None
                    for t, v in points[1:]:
                        ring.append(t, v)
                    n += len(points)
            return n

        return await asyncio.to_thread(load)

    # -- Explorer (drill-downs; blocking: call from a worker thread) -----------------------------

    def series(
        self, endpoint: str, model: str | None, metrics: Sequence[str], since: float
    ) -> list[SeriesData]:
        """Points since ``since``: memory first, the store's downsampled history before that."""
        stored: dict[SeriesKey, list[tuple[float, float]]] | None = None
        out: list[SeriesData] = []
        for metric in metrics:
            with self._lock:
                ring = self.buffers.ring(endpoint, model, metric)
                t, v = ring.since(since) if ring is not None else (_NONE, _NONE)
            oldest = t[0] if len(t) else math.inf
            if self.alerts is not None and oldest > since + 2 * self.interval:
                if stored is None:
                    stored = self.alerts.history(since)
                older = [p for p in stored.get((endpoint, model, metric), []) if p[0] < oldest]
                if older:
                    ts, vs = zip(*older, strict=True)
                    t = np.concatenate((np.asarray(ts, dtype=float), t))
                    v = np.concatenate((np.asarray(vs, dtype=float), v))
            out.append(SeriesData(metric, t, v))
        return out

    def feature_histogram(
        self, endpoint: str, feature: str, bins: int = 20
    ) -> FeatureHistogram | None:
        st = self._states.get(endpoint)
        if st is None or st.tracker is None:
            return None
        return st.tracker.histogram(feature, bins)

    def rules_for(self, endpoint: str, model: str | None) -> Sequence[Rule]:
        return [r for r in self.config.rules if r.matches_series(endpoint, model)]

    # -- drift reports -------------------------------------------------------------------------

    def write_drift_report(self, endpoint: str, directory: Path, *, why: str) -> Path | None:
        """Write the endpoint's current drift report (HTML, with histograms) into ``directory``;
        None when it has no baseline or no records yet. Blocking: call from a worker thread."""
        st = self._states.get(endpoint)
        if st is None or st.tracker is None or st.records is None or st.records.drift is None:
            return None
        inputs = st.tracker.report_inputs()
        if inputs is None:
            return None
        from mmtui.report import render

        profile, table = inputs
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self._clock()))
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{endpoint}-{stamp}-{why}.html"
        baseline = st.config.baseline or "(none)"
        path.write_text(
            render(st.records.drift, baseline=baseline, format="html", profile=profile,
                   table=table, current=f"{endpoint} records window"),
            encoding="utf-8",
        )
        return path

    def report_drift_soon(self, endpoint: str, *, why: str = "alert") -> None:
        """Write a drift report in a worker thread (the alert hook calls this on the loop)."""
        directory = self.reports_dir

        def write() -> None:
            try:
                path = self.write_drift_report(endpoint, directory, why=why)
            except OSError as exc:
                _log.error("drift report for %s not written: %s", endpoint, exc)
                return
            if path is not None:
                self.reports_written.append(path)

        task = asyncio.get_running_loop().create_task(asyncio.to_thread(write))
        self._report_tasks.add(task)
        task.add_done_callback(self._report_tasks.discard)

    async def _report_schedule(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            for st in self._states.values():
                if st.tracker is not None:
                    self.report_drift_soon(st.config.name, why="scheduled")

    # -- internals -----------------------------------------------------------------------------

    def _tracker(self, endpoint: EndpointConfig) -> RecordsTracker:
        """The records tracker; a baseline that cannot be loaded is shown on the row, not raised."""
        try:
            profile = load_baseline(endpoint, self._baselines)
        except BaselineError as exc:
            return RecordsTracker(endpoint, None, clock=self._clock, baseline_error=str(exc))
        return RecordsTracker(endpoint, profile, clock=self._clock,
                              drift_share=self._dataset_drift_share(endpoint.name))

    def _dataset_drift_share(self, endpoint: str) -> float:
        """The share of drifted features at which the endpoint's data set counts as drifted:
        the threshold of the first enabled rule on ``drift_share`` for it (so the drift table's
        verdict and the alert agree), else :data:`DATASET_DRIFT_SHARE`."""
        for rule in self.config.rules:
            if (rule.enabled and rule.kind == "threshold" and rule.metric == DRIFT_SHARE
                    and rule.op in (">", ">=") and not rule.relative
                    and rule.threshold is not None and rule.matches_series(endpoint, None)):
                return min(max(rule.threshold, 0.0), 1.0)
        return DATASET_DRIFT_SHARE

    async def _poll_records(self, st: _EndpointState, client: httpx.AsyncClient) -> None:
        assert st.tracker is not None
        items, error = await st.tracker.fetch(client)
        await asyncio.to_thread(self.ingest_records, st.config.name, items, error,
                                st.tracker.feed.stats)
        if self._dirty is not None:
            self._dirty.set()

    def ingest_records(
        self, endpoint: str, items: Sequence[Item], error: str | None, stats: FeedStats
    ) -> RecordsView:
        """Add one records poll (its items, the feed's error, its counts after the poll) to the
        endpoint's window and evaluate drift and quality as of now (blocking: worker thread)."""
        st = self._states[endpoint]
        if st.tracker is None:
            raise ValueError(f"endpoint {endpoint!r} has no records_url")
        at = self._clock()
        st.tracker.add(items, error=error, stats=stats)
        view = st.tracker.evaluate(at)
        with self._lock:
            st.records = view
            metrics = records_metrics(view)
            if metrics:
                self._append(endpoint, None, at, metrics)
            if self.recorder is not None:
                self.recorder.event("records", endpoint, at, records_payload(items, error, stats))
        return view

    def baselines(self) -> dict[str, Baseline]:
        """Each records endpoint's baseline as loaded, or why it could not be (for a recording)."""
        return {name: st.tracker.baseline() for name, st in self._states.items()
                if st.tracker is not None}

    async def _records_loop(self, st: _EndpointState, client: httpx.AsyncClient) -> None:
        while True:
            if not self._paused:
                try:
                    await self._poll_records(st, client)
                except Exception:  # never let one endpoint's records stop the others
                    _log.exception("records of %s", st.config.name)
            await asyncio.sleep(self.interval)

    def _new_poller(self) -> Poller:
        return Poller(
            [ep for ep in self.config.endpoints if ep.source == "metrics"],
            self._on_result,
            interval=self.interval,
            concurrency=self.config.monitor.concurrency,
            max_body_bytes=self.config.monitor.max_body_bytes,
            clock=self._clock,
        )

    async def _on_result(self, result: ScrapeResult) -> None:
        """Until the first full cycle is shown, each result is ingested as it lands (the first
        frame waits for the last one). After that it is left for the publisher, whose one
        worker-thread hop ingests the whole cycle with the snapshot and the alerts: a hop per
        scrape costs two thread wake-ups, and a worker parsing while the loop reads the other
        responses makes the two trade the GIL back and forth."""
        if self._shown is not None and self._shown.is_set():
            self._arrived.append(result)
        else:
            await asyncio.to_thread(self.ingest, result)
        if self._dirty is not None:
            self._dirty.set()

    def ingest(self, result: ScrapeResult) -> Processed:
        """Parse, derive and record one result (thread-safe; runs in a worker thread)."""
        state = self._states[result.endpoint]
        processed = process(result, state.preset, state.config, state.previous, state.memo)
        with self._lock:
            state.status = processed.status
            state.error = processed.error
            if processed.derived is not None and processed.scrape is not None:
                state.previous = processed.scrape
                state.good += 1
                self._store(state, processed.scrape.at, processed.derived)
            else:
                self._store(state, result.started, None)
            if self.recorder is not None:
                self.recorder.event("scrape", result.endpoint, result.started,
                                    scrape_payload(result))
        return processed

    def _store(self, state: _EndpointState, at: float, derived: Derived | None) -> None:
        """Take good figures (or, with None, a gap) into the state and its series; under the
        lock."""
        name = state.config.name
        if derived is None:
            # A gap in every series of the endpoint: sparklines show the outage.
            self._append(name, None, at, _EMPTY)
            for model in state.models:
                self._append(name, model, at, _EMPTY)
            return
        state.derived = derived
        state.last_ok = at
        state.models = sorted(derived.models) if len(derived.models) > 1 else []
        self._append(name, None, at, derived.metrics)
        for model in state.models:
            self._append(name, model, at, derived.models[model])

    # -- Prometheus-source endpoints -----------------------------------------------------------

    def ingest_prometheus(self, endpoint: str, poll: PromPoll) -> None:
        """Record one poll of a Prometheus-source endpoint as :meth:`ingest` records a scrape
        (thread-safe), and hand it to the recorder when there is one."""
        state = self._states[endpoint]
        with self._lock:
            state.status = poll.status
            state.error = poll.error
            if poll.status == STATUS_UP:
                state.good = max(2, state.good + 1)  # a Prometheus poll has rates at once
                self._store(state, poll.at, Derived(poll.metrics, poll.models))
            else:
                self._store(state, poll.at, None)
            if self.recorder is not None:  # under the lock, as ingest: events in state order
                self.recorder.event("prometheus", endpoint, poll.at, poll.to_json())

    async def backfill_prometheus(self, endpoint: str, source: PromSource, seconds: float) -> int:
        """Fill the endpoint's series with the server's history of the last ``seconds`` (before
        its first poll: series are oldest first); returns the points loaded, 0 when the query
        failed (logged: the polls show the endpoint's state)."""
        try:
            polls = await source.backfill(seconds)
        except PromError as exc:
            _log.warning("no history from Prometheus for %s: %s", endpoint, exc)
            return 0

        def load() -> int:
            for poll in polls:
                with self._lock:  # per point: snapshots on the loop wait for one at most
                    self.buffers.append(endpoint, None, poll.at, poll.metrics)
                    if len(poll.models) > 1:
                        for model, metrics in poll.models.items():
                            self.buffers.append(endpoint, model, poll.at, metrics)
            return len(polls)

        return await asyncio.to_thread(load)

    def _prom_source(self, st: _EndpointState, client: httpx.AsyncClient) -> PromSource:
        return PromSource(st.config, st.preset, interval=self.interval, client=client,
                          clock=self._clock)

    async def _prometheus_loop(self, st: _EndpointState, client: httpx.AsyncClient) -> None:
        """Backfill, then poll every interval (re-armed when a poll ends; backoff on failures,
        as the Poller does; ``poll_now`` wakes it)."""
        name = st.config.name
        source = self._prom_source(st, client)
        wake = self._prom_wake[name] = asyncio.Event()
        if st.config.backfill > 0:
            await self.backfill_prometheus(name, source, st.config.backfill)
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            begun = loop.time()
            delay = self.interval
            if not self._paused:
                poll = await source.poll()
                await asyncio.to_thread(self.ingest_prometheus, name, poll)
                if self._dirty is not None:
                    self._dirty.set()
                failures = 0 if poll.status == STATUS_UP else failures + 1
                delay = backoff_delay(self.interval, failures, max(8 * self.interval, 30.0))
            try:
                async with asyncio.timeout(max(0.0, begun + delay - loop.time())):
                    await wake.wait()
            except TimeoutError:
                pass
            wake.clear()

    async def _publisher(self) -> None:
        assert self._dirty is not None
        coalesce = min(0.25, self.interval / 4)
        first_data = True
        while True:
            if await _wait_set(self._dirty, self.interval):
                if first_data:
                    # The first full cycle: shown the moment its last result lands (start time).
                    first_data = not await self._all_reported_within(coalesce)
                else:
                    await asyncio.sleep(coalesce)  # let the rest of this poll cycle land
            self._dirty.clear()
            if not first_data and self._shown is not None and not self._shown.is_set():
                # The first full cycle is shown before the alerts' evaluation (with the alerts
                # restored at start), which would hold it up by a tenth of a second or more.
                self.publish()
                self._shown.set()
            try:
                await self.refresh()
            except StoreError as exc:
                _log.error("alerts not evaluated: %s", exc)
                self.publish()
            except Exception:  # a bug in the alerts must not stop the monitor
                _log.exception("alerts not evaluated")
                self.publish()

    async def _all_reported_within(self, seconds: float) -> bool:
        """Wait until every endpoint has reported once (True), at most ``seconds``."""
        assert self._dirty is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            self._dirty.clear()
            if self._all_reported():
                return True
            if not await _wait_set(self._dirty, deadline - loop.time()):
                return False

    def _all_reported(self) -> bool:
        with self._lock:
            return all(st.status != STATUS_PENDING for st in self._states.values())

    def publish(self, snap: Snapshot | None = None) -> Snapshot:
        """Send ``snap`` (default: a new snapshot with the last alerts) to the subscribers."""
        if snap is None:
            snap = self.snapshot()
        self.last_snapshot = snap
        for callback in list(self._subscribers):
            try:
                callback(snap)
            except Exception:
                _log.exception("snapshot subscriber failed")
        return snap

    def snapshot(self, *, tick: bool = False, alerts: bool = True) -> Snapshot:
        """The current state of every endpoint (and model) as one immutable Snapshot, with the
        alerts of the last evaluation (``alerts``: False leaves them out, for a snapshot about to
        be evaluated); ``tick``: the one the alerts are evaluated on (recorded under the lock, so
        that a recording has every input before or after it as it was)."""
        now = self._clock()
        rows: list[RowSnapshot] = []
        with self._lock:
            self._tick += 1
            if tick and self.recorder is not None:
                self.recorder.event("tick", None, now, {})
            for st in self._states.values():
                status = status_at(st.last_ok, st.status, now, self.interval)
                derived = st.derived
                metrics = dict(derived.metrics if derived else _EMPTY)
                if st.records is not None:
                    metrics.update(records_metrics(st.records))
                rows.append(self._row(st, None, status, metrics, st.records))
                for model in st.models:
                    metrics = derived.models.get(model, _EMPTY) if derived else _EMPTY
                    rows.append(self._row(st, model, status, metrics))
        service = self.alerts if alerts else None
        return Snapshot(
            at=now, tick=self._tick, paused=self._paused, interval=self.interval, rows=tuple(rows),
            alerts=() if service is None else service.view.alerts,
            channels=() if service is None else service.channels(),
        )

    def _row(
        self,
        st: _EndpointState,
        model: str | None,
        status: str,
        metrics: Metrics,
        records: RecordsView | None = None,
    ) -> RowSnapshot:
        history: dict[str, tuple[float | None, ...]] = {}
        for metric in SPARK_METRICS:
            ring = self.buffers.ring(st.config.name, model, metric)
            history[metric] = ring.last(self._spark_points) if ring is not None else ()
        return RowSnapshot(
            endpoint=st.config.name,
            model=model,
            preset=st.preset.name,
            status=status,
            error=st.error,
            last_ok=st.last_ok,
            metrics=dict(metrics),
            history=history,
            records=records,
        )


async def _wait_set(event: asyncio.Event, seconds: float) -> bool:
    """Whether ``event`` was set within ``seconds``. ``asyncio.timeout``, not ``wait_for``:
    Python 3.11's ``wait_for`` can lose a cancellation that races with the event being set,
    and a loop that lost its cancellation keeps ``Monitor.run`` (and quitting) waiting forever."""
    try:
        async with asyncio.timeout(max(0.0, seconds)):
            await event.wait()
    except TimeoutError:
        return False
    return True
