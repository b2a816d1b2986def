"""The rules console (``4``): every rule, its state and current value; edits become overrides.

``space`` enables or disables the highlighted rule, ``e`` edits its threshold (a relative rule's
factor) and ``f`` its ``for``, in place. A change is stored as a rule override in the state
store from a worker thread; the store's event log records who made it (``$USER@host``) and the
alerts service picks it up at its next tick. In read-only mode every change is refused with a
notice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal, Protocol, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.signal import Signal
from textual.widgets import Footer, Input, Static

from mmtui.alerts.identity import whoami
from mmtui.alerts.rules import Rule, RuleOverride, apply_overrides
from mmtui.alerts.store import StoreError
from mmtui.snapshot import Snapshot
from mmtui.ui.alert_actions import is_readonly
from mmtui.ui.driftdraw import screen_summary
from mmtui.ui.keymap import binding
from mmtui.ui.rulesdraw import (
    NAME,
    merged,
    parse_for,
    parse_threshold,
    rule_columns,
    rule_detail,
    rule_rows,
    rule_status,
)
from mmtui.ui.widgets.drift_table import DriftTable
from mmtui.ui.widgets.filter_bar import FilterBar, FilterScreen, filter_items, filter_note
from mmtui.ui.widgets.status_bar import StatusBar

AGE_TICK = 1.0
"""Seconds between refreshes of the data age when no snapshot arrives."""
READONLY = "read-only: rule changes are disabled (--readonly)"

Field = Literal["threshold", "for"]


class OverrideStore(Protocol):
    """What the console needs of :class:`~mmtui.alerts.store.Store` (blocking calls)."""

    def overrides(self) -> dict[str, RuleOverride]: ...

    def set_override(self, override: RuleOverride, *, now: float | None = None) -> None: ...


class RuleEditor(Input):
    """The one-line editor of a threshold or a ``for``; ``esc`` cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    class Cancelled(Message):
        """The user gave up the edit."""

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled())


