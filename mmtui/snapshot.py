"""What the Monitor publishes once per tick: plain, immutable, Textual-free."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from mmtui.names import Metrics

if TYPE_CHECKING:  # no run-time imports: mmtui.alerts.state imports this module
    from mmtui.alerts.notify import ChannelStatus
    from mmtui.alerts.state import Alert
    from mmtui.tracking import RecordsView

STATUS_UP = "up"
STATUS_DOWN = "down"
"""Connection refused, timeout, DNS failure."""
STATUS_ERROR = "error"
"""HTTP error status, unparsable body, body over the size cap."""
STATUS_STALE = "stale"
"""The last good data is older than 3 intervals."""
STATUS_PENDING = "pending"
"""Not polled yet."""


@dataclass(frozen=True, slots=True)
class RowSnapshot:
    """One overview row: an endpoint, or one model on an endpoint that hosts several."""

    endpoint: str
    model: str | None
    preset: str
    status: str
    error: str | None
    """Why the endpoint is down/error, one line; None when up."""
    last_ok: float | None
    """Wall-clock time (epoch seconds) of the last good scrape."""
    metrics: Metrics
    history: dict[str, tuple[float | None, ...]] = field(default_factory=dict)
    """Recent values per derived metric, oldest first, for sparklines."""
    records: RecordsView | None = None
    """The endpoint's inference records (drift, quality), on the endpoint's row only."""

    @property
    def key(self) -> str:
        return self.endpoint if self.model is None else f"{self.endpoint}/{self.model}"


@dataclass(frozen=True, slots=True)
class Snapshot:
    at: float
    """Wall-clock time the snapshot was taken."""
    tick: int
    paused: bool
    interval: float
    rows: tuple[RowSnapshot, ...] = ()
    alerts: tuple[Alert, ...] = ()
    """Pending, firing and recently resolved alerts, most urgent first (empty without rules)."""
    channels: tuple[ChannelStatus, ...] = ()
    """Notification channels and their health, in configuration order."""


class SnapshotSource(Protocol):
    """What the TUI needs from the Monitor (or a replay): snapshots in, user intent out.

    Callbacks are called on the asyncio event loop that runs ``run()``.
    """

    @property
    def paused(self) -> bool: ...

    def subscribe(self, callback: Callable[[Snapshot], None]) -> None: ...

    def set_paused(self, paused: bool) -> None: ...

    def poll_now(self) -> None: ...

    async def run(self) -> None:
        """Poll until cancelled, publishing one Snapshot per tick."""
        ...
