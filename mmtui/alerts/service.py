"""The alerts service: snapshots in; alert state, notifications and durable records out.
Textual-free.

It ties the pure :class:`~mmtui.alerts.state.AlertEngine`, the SQLite
:class:`~mmtui.alerts.store.Store` and the :class:`~mmtui.alerts.notify.NotificationDispatcher`
together. The Monitor calls :meth:`AlertService.tick` with every snapshot it builds:

1. In a worker thread (``asyncio.to_thread``: SQLite and evaluation never run on the event loop,
   and one lock keeps ticks from overlapping):

   * on the first tick, resume from the store: alerts as they were (no notification is
     repeated after a restart), baselines of relative rules from the last hour of history, and
     a ``rule_change`` event when the configured rules differ from the ones last run;
   * when the store's ``control_version`` moved (an ack, unack, silence or rule override made
     by this or any other process), load acks, silences and overrides again;
   * turn every derived metric of every row into an :class:`~mmtui.alerts.state.Observation`
     (serving, quality, ``drift_share``, ``drift.<feature>``) and every endpoint's status into
     the NoData input; evaluate at the snapshot's time (``Snapshot.at``);
   * save the alerts, log the transitions, fold the values into the downsampled history, log
     the delivery results that came in since the last tick, and prune every
     :data:`PRUNE_EVERY` seconds.

2. Back on the loop: hand the notifications to the dispatcher (it delivers them in its own
   tasks, grouped by endpoint, with retries), mirror new or ended-early silences to channels
   that keep silences (Alertmanager), and call ``on_drift_firing(endpoint)`` for each endpoint
   whose drift alert (``drift_share`` or ``drift.*``) started firing.

Without figures to evaluate (before the Monitor has rates, or while it is paused) the Monitor
calls :meth:`AlertService.resume` instead: the same, but the engine only reconciles (acks,
silences, time), so restored alerts show at once and an ack made meanwhile still reaches
PagerDuty.

User intent (the TUI's keys, blocking: call them from a worker thread) goes to the store only:
:meth:`AlertService.ack`, :meth:`~AlertService.unack`, :meth:`~AlertService.note`,
:meth:`~AlertService.silence`, :meth:`~AlertService.expire_silence`. The next tick sees it
through the change counter, exactly as it sees what ``mmtui alerts ack`` did from a shell, and
the engine emits the ``acknowledged`` action (PagerDuty acknowledge and so on).

Delivery results are queued by the dispatcher's callback (which must not block) and written to
the event log as ``notification`` events by the next tick, :meth:`~AlertService.drain` or
:meth:`~AlertService.aclose`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import httpx

from mmtui.alerts.channels import build_channels
from mmtui.alerts.channels.bell import Toast, terminal_bell
from mmtui.alerts.identity import whoami
from mmtui.alerts.notifications import mirror_silence, notification
from mmtui.alerts.notify import (
    ChannelStatus,
    DeliveryResult,
    Notification,
    NotificationDispatcher,
)
from mmtui.alerts.notify import Silence as MirroredSilence
from mmtui.alerts.rules import apply_overrides
from mmtui.alerts.state import (
    Alert,
    AlertEngine,
    Matcher,
    Observation,
    SeriesKey,
    Silence,
    parse_matcher,
)
from mmtui.alerts.store import COARSE, FINE, EndpointStatus, Event, Retention, Store
from mmtui.names import DRIFT_PREFIX, DRIFT_SHARE

if TYPE_CHECKING:
    from mmtui.config import Config
    from mmtui.snapshot import Snapshot

_log = logging.getLogger(__name__)

PRUNE_EVERY: Final = 300.0
"""Seconds between two :meth:`Store.prune` calls."""
SEED_BASELINES: Final = 3600.0
"""Seconds of stored history that warm the baselines of relative rules at start (at most)."""


def state_path(explicit: str | None, config: Config | None) -> Path | None:
    """The state file: ``--state``, else the config's ``[monitor] state``, else None (the XDG
    default of :class:`Store`)."""
    if explicit:
        return Path(explicit)
    if config is not None and config.monitor.state:
        return Path(config.monitor.state)
    return None


def observations(snapshot: Snapshot) -> list[Observation]:
    """Every derived metric of every row (endpoint and per-model rows) as an observation."""
    return [
        Observation(row.endpoint, row.model, name, value)
        for row in snapshot.rows
        for name, value in row.metrics.items()
    ]


def statuses(snapshot: Snapshot) -> dict[str, str]:
    """Each endpoint's status (from its endpoint row), the input of NoData rules."""
    return {row.endpoint: row.status for row in snapshot.rows if row.model is None}


