"""Notifications and the dispatcher that delivers them to channels without ever blocking.

The alert state machine decides what happened (an alert fired, resolved, was acknowledged); the
caller maps that onto :class:`Notification` records and hands them to
:meth:`NotificationDispatcher.submit`. Every channel has its own bounded queue (the oldest item is
dropped, and counted, when it is full), its own worker task, severity filter and retry with
exponential backoff. Delivery outcomes go to an ``on_result`` callback (for the event log); each
channel's health is readable as a :class:`ChannelStatus` (for the TUI).

Retry policy: a connection error, a timeout, HTTP 429 or 5xx is retried up to the channel's
``max_attempts``, sleeping ``backoff × 2**(attempt-1)`` (at most ``max_backoff``; a 429's
``Retry-After`` is honoured within that bound); any other failure, such as HTTP 400, is final at
once. A channel delivers its queue in order, so a resolve never overtakes its trigger.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Final, Literal, Protocol, runtime_checkable

import httpx

from mmtui.alerts.rules import SEVERITY_RANK, Severity

if TYPE_CHECKING:
    from mmtui.alerts.channel_config import ChannelConfig

__all__ = [
    "KINDS",
    "SEVERITY_RANK",
    "Channel",
    "ChannelStatus",
    "DeliveryError",
    "DeliveryResult",
    "Matcher",
    "Notification",
    "NotificationDispatcher",
    "Refreshing",
    "SendContext",
    "Severity",
    "Silence",
    "SilenceSync",
    "redact",
]

_log = logging.getLogger(__name__)

Kind = Literal["firing", "resolved", "acknowledged", "unacknowledged", "renotify"]

KINDS: Final[frozenset[Kind]] = frozenset(
    ("firing", "resolved", "acknowledged", "unacknowledged", "renotify")
)

DEFAULT_QUEUE_SIZE: Final = 256
"""Items (endpoint groups or silence changes) a channel's queue holds before dropping the oldest."""


@dataclass(frozen=True, slots=True)
class Notification:
    """One thing to tell the outside world about one alert."""

    kind: Kind
    fingerprint: str
    """The alert's dedup key (PagerDuty ``dedup_key``, Opsgenie ``alias``); stable across kinds."""
    alert_id: str
    rule: str
    endpoint: str
    severity: Severity
    state: str
    """The alert's state when this was sent: ``pending``, ``firing`` or ``resolved``."""
    starts_at: float
    """Epoch seconds when the alert started firing."""
    summary: str = ""
    model: str | None = None
    feature: str | None = None
    value: float | None = None
    threshold: float | None = None
    description: str = ""
    runbook_url: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    """All the alert's labels (``alertname``, ``endpoint``, ``severity`` ... and the rule's)."""
    annotations: Mapping[str, str] = field(default_factory=dict)
    ends_at: float | None = None
    """Epoch seconds when it resolved; None while it fires."""
    acked_by: str | None = None
    ack_note: str | None = None
    compliance: bool = False
    """The rule is a compliance bound (error budget, accuracy floor)."""


@dataclass(frozen=True, slots=True)
class Matcher:
    """One label matcher of a silence (Alertmanager's shape)."""

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True


@dataclass(frozen=True, slots=True)
class Silence:
    """An mmtui silence to mirror to channels that keep silences of their own (Alertmanager)."""

    id: str
    """mmtui's id for it; the mirror is found again by it (for updates and expiry)."""
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The final outcome of one notification (or silence change) on one channel."""

    channel: str
    kind: str
    """A notification kind, or ``silence`` / ``unsilence`` for silence changes."""
    fingerprint: str
    """The alert's fingerprint; for silence changes, the silence id."""
    alert_id: str | None
    ok: bool
    attempt: int
    """Attempts made (0 when the item was dropped from a full queue before any)."""
    error: str | None
    """Why it failed, one line, secrets removed; None when ok."""
    at: float
    """Epoch seconds (the dispatcher's clock) of the outcome."""


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    """What the TUI shows for one channel."""

    name: str
    type: str
    state: Literal["ok", "failing", "disabled"]
    reason: str | None
    last_success: float | None
    last_failure: float | None
    pending: int
    """Notifications queued or in flight."""
    dropped: int
    """Notifications dropped because the queue was full."""
    delivered: int
    failed: int

    @property
    def text(self) -> str:
        """``ok``, ``failing: <reason>`` or ``disabled: <reason>``."""
        return self.state if self.reason is None else f"{self.state}: {self.reason}"


