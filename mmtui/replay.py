"""Replays of recordings (:mod:`mmtui.recording`): the same inputs, the same alerts, on demand.

Textual-free. A :class:`ReplaySource` builds a Monitor and an AlertService from the recording's
header, on a new state store (a temporary one by default) seeded with the state the recorded
run started from, and with a clock that reads each event's recorded time. It then feeds the
events in their recorded order: scrapes through ``Monitor.ingest``, records polls through
``Monitor.ingest_records``, Prometheus polls through ``Monitor.ingest_prometheus``, and at each
recorded tick ``Monitor.refresh`` (evaluated or not, as the recorded run was). So each
snapshot, and each alert transition, is computed again, not read back: a recording of a bug
reproduces it, and a replay that ends elsewhere than its recording did (:attr:`ReplaySource.
divergences`) is a bug of its own.

It is a :class:`~mmtui.snapshot.SnapshotSource`, so the TUI shows it as it shows the Monitor:
:meth:`ReplaySource.run` plays the ticks at the recorded pace times ``speed``; ``set_paused``
pauses and resumes; ``poll_now`` moves one tick on at once; :meth:`ReplaySource.step` pauses and
moves one tick on. Nothing is notified: the recording keeps no channels.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmtui.alerts.service import AlertService
from mmtui.alerts.store import Event as LogEvent
from mmtui.alerts.store import Store
from mmtui.explore import FeatureHistogram, SeriesData
from mmtui.monitor import Monitor
from mmtui.recording import (
    Event,
    RecordingError,
    RecordingReader,
    count_ticks,
    records_input,
    scrape_result,
    seed_store,
)
from mmtui.snapshot import Snapshot

if TYPE_CHECKING:
    from mmtui.alerts.rules import Rule

AlertStates = list[tuple[str, str]]
"""``(alert id, state)`` of every alert after a tick, sorted."""


class ReplayClock:
    """The replay's time: the recorded time of the event being replayed."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@dataclass(frozen=True, slots=True)
class Step:
    """One recorded tick: the inputs taken in before it, and its recorded outcome."""

    inputs: list[Event]
    tick: Event
    evaluated: bool | None
    """Whether the recorded run evaluated the rules on it; None when the outcome is missing (the
    recorder stopped first, or the evaluation failed): the replay then decides as live."""
    recorded: AlertStates | None
    """The alerts the recorded run came to; None when the outcome is missing."""


@dataclass(frozen=True, slots=True)
class Divergence:
    """A tick after which the replay's alerts differ from the recorded run's."""

    tick: int
    at: float
    recorded: AlertStates
    replayed: AlertStates

    def to_json(self) -> dict[str, Any]:
        return {"tick": self.tick, "at": self.at, "recorded": self.recorded,
                "replayed": self.replayed}


def steps(events: Iterator[Event], path: Path) -> Iterator[Step]:
    """Group events into ticks. A tick's outcome (``alerts``) is written after the evaluation,
    so inputs that landed meanwhile come between the tick and its outcome: they belong to the
    next tick. Inputs after the last tick were never evaluated and are left out."""
    inputs: list[Event] = []
    tick: Event | None = None
    later: list[Event] = []
    for event in events:
        if event.kind == "tick":
            if tick is not None:  # the previous tick has no outcome
                yield Step(inputs, tick, None, None)
                inputs, later = later, []
            tick = event
        elif event.kind == "alerts":
            if tick is not None and event.at == tick.at:
                evaluated, recorded = _outcome(event, path)
                yield Step(inputs, tick, evaluated, recorded)
                inputs, tick, later = later, None, []
        else:
            (inputs if tick is None else later).append(event)
    if tick is not None:
        yield Step(inputs, tick, None, None)


def _outcome(event: Event, path: Path) -> tuple[bool, AlertStates]:
    evaluated = event.data.get("evaluated")
    alerts = event.data.get("alerts")
    if not isinstance(evaluated, bool) or not isinstance(alerts, list) or not all(
        isinstance(a, list) and len(a) == 2 and all(isinstance(x, str) for x in a) for a in alerts
    ):
        raise RecordingError(f"{path}: line {event.line}: malformed alerts event")
    return evaluated, sorted((a[0], a[1]) for a in alerts)