def is_drift(metric: str) -> bool:
    return metric == DRIFT_SHARE or metric.startswith(DRIFT_PREFIX)


def unhandled(alert: Alert) -> bool:
    """Firing, and neither acknowledged nor silenced: what ``mmtui check`` exits 1 for."""
    return alert.state == "firing" and alert.ack is None and not alert.silenced_by


@dataclass(frozen=True, slots=True)
class AlertsView:
    """What the UI and ``mmtui check`` show after a tick."""

    alerts: tuple[Alert, ...] = ()
    """Pending, firing and recently resolved alerts, most urgent first."""
    channels: tuple[ChannelStatus, ...] = ()
    silences: tuple[Silence, ...] = ()
    """Silences not yet ended (future ones included)."""
    problems: tuple[str, ...] = ()
    """Rule overrides that could not be applied, one line each."""

    @property
    def unhandled(self) -> tuple[Alert, ...]:
        return tuple(a for a in self.alerts if unhandled(a))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one tick's worker-thread part (:meth:`AlertService.evaluate`) hands back to the
    loop's (:meth:`AlertService.apply`)."""

    alerts: tuple[Alert, ...]
    notifications: tuple[Notification, ...]
    mirror: tuple[MirroredSilence, ...]
    unmirror: tuple[str, ...]
    silences: tuple[Silence, ...]
    problems: tuple[str, ...]
    drift_firing: tuple[str, ...]