class DeliveryError(Exception):
    """A failed delivery; ``retryable`` says whether trying again may help."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        """Seconds the peer asked us to wait (HTTP 429 ``Retry-After``), if it said."""
        self.status = status
        """The HTTP status of a response that was not 2xx."""


class SendContext:
    """What a channel sends with: the shared HTTP client (made on first use) and the clock."""

    __slots__ = ("_client", "clock")

    def __init__(
        self, client: Callable[[], httpx.AsyncClient], clock: Callable[[], float]
    ) -> None:
        self._client = client
        self.clock = clock

    @property
    def client(self) -> httpx.AsyncClient:
        return self._client()


class Channel(abc.ABC):
    """A notification channel. Subclasses set ``type``, ``kinds``, ``batch`` and ``send``."""

    type: ClassVar[str]
    kinds: ClassVar[frozenset[Kind]] = KINDS
    """The notification kinds the channel acts on; others are not queued for it."""
    batch: ClassVar[bool] = True
    """True: ``send`` gets every notification for one endpoint at once; False: one at a time."""

    def __init__(self, config: ChannelConfig) -> None:
        self.config = config

    @property
    def name(self) -> str:
        return self.config.name

    def disabled_reason(self) -> str | None:
        """Why the channel cannot send at all, or None."""
        return None if self.config.enabled else "disabled in config"

    def secrets(self) -> tuple[str, ...]:
        """Strings that must never appear in an error (keys, tokens, secret URLs)."""
        c = self.config
        found = [c.routing_key, c.api_key, c.url, *c.headers.values()]
        return tuple(s for s in found if s)

    def wants(self, n: Notification) -> bool:
        """Whether ``n`` passes this channel's kind, severity and ``send_resolved`` filters."""
        c = self.config
        rank = SEVERITY_RANK.get(n.severity, SEVERITY_RANK["critical"])  # unknown: don't lose it
        return (
            n.kind in self.kinds
            and rank >= SEVERITY_RANK[c.min_severity]
            and (c.send_resolved or n.kind != "resolved")
        )

    @abc.abstractmethod
    async def send(self, group: Sequence[Notification], ctx: SendContext) -> None:
        """Deliver notifications for one endpoint; raise :class:`DeliveryError` on failure."""


@runtime_checkable
class SilenceSync(Protocol):
    """A channel that mirrors mmtui silences to its peer."""

    def syncs_silences(self) -> bool: ...

    async def create_silence(self, silence: Silence, ctx: SendContext) -> None: ...

    async def expire_silence(self, silence_id: str, ctx: SendContext) -> None: ...


@runtime_checkable
class Refreshing(Protocol):
    """A channel whose peer forgets alerts unless they are re-sent now and then."""

    refresh_interval: float

    async def refresh(self, ctx: SendContext) -> int:
        """Re-send what is still active; return how many alerts were sent."""
        ...


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret (at least 4 characters) in ``text`` by ``***``.

    >>> redact("POST https://hooks.example/T0/B1/xyz failed", ["https://hooks.example/T0/B1/xyz"])
    'POST *** failed'
    """
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


@dataclass(frozen=True, slots=True)
class _Group:
    notifications: tuple[Notification, ...]


@dataclass(frozen=True, slots=True)
class _SilenceChange:
    silence_id: str
    silence: Silence | None
    """The silence to create or update; None to expire it."""


_Item = _Group | _SilenceChange


@dataclass
class _Lane:
    """One channel's queue, worker and counters."""

    channel: Channel
    items: deque[_Item] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    inflight: _Item | None = None
    task: asyncio.Task[None] | None = None
    next_refresh: float = 0.0
    failing: str | None = None
    last_success: float | None = None
    last_failure: float | None = None
    dropped: int = 0
    delivered: int = 0
    failed: int = 0


def _count(item: _Item | None) -> int:
    if item is None:
        return 0
    return len(item.notifications) if isinstance(item, _Group) else 1


