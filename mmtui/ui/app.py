"""The Textual app: wires a SnapshotSource to the screens, themes and keys."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from textual.app import App
from textual.driver import Driver
from textual.reactive import var
from textual.screen import Screen
from textual.signal import Signal
from textual.worker import Worker, WorkerState

from mmtui.explore import Explorer
from mmtui.paths import bundled_themes_dir
from mmtui.snapshot import Snapshot, SnapshotSource
from mmtui.ui.commands import KeyTableCommands
from mmtui.ui.keymap import binding
from mmtui.ui.messages import SnapshotArrived
from mmtui.ui.screens.overview import OverviewScreen
from mmtui.ui.themes import DEFAULT_THEME, FALLBACK_THEME, load_themes

MONITOR_WORKER = "monitor"
SETTLE_GC_AFTER = 3.0
"""Seconds after the app mounts that the objects made at start are frozen (see ``_settle_gc``)."""
GC_YOUNG_THRESHOLD = 10_000
"""Allocations between two young-generation collections once settled (Python's default: 700)."""
# The other screens are imported when first opened: the overview is all the first frame needs,
# and their imports are a tenth of a second of the start.


class MmtuiApp(App[int]):
    """The live console over a :class:`~mmtui.snapshot.SnapshotSource`."""

    TITLE = "mmtui"
    CSS_PATH = str(Path(__file__).with_name("mmtui.tcss"))  # absolute: subclasses live elsewhere
    BINDINGS = [
        binding(action_id)
        for action_id in (
            "quit", "overview", "alerts", "drift", "rules", "pause", "poll", "theme", "help"
        )
    ]
    COMMANDS = App.COMMANDS | {KeyTableCommands}

    paused: var[bool] = var(False)
    """Whether the source is paused; the status bar shows it."""

    def __init__(
        self,
        source: SnapshotSource,
        *,
        theme: str | None = None,
        theme_dirs: Sequence[Path] = (),
        clock: Callable[[], float] = time.time,
        readonly: bool = False,
    ) -> None:
        super().__init__()
        self.source = source
        self.clock = clock
        self.readonly = readonly
        """Refuse every action that changes state (``--readonly``)."""
        self.theme_cycle: list[str] = []
        """The themes ``t`` cycles through: those loaded from theme files, in load order."""
        self.snapshots: Signal[Snapshot] = Signal(self, "snapshots")
        """Every snapshot, after queue coalescing; views subscribe to it."""
        self._theme_wanted = theme
        # Bundled themes first, so that a user's file of the same name overrides them.
        dirs = [bundled_themes_dir(), *theme_dirs]
        self._theme_dirs = list(dict.fromkeys(d.resolve() for d in dirs))
        self.set_reactive(MmtuiApp.paused, source.paused)
        self.latest_snapshot: Snapshot | None = None
        """The newest snapshot, for screens pushed between two polls."""
        self.explorer: Explorer | None = source if isinstance(source, Explorer) else None
        """History and histograms for drill-downs, when the source provides them."""

    def get_driver_class(self) -> type[Driver]:
        """Textual's, with an input thread that sleeps while no key is pressed (see
        :mod:`mmtui.ui.quiet_input`)."""
        driver = super().get_driver_class()
        try:
            from mmtui.ui.quiet_input import quiet_driver
        except ImportError:  # a Textual without the private parts it reuses
            return driver
        return quiet_driver(driver)

    def get_default_screen(self) -> Screen[None]:
        return OverviewScreen(self.snapshots, clock=self.clock)

    def on_mount(self) -> None:
        self._install_themes()
        self.source.subscribe(self._publish)
        self.run_worker(self.source.run(), name=MONITOR_WORKER, exit_on_error=False)
        if not self.is_headless:  # frozen objects are never freed: a test process runs many apps
            self.set_timer(SETTLE_GC_AFTER, self._settle_gc)

    def _settle_gc(self) -> None:
        """Move what start-up made (Textual, the styles, numpy, the first polls) out of the
        garbage collector's sight: an idle TUI otherwise rescans those ~80,000 objects in each
        full collection, a few hundredths of a second every minute or so. Collected first, so
        that no start-up garbage is kept for good.

        Then collect the young generation less often: each poll cycle's parse, snapshot and
        frame made one collection a second, each scanning the big containers alive meanwhile
        (a scrape's lines, its samples), and most of what they allocate dies young anyway.
        Together a twentieth of a percent of a core less when idle, for a few thousand more
        objects alive at a time."""
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])

    def _publish(self, snapshot: Snapshot) -> None:
        self.post_message(SnapshotArrived(snapshot))

    def on_snapshot_arrived(self, message: SnapshotArrived) -> None:
        self.paused = self.source.paused
        self.latest_snapshot = message.snapshot
        self.snapshots.publish(message.snapshot)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.name != MONITOR_WORKER:
            return
        if event.state in (WorkerState.ERROR, WorkerState.SUCCESS):
            why = f": {worker.error}" if event.state == WorkerState.ERROR else ""
            problem = f"monitor stopped{why}"
            self.notify(problem, title="Monitor", severity="error", timeout=30, markup=False)
            for screen in self.screen_stack:
                if isinstance(screen, OverviewScreen):
                    screen.show_problem(problem)

    def action_toggle_pause(self) -> None:
        self.source.set_paused(not self.source.paused)
        self.paused = self.source.paused

    def action_poll_now(self) -> None:
        self.source.poll_now()

    def action_overview(self) -> None:
        """Back to the overview from any depth of drill-down."""
        while len(self.screen_stack) > 1 and not isinstance(self.screen, OverviewScreen):
            self.pop_screen()

    def action_drift(self) -> None:
        """The drift view: of the highlighted endpoint when it has records, else the chooser."""
        from mmtui.ui.screens.drift import DriftScreen

        endpoint = None
        if isinstance(self.screen, OverviewScreen):
            row = self.screen.highlighted_row
            if row is not None and row.records is not None:
                endpoint = row.endpoint
        self.action_overview()
        self.push_screen(
            DriftScreen(
                self.snapshots, endpoint=endpoint, latest=self.latest_snapshot, clock=self.clock
            )
        )

    def action_alerts(self) -> None:
        """The alerts console, over the overview."""
        from mmtui.ui.screens.alerts import AlertsScreen

        self.action_overview()
        self.push_screen(
            AlertsScreen(self.snapshots, latest=self.latest_snapshot, clock=self.clock)
        )

    def action_rules(self) -> None:
        """The rules console, over the overview."""
        from mmtui.ui.screens.rules import RulesScreen

        self.action_overview()
        self.push_screen(RulesScreen(self.snapshots, latest=self.latest_snapshot, clock=self.clock))

    def action_cycle_theme(self) -> None:
        """The next theme of :attr:`theme_cycle`, wrapping round."""
        names = self.theme_cycle or sorted(self.available_themes)
        at = names.index(self.theme) + 1 if self.theme in names else 0
        self.theme = names[at % len(names)]
        self.notify(f"theme: {self.theme}", title="Theme", timeout=3, markup=False)

    def action_help(self) -> None:
        from mmtui.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.key_help()))

    def key_help(self) -> list[tuple[str, str]]:
        """``(keys, description)`` for every binding active on the current screen, the app's
        own first; keys bound to the same action are listed together."""
        grouped: dict[tuple[int, str], tuple[list[str], str]] = {}
        for active in self.screen.active_bindings.values():
            binding = active.binding
            depth = 0 if active.node is self else 1 if active.node is self.screen else 2
            keys, _ = grouped.setdefault(
                (depth, binding.action), ([], binding.description or binding.action)
            )
            keys.append(self.get_key_display(binding))
        return [
            (", ".join(keys), text)
            for _, (keys, text) in sorted(grouped.items(), key=lambda item: item[0][0])
        ]

    def _install_themes(self) -> None:
        themes, errors = load_themes(self._theme_dirs)
        for theme in themes:
            self.register_theme(theme)
        self.theme_cycle = list(dict.fromkeys(theme.name for theme in themes))
        for error in errors:
            self.notify(error, title="Theme skipped", severity="error", timeout=15, markup=False)
        wanted = self._theme_wanted or DEFAULT_THEME
        if wanted not in self.available_themes:
            fallback = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else FALLBACK_THEME
            if self._theme_wanted is not None:
                names = ", ".join(sorted(t.name for t in themes))
                self.notify(
                    f"unknown theme {wanted!r}; using {fallback!r} (themes: {names})",
                    title="Theme",
                    severity="warning",
                    timeout=15,
                    markup=False,
                )
            wanted = fallback
        self.theme = wanted


def run_tui(
    source: SnapshotSource,
    *,
    theme: str | None = None,
    theme_dirs: Sequence[Path] = (),
    readonly: bool = False,
) -> int:
    """Run the app until the user quits; returns the process exit code."""
    app = MmtuiApp(source, theme=theme, theme_dirs=theme_dirs, readonly=readonly)
    app.run()
    return app.return_code or 0