class AlertService:
    """Evaluates rules on snapshots, keeps the state in the store and notifies channels.

    Parameters
    ----------
    config
        Rules (``config.rules``) and channels (``config.channels``).
    store
        The open state store; the caller closes it (after :meth:`aclose`).
    clock
        Wall-clock time for user intent (ack times, silence ends), delivery results and
        history queries. Evaluation uses each snapshot's own time.
    toast, bell
        Callbacks of the ``bell`` channel (the TUI's toast and bell); headless, the bell rings
        on stderr when it is a terminal.
    client
        The HTTP client channels share; by default the dispatcher makes its own.
    on_drift_firing
        Called on the event loop with the endpoint's name when one of its drift alerts starts
        firing (e.g. to write a drift report). Exceptions are logged, not raised.
    """

    def __init__(
        self,
        config: Config,
        *,
        store: Store,
        clock: Callable[[], float] = time.time,
        toast: Callable[[Toast], None] | None = None,
        bell: Callable[[], None] | None = None,
        client: httpx.AsyncClient | None = None,
        on_drift_firing: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.on_drift_firing = on_drift_firing
        self._clock = clock
        self._results: deque[DeliveryResult] = deque()
        channels = build_channels(config.channels, toast=toast, bell=bell or terminal_bell)
        self._dispatcher = NotificationDispatcher(
            channels, on_result=self._results.append, clock=clock, client=client
        )
        self._engine = AlertEngine(config.rules)
        self._lock = threading.Lock()
        self._started = False
        self._seen: int | None = None
        self._silences: tuple[Silence, ...] = ()
        self._mirrored: dict[str, float] = {}
        self._problems: tuple[str, ...] = ()
        self._next_prune = -math.inf
        self.view = AlertsView()
        """The view of the last tick."""

    # -- the loop's side -----------------------------------------------------------------------

    async def resume(self) -> AlertsView:
        """A tick without figures: load the store's state (the restored alerts at start), apply
        acks, silences and time, record, notify; StoreError if the state file fails."""
        return self.apply(await asyncio.to_thread(self.evaluate, None, self._clock()))

    async def tick(self, snapshot: Snapshot) -> AlertsView:
        """Evaluate ``snapshot``, record it, notify; StoreError if the state file fails."""
        return self.apply(await asyncio.to_thread(self.evaluate, snapshot, snapshot.at))

    def apply(self, out: Outcome) -> AlertsView:
        """The loop's side of a tick: hand work to the dispatcher, call the drift hook.

        :meth:`tick` and :meth:`resume` are :meth:`evaluate` in a worker thread, then this; a
        caller with a worker-thread hop of its own (the Monitor's, which ingests the poll
        cycle and takes the snapshot there) calls the two itself and saves a hop.
        """
        for silence in out.mirror:
            self._dispatcher.submit_silence(silence)
        for silence_id in out.unmirror:
            self._dispatcher.expire_silence(silence_id)
        if out.notifications:
            self._dispatcher.submit(out.notifications)
        self.view = AlertsView(out.alerts, self.channels(), out.silences, out.problems)
        if self.on_drift_firing is not None:
            for endpoint in out.drift_firing:
                try:
                    self.on_drift_firing(endpoint)
                except Exception:
                    _log.exception("on_drift_firing failed for %s", endpoint)
        return self.view

    def channels(self) -> tuple[ChannelStatus, ...]:
        """Every channel's status now (call on the event loop)."""
        return tuple(self._dispatcher.statuses())

    @property
    def pending(self) -> int:
        """Notifications queued or in flight."""
        return self._dispatcher.pending

    async def run(self) -> None:
        """Deliver notifications until cancelled."""
        await self._dispatcher.run()

    async def drain(self, timeout: float) -> int:
        """Deliver what is queued for up to ``timeout`` seconds and log the results; returns the
        number of notifications still undelivered."""
        left = await self._dispatcher.drain(timeout)
        await asyncio.to_thread(self._flush_results)
        return left

    async def aclose(self) -> None:
        """Stop delivering (what is queued is dropped) and log the results so far."""
        await self._dispatcher.aclose()
        await asyncio.to_thread(self._flush_results)

    # -- user intent (blocking: call from a worker thread) -------------------------------------

    def ack(
        self, ref: str, note: str | None = None, expires: float | None = None,
        who: str | None = None,
    ) -> Alert:
        """Acknowledge the alert whose id starts with ``ref``; ``expires`` is seconds from now
        after which the ack lapses (None: until the alert resolves). Durable on return."""
        now = self._clock()
        until = None if expires is None else now + expires
        return self.store.ack(ref, who or whoami(), note=note, until=until, now=now)

    def unack(self, ref: str, who: str | None = None) -> Alert:
        """Withdraw the ack; the alert notifies again (``unacknowledged``) at the next tick."""
        return self.store.unack(ref, who or whoami(), now=self._clock())

    def note(self, ref: str, text: str, who: str | None = None) -> Event:
        """Add a note to the alert's history."""
        return self.store.note(ref, who or whoami(), text, now=self._clock())

    def silence(
        self, matchers: Sequence[Matcher | str], duration: float, reason: str,
        who: str | None = None,
    ) -> Silence:
        """Silence the alerts all ``matchers`` match (``parse_matcher`` syntax for strings) for
        ``duration`` seconds from now. ValueError for a bad matcher; StoreError otherwise."""
        parsed = [m if isinstance(m, Matcher) else parse_matcher(m) for m in matchers]
        if not duration > 0:
            raise ValueError(f"a silence needs a duration > 0, got {duration!r}")
        now = self._clock()
        return self.store.add_silence(
            parsed, ends_at=now + duration, created_by=who or whoami(), reason=reason, now=now
        )

    def expire_silence(self, ref: str, who: str | None = None) -> Silence:
        """End the silence whose id starts with ``ref`` now."""
        return self.store.expire_silence(ref, who or whoami(), now=self._clock())

    def history(self, since: float) -> dict[SeriesKey, list[tuple[float, float]]]:
        """Stored bucket means per series from ``since``, oldest first: 5-minute buckets up to
        the last hour, 10-second buckets within it (what the store keeps of each)."""
        now = self._clock()
        cutoff = math.ceil((now - Retention().fine_history) / COARSE) * COARSE
        if since >= cutoff:
            return self.store.history(since, resolution=FINE)
        out = {
            key: [p for p in points if p[0] < cutoff]
            for key, points in self.store.history(since, resolution=COARSE, until=cutoff).items()
        }
        for key, points in self.store.history(cutoff, resolution=FINE).items():
            out.setdefault(key, []).extend(points)
        return out

    # -- the worker thread's side --------------------------------------------------------------

    def evaluate(self, snapshot: Snapshot | None, now: float) -> Outcome:
        """One tick's worker-thread part (blocking: SQLite); ``snapshot`` None only reconciles
        (:meth:`resume`). Hand the outcome to :meth:`apply` on the loop."""
        with self._lock:
            mirror, unmirror = self._sync(now)
            if not self._started:
                self._start(now)
            self._log_results()
            endpoints: list[EndpointStatus] = []
            if snapshot is None:
                step = self._engine.reconcile(now)
            else:
                obs = observations(snapshot)
                step = self._engine.evaluate(now, obs, statuses(snapshot))
                self.store.add_history(now, obs)
                endpoints = [
                    EndpointStatus(r.endpoint, r.status, r.error, now, snapshot.interval, r.metrics)
                    for r in snapshot.rows if r.model is None
                ]
            self.store.record(self._engine.alerts(), step.transitions, now=now,
                              endpoints=endpoints)
            if now >= self._next_prune:
                self.store.prune(now)
                self._next_prune = now + PRUNE_EVERY
            alerts = self._engine.alerts()
            fired = {t.fingerprint for t in step.transitions if t.new == "firing"}
            drift = sorted({a.endpoint for a in alerts
                            if a.fingerprint in fired and is_drift(a.metric)})
            return Outcome(
                alerts=alerts,
                notifications=tuple(notification(a) for a in step.actions),
                mirror=mirror,
                unmirror=unmirror,
                silences=tuple(s for s in self._silences if s.ends_at > now),
                problems=self._problems,
                drift_firing=tuple(drift),
            )

    def _start(self, now: float) -> None:
        """Resume from the store (the first tick)."""
        self._engine.restore(self.store.alerts(now), now)
        windows = [r.baseline_window for r in self._engine.rules if r.enabled and r.relative]
        if windows:
            window = min(max(windows), SEED_BASELINES)
            self._engine.seed(self.store.history(now - window, resolution=FINE))
        self.store.note_rules(self.config.rules, whoami(), now=now)
        self._started = True

    def _sync(self, now: float) -> tuple[tuple[MirroredSilence, ...], tuple[str, ...]]:
        """Load acks, silences and overrides when they changed; returns the silences to mirror
        and the ids of mirrored silences that were ended early."""
        version = self.store.control_version()  # first: a change made meanwhile shows next tick
        if version == self._seen:
            return (), ()
        self._seen = version
        self._engine.set_acks(self.store.acks(now))
        silences = self.store.silences(now)
        self._engine.set_silences(silences)
        rules, problems = apply_overrides(self.config.rules, self.store.overrides())
        self._engine.set_rules(rules)
        for problem in set(problems) - set(self._problems):
            _log.warning("%s", problem)
        self._problems = tuple(problems)
        self._silences = tuple(silences)
        mirror = tuple(mirror_silence(s) for s in silences
                       if self._mirrored.get(s.id) != s.ends_at)
        current = {s.id for s in silences}
        unmirror = tuple(sid for sid, ends in self._mirrored.items()
                         if sid not in current and ends > now)
        self._mirrored = {s.id: s.ends_at for s in silences}
        return mirror, unmirror

    def _flush_results(self) -> None:
        with self._lock:
            self._log_results()

    def _log_results(self) -> None:
        """Write the delivery results queued by the dispatcher to the event log."""
        while self._results:
            r = self._results[0]
            detail: dict[str, object] = {"channel": r.channel, "kind": r.kind, "ok": r.ok,
                                         "attempt": r.attempt, "error": r.error}
            alert = r.alert_id is not None
            if not alert:
                detail["silence"] = r.fingerprint
            self.store.log_event("notification", fingerprint=r.fingerprint if alert else None,
                                 detail=detail, now=r.at)
            self._results.popleft()