class RulesScreen(FilterScreen):
    """The rules table, a detail line, the in-place editor and the filter bar.

    Rules come from the alerts service of the app's source (``source.alerts``: its
    ``config.rules`` and its ``store``); without one the console says alerts are off.
    """

    BINDINGS = [
        binding("back"),
        binding("toggle_rule"),
        binding("edit_threshold"),
        binding("edit_for"),
        binding("filter"),
    ]
    FILTERED = {"rules": "rules"}
    DEFAULT_CSS = """
    RulesScreen #notice { height: auto; padding: 0 1; background: $warning 30%; display: none; }
    RulesScreen #notice.-shown { display: block; }
    RulesScreen #detail { height: auto; max-height: 3; padding: 0 1; background: $panel; }
    RulesScreen #editor { dock: bottom; height: auto; display: none; }
    RulesScreen #editor.-open { display: block; }
    RulesScreen #edit-error { height: auto; padding: 0 1; color: $error; }
    """

    def __init__(
        self,
        snapshots: Signal[Snapshot],
        *,
        latest: Snapshot | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._snapshots = snapshots
        self._snapshot = latest
        self._clock = clock
        self._configured: tuple[Rule, ...] = ()
        self._store: OverrideStore | None = None
        self._overrides: dict[str, RuleOverride] = {}
        self._rules: dict[str, Rule] = {}
        self._editing: tuple[str, Field] | None = None

    @property
    def table(self) -> DriftTable:
        return self.query_one(DriftTable)

    @property
    def readonly(self) -> bool:
        return is_readonly(self.app)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules in force: configured, with the stored overrides applied."""
        return tuple(self._rules.values())

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("", id="notice", markup=False)
        yield DriftTable(rule_columns, sort=NAME, id="rules")
        yield Static("", id="detail", markup=False)
        with Vertical(id="editor"):
            yield RuleEditor(id="edit-input")
            yield Static("", id="edit-error", markup=False)
        yield FilterBar(id="filter")
        yield Footer()

    def on_mount(self) -> None:
        service = getattr(self.app.source, "alerts", None)  # type: ignore[attr-defined]
        if service is not None:
            self._configured = tuple(service.config.rules)
            self._store = cast(OverrideStore, service.store)
        self._rules = {rule.name: rule for rule in self._configured}
        self._snapshots.subscribe(self, self.show_snapshot, immediate=True)
        self.set_interval(AGE_TICK, self._show_status)
        if hasattr(self.app, "paused"):
            self.watch(self.app, "paused", self._show_paused)
        if self.readonly:
            self._notice(READONLY)
        elif service is None:
            self._notice("alerts are off: no rules configured or no state store")
        self._show()
        if self._store is not None:
            self._load()
        self.table.focus()

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Show the rules' states and values as of ``snapshot``."""
        self._snapshot = snapshot
        self._show()

    # -- actions -------------------------------------------------------------------------------

    def action_toggle_rule(self) -> None:
        rule = self._writable_rule()
        if rule is not None:
            self._save(rule.name, enabled=not rule.enabled)

    def action_edit_threshold(self) -> None:
        self._edit("threshold")

    def action_edit_for(self) -> None:
        self._edit("for")

    def _edit(self, what: Field) -> None:
        rule = self._writable_rule()
        if rule is None:
            return
        if what == "threshold" and rule.kind == "nodata":
            self.notify(f"rule {rule.name!r} has no threshold (NoData rule)", markup=False)
            return
        self._editing = (rule.name, what)
        current = rule.factor if rule.relative else rule.threshold
        editor = self.query_one("#edit-input", Input)
        editor.border_title = f"{rule.name}: {'factor' if rule.relative else what}"
        editor.border_subtitle = "enter saves · esc cancels"
        editor.value = f"{rule.for_:g}s" if what == "for" else f"{current:g}"
        self.query_one("#edit-error", Static).update("")
        self.query_one("#editor").add_class("-open")
        editor.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "edit-input" or self._editing is None:
            return
        event.stop()
        name, what = self._editing
        rule = self._rules.get(name)
        if rule is None:
            self._close_editor()
            return
        try:
            if what == "threshold":
                self._save(name, threshold=parse_threshold(rule, event.value))
            else:
                self._save(name, for_=parse_for(rule, event.value))
        except ValueError as exc:
            self.query_one("#edit-error", Static).update(str(exc))
            return
        self._close_editor()

    def on_rule_editor_cancelled(self, event: RuleEditor.Cancelled) -> None:
        event.stop()
        self._close_editor()

    def _close_editor(self) -> None:
        self._editing = None
        self.query_one("#editor").remove_class("-open")
        self.table.focus()

    def _writable_rule(self) -> Rule | None:
        """The highlighted rule when changes are allowed; else a notice and None."""
        if self.readonly:
            self.notify(READONLY, severity="warning", markup=False)
            return None
        if self._store is None:
            self.notify("alerts are off: nothing to change", severity="warning", markup=False)
            return None
        key = self.table.highlighted
        return None if key is None else self._rules.get(key)

    # -- the store, off the event loop ---------------------------------------------------------

    def _save(
        self, name: str, *, enabled: bool | None = None, threshold: float | None = None,
        for_: float | None = None,
    ) -> None:
        override = merged(
            self._overrides, name, by=whoami(), at=self._clock(),
            enabled=enabled, threshold=threshold, for_=for_,
        )
        self._write(override)

    @work(thread=True, group="rules-store")
    def _write(self, override: RuleOverride) -> None:
        assert self._store is not None
        try:
            self._store.set_override(override)
            overrides = self._store.overrides()
        except StoreError as exc:
            self.app.call_from_thread(self._failed, f"rule {override.rule!r} not changed: {exc}")
            return
        self.app.call_from_thread(self._loaded, overrides)

    @work(thread=True, group="rules-store")
    def _load(self) -> None:
        assert self._store is not None
        try:
            overrides = self._store.overrides()
        except StoreError as exc:
            self.app.call_from_thread(self._failed, f"rule overrides not loaded: {exc}")
            return
        self.app.call_from_thread(self._loaded, overrides)

    def _loaded(self, overrides: dict[str, RuleOverride]) -> None:
        self._overrides = overrides
        rules, problems = apply_overrides(self._configured, overrides)
        self._rules = {rule.name: rule for rule in rules}
        for problem in problems:
            self.notify(problem, severity="warning", markup=False)
        self._show()

    def _failed(self, message: str) -> None:
        self.notify(message, title="Rules", severity="error", timeout=15, markup=False)

    # -- drawing -------------------------------------------------------------------------------

    def _show(self) -> None:
        rows = filter_items(rule_rows(self.rules, self._snapshot), self.filter_query("rules"),
                            lambda row: " ".join(cell.text for cell in row.cells.values()))
        self.table.show_rows(rows)
        self._show_detail()
        self._show_status()

    def show_filtered(self, table: str) -> None:
        self._show()

    def on_drift_table_highlighted(self, event: DriftTable.Highlighted) -> None:
        event.stop()
        self._show_detail()

    def _show_detail(self) -> None:
        key = self.table.highlighted
        rule = None if key is None else self._rules.get(key)
        text = "" if rule is None else rule_detail(
            rule, rule_status(rule, self._snapshot), self._overrides.get(rule.name), self._clock()
        )
        detail = self.query_one("#detail", Static)
        if str(detail.content) != text:
            detail.update(text)

    def _notice(self, text: str) -> None:
        notice = self.query_one("#notice", Static)
        notice.update(text)
        notice.add_class("-shown")

    def _show_status(self) -> None:
        note = filter_note(self.filter_query("rules"), self.table.row_count(), len(self._rules))
        count = f"rules ({len(self._rules)})" + (f" [{note} · esc clears]" if note else "")
        self.query_one(StatusBar).summary = screen_summary(count, self._snapshot, self._clock())

    def _show_paused(self, paused: bool) -> None:
        self.query_one(StatusBar).paused = paused
