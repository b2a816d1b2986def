"""The console on a replay (``mmtui replay``): the live app, read-only, plus a step key and the
replay's position in every status bar."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from textual.reactive import var

from mmtui.replay import ReplaySource
from mmtui.ui.app import MmtuiApp
from mmtui.ui.keymap import binding
from mmtui.ui.messages import SnapshotArrived


class ReplayApp(MmtuiApp):
    """:class:`MmtuiApp` over a :class:`~mmtui.replay.ReplaySource`. Its clock is the replay's,
    so data ages and time ranges read as they did when the recording was made."""

    BINDINGS = [binding("step")]

    replay: var[str] = var("")
    """Where the replay is (``REPLAY t=… (k/n)``); every status bar shows it."""

    def __init__(
        self, source: ReplaySource, *, theme: str | None = None, theme_dirs: Sequence[Path] = ()
    ) -> None:
        super().__init__(source, theme=theme, theme_dirs=theme_dirs, clock=source.clock,
                         readonly=True)
        self.replay_source = source
        self.sub_title = f"replay of {source.path.name}"

    def on_snapshot_arrived(self, message: SnapshotArrived) -> None:
        # MmtuiApp's handler runs as well (Textual calls the handlers of every class).
        self.replay = self.replay_source.position()

    def action_replay_step(self) -> None:
        """Pause, and play the next tick."""
        self.replay_source.step()
        self.paused = True
