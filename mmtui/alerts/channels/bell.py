"""Terminal bell and an in-app toast, through callbacks (this module knows nothing of Textual).

The TUI passes ``bell=app.bell`` and a ``toast`` callback that turns a :class:`Toast` into
``app.notify``; headless, the bell rings on stderr when that is a terminal and there is no toast.
The bell rings for alerts that fire; every kind gets a toast (one per endpoint group).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from mmtui.alerts.channel_config import ChannelConfig
from mmtui.alerts.channels.base import KIND_TITLES, group_severity, group_title
from mmtui.alerts.notify import Channel, Notification, SendContext, Severity


@dataclass(frozen=True, slots=True)
class Toast:
    """A short in-app notification."""

    title: str
    message: str
    """One line per alert."""
    severity: Severity
    """The highest severity still firing in the group; ``info`` when nothing fires."""


def toast_for(group: Sequence[Notification]) -> Toast:
    """The toast for one (non-empty) endpoint group."""
    lines = []
    for n in group:
        line = f"{KIND_TITLES[n.kind]} {n.rule} ({n.severity})"
        if n.summary:
            line += f": {n.summary}"
        if n.kind in ("acknowledged", "unacknowledged") and n.acked_by:
            line += f" by {n.acked_by}"
        lines.append(line)
    return Toast(group_title(group), "\n".join(lines), group_severity(group) or "info")


def terminal_bell() -> None:
    """Ring the terminal bell on stderr, when stderr is a terminal."""
    if sys.stderr.isatty():
        sys.stderr.write("\a")
        sys.stderr.flush()


class BellChannel(Channel):
    """Ring a bell for firing alerts and show a toast for every group."""

    type: ClassVar[str] = "bell"

    def __init__(
        self,
        config: ChannelConfig,
        *,
        toast: Callable[[Toast], None] | None = None,
        bell: Callable[[], None] = terminal_bell,
    ) -> None:
        super().__init__(config)
        self._toast = toast
        self._bell = bell

    async def send(self, group: Sequence[Notification], ctx: SendContext) -> None:
        if any(n.kind in ("firing", "renotify") for n in group):
            self._bell()
        if self._toast is not None:
            self._toast(toast_for(group))