class NotificationDispatcher:
    """Deliver notifications to channels off the caller's path, with per-channel retry.

    Parameters
    ----------
    channels
        The channels; names must be unique.
    on_result
        Called with the final outcome of every notification on every channel it was queued for
        (delivered, given up, or dropped from a full queue). Must not block.
    clock
        Wall clock for outcome times, status times and payload timestamps.
    client
        The HTTP client to share; by default the dispatcher makes one and closes it in
        :meth:`aclose`.
    queue_size
        Items each channel's queue holds before the oldest is dropped.

    Notes
    -----
    Call :meth:`submit` and :meth:`submit_silence` from the event loop's thread (use
    ``loop.call_soon_threadsafe`` from others). Either keep :meth:`run` running as a task, or
    call :meth:`drain` to deliver what is queued and return; :meth:`aclose` at the end.
    """

    def __init__(
        self,
        channels: Sequence[Channel],
        *,
        on_result: Callable[[DeliveryResult], None],
        clock: Callable[[], float] = time.time,
        client: httpx.AsyncClient | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        names = [c.name for c in channels]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"channel names must be unique, repeated: {', '.join(dupes)}")
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        self._lanes = [_Lane(c) for c in channels]
        self._on_result = on_result
        self._clock = clock
        self._client = client
        self._own_client = client is None
        self._queue_size = queue_size
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ the caller's side

    def submit(self, notifications: Iterable[Notification]) -> None:
        """Queue notifications for every channel that wants them; never blocks or raises."""
        batch = list(notifications)
        for lane in self._lanes:
            if lane.channel.disabled_reason() is not None:
                continue
            wanted = [n for n in batch if lane.channel.wants(n)]
            if lane.channel.batch:
                by_endpoint: dict[str, list[Notification]] = {}
                for n in wanted:
                    by_endpoint.setdefault(n.endpoint, []).append(n)
                groups = [tuple(g) for g in by_endpoint.values()]
            else:
                groups = [(n,) for n in wanted]
            for g in groups:
                self._put(lane, _Group(g))

    def submit_silence(self, silence: Silence) -> None:
        """Create (or update) the silence on every channel that mirrors silences."""
        for lane in self._silence_lanes():
            self._put(lane, _SilenceChange(silence.id, silence))

    def expire_silence(self, silence_id: str) -> None:
        """Expire the mirror of an mmtui silence on every channel that mirrors silences."""
        for lane in self._silence_lanes():
            self._put(lane, _SilenceChange(silence_id, None))

    def statuses(self) -> list[ChannelStatus]:
        """Every channel's status, in configuration order."""
        out = []
        for lane in self._lanes:
            disabled = lane.channel.disabled_reason()
            state: Literal["ok", "failing", "disabled"] = "ok"
            reason = None
            if disabled is not None:
                state, reason = "disabled", disabled
            elif lane.failing is not None:
                state, reason = "failing", lane.failing
            out.append(
                ChannelStatus(
                    name=lane.channel.name,
                    type=lane.channel.type,
                    state=state,
                    reason=reason,
                    last_success=lane.last_success,
                    last_failure=lane.last_failure,
                    pending=self._pending(lane),
                    dropped=lane.dropped,
                    delivered=lane.delivered,
                    failed=lane.failed,
                )
            )
        return out

    @property
    def pending(self) -> int:
        """Notifications and silence changes queued or in flight, over all channels."""
        return sum(self._pending(lane) for lane in self._lanes)

    # ------------------------------------------------------------------ running

    async def run(self) -> None:
        """Deliver until cancelled; then stop the workers and close the client if it is ours."""
        self._start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.aclose()

    async def drain(self, timeout: float) -> int:
        """Deliver what is queued (retries included) for up to ``timeout`` seconds.

        Returns the number still pending (0 when everything was delivered or given up on).
        Workers this call started are stopped again before it returns.
        """
        started = self._start()
        try:
            async with asyncio.timeout(timeout):
                while self.pending:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            pass
        finally:
            if started:
                await self._stop()
        return self.pending

    async def aclose(self) -> None:
        """Stop the workers (what is queued stays queued) and close the client if it is ours."""
        await self._stop()
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    # ------------------------------------------------------------------ internals

    def _silence_lanes(self) -> list[_Lane]:
        return [
            lane
            for lane in self._lanes
            if isinstance(lane.channel, SilenceSync)
            and lane.channel.syncs_silences()
            and lane.channel.disabled_reason() is None
        ]

    def _pending(self, lane: _Lane) -> int:
        return sum(_count(i) for i in lane.items) + _count(lane.inflight)

    def _put(self, lane: _Lane, item: _Item) -> None:
        if len(lane.items) >= self._queue_size:
            old = lane.items.popleft()
            error = f"dropped: the queue of {self._queue_size} was full"
            lane.dropped += _count(old)
            self._report(lane, old, ok=False, attempt=0, error=error)
        lane.items.append(item)
        lane.wake.set()

    def _start(self) -> bool:
        """Start the workers that are not running; True when any was started."""
        started = False
        now = asyncio.get_running_loop().time()
        for lane in self._lanes:
            if lane.task is None and lane.channel.disabled_reason() is None:
                if isinstance(lane.channel, Refreshing):
                    lane.next_refresh = now + lane.channel.refresh_interval
                lane.task = asyncio.create_task(
                    self._work(lane), name=f"mmtui-notify-{lane.channel.name}"
                )
                started = True
        return started

    async def _stop(self) -> None:
        tasks = [lane.task for lane in self._lanes if lane.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for lane in self._lanes:
            if lane.inflight is not None:  # cancelled mid-delivery: it goes back to the front
                lane.items.appendleft(lane.inflight)
                lane.inflight = None
            lane.task = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:  # made on first use: bell-only setups never pay for TLS setup
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(10.0, connect=5.0),
                limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
                follow_redirects=False,
            )
        return self._client

    def _ctx(self) -> SendContext:
        return SendContext(self._http, self._clock)

    async def _work(self, lane: _Lane) -> None:
        loop = asyncio.get_running_loop()
        while True:
            refreshing = lane.channel if isinstance(lane.channel, Refreshing) else None
            if refreshing is not None and loop.time() >= lane.next_refresh:
                lane.next_refresh = loop.time() + refreshing.refresh_interval
                await self._refresh(lane, refreshing)
                continue
            if not lane.items:
                lane.wake.clear()
                delay = None if refreshing is None else lane.next_refresh - loop.time()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await lane.wake.wait()
                continue
            lane.inflight = lane.items.popleft()
            await self._deliver(lane, lane.inflight)
            lane.inflight = None
            self._changed.set()

    async def _refresh(self, lane: _Lane, channel: Refreshing) -> None:
        """Re-send active alerts; failures show in the status, the next refresh retries."""
        try:
            sent = await channel.refresh(self._ctx())
        except DeliveryError as exc:
            lane.failing = redact(exc.message, lane.channel.secrets())
            lane.last_failure = self._clock()
        except Exception as exc:  # a bug in a channel must not kill its worker
            _log.exception("channel %s failed to refresh", lane.channel.name)
            lane.failing = redact(f"{type(exc).__name__}: {exc}", lane.channel.secrets())
            lane.last_failure = self._clock()
        else:
            if sent:
                lane.failing = None
                lane.last_success = self._clock()

    async def _attempt(self, lane: _Lane, item: _Item) -> None:
        ctx = self._ctx()
        channel = lane.channel
        if isinstance(item, _Group):
            await channel.send(item.notifications, ctx)
            return
        assert isinstance(channel, SilenceSync)
        if item.silence is None:
            await channel.expire_silence(item.silence_id, ctx)
        else:
            await channel.create_silence(item.silence, ctx)

    async def _deliver(self, lane: _Lane, item: _Item) -> None:
        config = lane.channel.config
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._attempt(lane, item)
            except DeliveryError as exc:
                error, retryable, retry_after = exc.message, exc.retryable, exc.retry_after
            except Exception as exc:  # a bug in a channel must not kill its worker
                _log.exception("channel %s failed unexpectedly", lane.channel.name)
                error, retryable, retry_after = f"{type(exc).__name__}: {exc}", False, None
            else:
                lane.failing = None
                lane.last_success = self._clock()
                lane.delivered += _count(item)
                self._report(lane, item, ok=True, attempt=attempt, error=None)
                return
            error = redact(" ".join(error.split()), lane.channel.secrets())
            lane.last_failure = self._clock()
            if not retryable or attempt >= config.max_attempts:
                if retryable:
                    error = f"{error} (gave up after {attempt} attempts)"
                lane.failing = error
                lane.failed += _count(item)
                self._report(lane, item, ok=False, attempt=attempt, error=error)
                return
            lane.failing = f"{error} (retrying, attempt {attempt} of {config.max_attempts})"
            delay = min(config.backoff * 2.0 ** (attempt - 1), config.max_backoff)
            if retry_after is not None:
                delay = min(max(delay, retry_after), config.max_backoff)
            await asyncio.sleep(delay)

    def _report(
        self, lane: _Lane, item: _Item, *, ok: bool, attempt: int, error: str | None
    ) -> None:
        now = self._clock()
        name = lane.channel.name
        if isinstance(item, _Group):
            results = [
                DeliveryResult(name, n.kind, n.fingerprint, n.alert_id, ok, attempt, error, now)
                for n in item.notifications
            ]
        else:
            kind = "unsilence" if item.silence is None else "silence"
            results = [DeliveryResult(name, kind, item.silence_id, None, ok, attempt, error, now)]
        for result in results:
            try:
                self._on_result(result)
            except Exception:
                _log.exception("on_result failed for %s", result)