def alert_states(snapshot: Snapshot) -> AlertStates:
    return sorted((a.id, a.state) for a in snapshot.alerts)


class ReplaySource:
    """A recording played back through a Monitor (see the module docstring)."""

    def __init__(
        self,
        reader: RecordingReader,
        store: Store,
        *,
        speed: float = 1.0,
        paused: bool = False,
        scratch: Path | None = None,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed!r}")
        header = reader.header
        self.path = reader.path
        self.reader = reader
        self.store = store
        self.speed = speed
        self.clock = ReplayClock(header.at)
        config = header.config
        self.alerts = AlertService(config, store=store, clock=self.clock, bell=_quiet,
                                   on_drift_firing=_ignore)
        """The replay's alerts (the TUI's rules view reads them)."""
        self._scratch = scratch
        reports = (scratch or store.path.parent) / "reports"
        self.monitor = Monitor(config, clock=self.clock, alerts=self.alerts, reports_dir=reports,
                               baselines=header.baselines)
        self._urls = {ep.name: ep.metrics_url for ep in config.endpoints}
        self._steps = steps(reader.events(), reader.path)
        self.tick = 0
        """Ticks replayed so far."""
        self.total: int | None = None
        """Ticks in the recording, once counted (``run`` counts them first)."""
        self.finished = False
        self.divergences: list[Divergence] = []
        self.last: Snapshot | None = None
        self._paused = paused
        self._requested = 0
        """Ticks asked for by ``poll_now``/``step`` and not played yet."""
        self._wake = asyncio.Event()
        self._subscribers: list[Callable[[Snapshot], None]] = []
        self._turn = asyncio.Lock()

    @classmethod
    def open(
        cls, path: str | Path, *, state: str | Path | None = None, speed: float = 1.0,
        paused: bool = False,
    ) -> ReplaySource:
        """Open a recording on a new state store: ``state`` (which must not exist yet: a replay
        starts from the recorded state, not from another run's), else a temporary one removed
        by :meth:`aclose`. RecordingError or StoreError, one line, when either cannot be."""
        reader = RecordingReader(path)
        scratch = None
        try:
            if state is None:
                scratch = Path(tempfile.mkdtemp(prefix="mmtui-replay-"))
                state_file = scratch / "state.db"
            else:
                state_file = Path(state)
                if state_file.exists():
                    raise RecordingError(f"{state_file}: already exists (a replay writes a new "
                                         "state file)")
            store = Store(state_file)
            try:
                seed_store(store, reader.header)
            except BaseException:
                store.close()
                raise
        except BaseException:
            reader.close()
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
            raise
        return cls(reader, store, speed=speed, paused=paused, scratch=scratch)

    async def aclose(self) -> None:
        await self.alerts.aclose()
        self.store.close()
        self.reader.close()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

    # -- replaying -----------------------------------------------------------------------------

    async def advance(self) -> Snapshot | None:
        """Replay the next tick (its inputs, then the evaluation) and return its snapshot; None
        at the end of the recording. RecordingError for a malformed event."""
        async with self._turn:
            step = await asyncio.to_thread(next, self._steps, None)
            if step is None:
                self.finished = True
                return None
            return await self._play(step)

    async def replay_all(self) -> Snapshot | None:
        """Every tick as fast as it goes; the last snapshot (None for a recording without one)."""
        while (snap := await self.advance()) is not None:
            self.last = snap
        return self.last

    async def _play(self, step: Step) -> Snapshot:
        await asyncio.to_thread(self._take, step.inputs)
        self.clock.t = step.tick.at
        snap = await self.monitor.refresh(evaluate=step.evaluated)
        self.tick += 1
        replayed = alert_states(snap)
        if step.recorded is not None and replayed != step.recorded:
            self.divergences.append(Divergence(self.tick, snap.at, step.recorded, replayed))
        return snap

    def _take(self, inputs: Sequence[Event]) -> None:
        """Feed one tick's inputs to the Monitor (blocking: parsing, numpy)."""
        for event in inputs:
            endpoint = event.endpoint
            if endpoint is None or endpoint not in self._urls:
                raise RecordingError(f"{self.path}: line {event.line}: endpoint {endpoint!r} is "
                                     "not in the recording's config")
            self.clock.t = event.at
            try:
                if event.kind == "scrape":
                    self.monitor.ingest(scrape_result(event, self._urls[endpoint]))
                elif event.kind == "records":
                    items, error, stats = records_input(event)
                    self.monitor.ingest_records(endpoint, items, error, stats)
                else:
                    from mmtui.feeds.promsource import PromPoll

                    try:
                        poll = PromPoll.from_json(event.data)
                    except ValueError as exc:
                        raise RecordingError(f"line {event.line}: {exc}") from None
                    self.monitor.ingest_prometheus(endpoint, poll)
            except RecordingError as exc:
                raise RecordingError(f"{self.path}: {exc}") from None
            except ValueError as exc:  # e.g. records for an endpoint without a records feed
                raise RecordingError(f"{self.path}: line {event.line}: {exc}") from None

    def transitions(self) -> list[LogEvent]:
        """Every alert transition of the replay so far (from its state store's event log)."""
        return [e for e in self.store.events() if e.kind == "transition"]

    def position(self) -> str:
        """Where the replay is, for the status bar: ``REPLAY t=… (k/n)``."""
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.clock.t))
        total = "?" if self.total is None else str(self.total)
        speed = "" if self.speed == 1 else f" ×{self.speed:g}"
        end = " end" if self.finished else ""
        return f"REPLAY t={when} ({self.tick}/{total}){speed}{end}"

    # -- SnapshotSource ------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self._paused

    def subscribe(self, callback: Callable[[Snapshot], None]) -> None:
        self._subscribers.append(callback)

    def set_paused(self, paused: bool) -> None:
        self._paused = paused
        self._wake.set()
        if self.last is not None:
            self._publish(self.last)

    def poll_now(self) -> None:
        """Play the next tick now."""
        self._requested += 1
        self._wake.set()

    def step(self) -> None:
        """Pause, and play the next tick."""
        self._paused = True
        self.poll_now()

    async def run(self) -> None:
        """Play the recording (the first tick at once, then at the recorded pace × speed), then
        stay on its last tick until cancelled."""
        if self.total is None:
            self.total = await asyncio.to_thread(count_ticks, self.path)
        previous: float | None = None
        while True:
            async with self._turn:
                step = await asyncio.to_thread(next, self._steps, None)
                if step is None:
                    break
                if previous is not None:
                    await self._wait((step.tick.at - previous) / self.speed)
                self.last = await self._play(step)
            previous = step.tick.at
            self._publish(self.last)
        self.finished = True
        if self.last is not None:
            self._publish(self.last)
        await asyncio.Event().wait()  # the app treats a source that returns as one that died

    async def _wait(self, delay: float) -> None:
        """Until ``delay`` seconds of playing have passed, or a tick is asked for."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, delay)
        while True:
            if self._requested:
                self._requested -= 1
                return
            left = deadline - loop.time()
            if not self._paused and left <= 0:
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), None if self._paused else left)

    def _publish(self, snapshot: Snapshot) -> None:
        snap = dataclasses.replace(snapshot, paused=self._paused)
        for callback in list(self._subscribers):
            callback(snap)

    # -- Explorer (blocking: call from a worker thread) ---------------------------------------

    def series(
        self, endpoint: str, model: str | None, metrics: Sequence[str], since: float
    ) -> list[SeriesData]:
        return self.monitor.series(endpoint, model, metrics, since)

    def feature_histogram(
        self, endpoint: str, feature: str, bins: int = 20
    ) -> FeatureHistogram | None:
        return self.monitor.feature_histogram(endpoint, feature, bins)

    def rules_for(self, endpoint: str, model: str | None) -> Sequence[Rule]:
        return self.monitor.rules_for(endpoint, model)


def _quiet() -> None:
    """The bell of a replay: silent."""


def _ignore(endpoint: str) -> None:
    """No drift reports from a replay."""
