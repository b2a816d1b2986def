"""Desktop notifications through ``notify-send`` (libnotify), run without a shell.

The channel is ``disabled`` when the command is not on PATH (a server, a jump host). A non-zero
exit (typically no D-Bus session) is final; a ``notify-send`` that hangs past ``timeout`` is
killed and retried.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from typing import ClassVar, Final

from mmtui.alerts.channel_config import ChannelConfig
from mmtui.alerts.channels.bell import toast_for
from mmtui.alerts.notify import Channel, DeliveryError, Kind, Notification, SendContext

URGENCY: Final = {"critical": "critical", "warning": "normal", "info": "low"}


def notify_send_args(group: Sequence[Notification]) -> list[str]:
    """``notify-send`` arguments (without the command) for one endpoint group."""
    toast = toast_for(group)
    firing = any(n.kind != "resolved" for n in group)
    urgency = URGENCY[toast.severity] if firing else "low"
    return ["--app-name=mmtui", f"--urgency={urgency}", "--", toast.title, toast.message]


class DesktopChannel(Channel):
    """One desktop notification per endpoint group."""

    type: ClassVar[str] = "desktop"
    kinds: ClassVar[frozenset[Kind]] = frozenset(("firing", "renotify", "resolved"))

    def __init__(self, config: ChannelConfig) -> None:
        super().__init__(config)
        self._path = shutil.which(config.command)

    def disabled_reason(self) -> str | None:
        if self._path is None:
            return f"{self.config.command} not found on PATH"
        return super().disabled_reason()

    async def send(self, group: Sequence[Notification], ctx: SendContext) -> None:
        assert self._path is not None
        command = self.config.command
        proc = await asyncio.create_subprocess_exec(
            self._path,
            *notify_send_args(group),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(self.config.timeout):
                _, err = await proc.communicate()
        except TimeoutError:
            timeout = self.config.timeout
            raise DeliveryError(f"{command} timed out after {timeout:g}s", retryable=True) from None
        finally:
            if proc.returncode is None:  # timed out or cancelled: don't leave it behind
                proc.kill()
        if proc.returncode != 0:
            first = err.decode(errors="replace").strip().splitlines()[:1]
            reason = f": {first[0][:200]}" if first else ""
            raise DeliveryError(f"{command} exited with {proc.returncode}{reason}", retryable=False)
