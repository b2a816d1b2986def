"""The alert pane beside the overview: firing and pending alerts, one line each, own cursor.

The pane is always shown, with a title line that says "no alerts" (or that alerts are not
configured) when it is empty, so the layout does not jump when the first alert fires. The
drawing functions are pure and shared with the alerts console. A ``/`` filter
(:meth:`AlertPane.filter`) keeps the alerts whose text (:func:`alert_text`) contains the query,
and the title says it is in force.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from mmtui.alerts.rules import SEVERITY_RANK
from mmtui.alerts.state import Alert
from mmtui.ui.draw import format_age
from mmtui.ui.sortrows import Cell, Column, Row
from mmtui.ui.widgets.drift_table import DriftTable
from mmtui.ui.widgets.filter_bar import filter_items, filter_note

SEVERITY_SHORT = {"critical": "CRIT", "warning": "warn", "info": "info"}
"""Severity as four characters: capitals for the one that pages."""
_SEVERITY_STYLE = {"critical": "bad", "warning": "warn", "info": ""}
_PAD = 2
_SCROLLBAR = 1


def short_who(who: str) -> str:
    """The user part of ``user@host``.

    >>> short_who("ana@jump1")
    'ana'
    """
    return who.split("@", 1)[0] or who


def state_text(alert: Alert, *, short: bool = False) -> str:
    """The alert's state as a word: ``FIRING``, ``pending``, ``acked by ana`` (``short``:
    ``ack ana``), ``silenced``, ``inhibited`` or ``resolved``; readable without colour."""
    if alert.state == "resolved":
        return "resolved"
    if alert.ack is not None:
        return f"{'ack' if short else 'acked by'} {short_who(alert.ack.by)}"
    if alert.silenced_by:
        return "silenced"
    if alert.inhibited:
        return "inhibited"
    return "FIRING" if alert.state == "firing" else "pending"


def state_style(alert: Alert) -> str:
    """The style name of the alert's state cell (see :class:`~mmtui.ui.sortrows.Cell`)."""
    if alert.state == "resolved":
        return "good"
    if alert.ack is not None or alert.muted:
        return "muted"
    return "bad" if alert.state == "firing" else "warn"


def handled(alert: Alert) -> bool:
    """Acknowledged, silenced or inhibited: shown dimmed."""
    return alert.ack is not None or alert.muted


COMPLIANCE_MARK = "SLO "
"""Prefix of compliance bounds (error budgets, accuracy floors), so they stand out as text."""


def subject(alert: Alert) -> str:
    """``rule · endpoint/model · feature``, marked ``SLO`` for a compliance bound."""
    where = alert.endpoint if alert.model is None else f"{alert.endpoint}/{alert.model}"
    parts = [alert.rule, where] + ([alert.feature] if alert.feature else [])
    mark = COMPLIANCE_MARK if alert.compliance else ""
    return mark + " · ".join(parts)


def alert_text(alert: Alert) -> str:
    """What the filter matches an alert on: its id, severity (word and as shown), state (as
    shown and as raised) and subject; not its age or value, which change as it runs.

    >>> from mmtui.alerts.state import Ack
    >>> alert = Alert("0123456789abcdef", "p95", "ranker", None, None, "latency_p95_ms",
    ...               "critical", "firing", 0.0, 0.0, None, None, {}, ack=Ack("ana@h", 1.0))
    >>> alert_text(alert)
    '01234567 critical CRIT acked by ana firing p95 · ranker'
    """
    severity = SEVERITY_SHORT.get(alert.severity, alert.severity)
    return " ".join((alert.id, alert.severity, severity, state_text(alert), alert.state,
                     subject(alert)))


def severity_cell(alert: Alert, dim: bool) -> Cell:
    style = "muted" if dim else _SEVERITY_STYLE.get(alert.severity, "")
    return Cell(SEVERITY_SHORT.get(alert.severity, alert.severity), style)


def pane_alerts(alerts: Sequence[Alert]) -> list[Alert]:
    """Firing and pending alerts, most severe first, then the oldest first."""
    active = [a for a in alerts if a.state in ("firing", "pending")]
    return sorted(active, key=lambda a: (-SEVERITY_RANK.get(a.severity, 0), a.since, a.id))


def pane_rows(alerts: Sequence[Alert], now: float) -> list[Row]:
    """One row per alert of :func:`pane_alerts`, in that order."""
    rows = []
    for alert in pane_alerts(alerts):
        dim = handled(alert)
        text = "muted" if dim else ""
        cells = {
            "sev": severity_cell(alert, dim),
            "state": Cell(state_text(alert, short=True), state_style(alert)),
            "age": Cell(format_age(now - alert.since), text),
            "what": Cell(subject(alert), text),
        }
        rows.append(Row(alert.fingerprint, cells, {}))
    return rows


def pane_columns(width: int, longest_key: int) -> tuple[Column, ...]:
    """Severity, state, age, and what is left for the rule and endpoint."""
    fixed = (Column("sev", "SEV", 4), Column("state", "STATE", 9), Column("age", "AGE", 6, True))
    used = sum(c.width + _PAD for c in fixed) + _PAD + _SCROLLBAR
    return (*fixed, Column("what", "ALERT", max(8, width - used)))


def pane_title(alerts: Sequence[Alert], configured: bool, note: str = "") -> str:
    """``ALERTS  2 firing · 1 pending`` or why the pane is empty; counts are of every alert,
    and a filter's ``note`` comes first (in brackets) so a cut title still shows it."""
    head = f"ALERTS  [{note}]  " if note else "ALERTS  "
    firing = sum(a.state == "firing" for a in alerts)
    pending = sum(a.state == "pending" for a in alerts)
    if not firing and not pending:
        return head + ("none firing" if configured else "not configured (no rules)")
    acked = sum(a.ack is not None for a in alerts if a.state in ("firing", "pending"))
    parts = [f"{firing} firing", f"{pending} pending"] + ([f"{acked} acked"] if acked else [])
    return head + " · ".join(parts)


class AlertList(DriftTable, inherit_bindings=False):
    """The pane's table: fixed order (severity, age), enter opens the alert."""

    BINDINGS = [
        Binding("enter", "select", "Alert detail"),
        Binding("down,j", "cursor_down", "Cursor down", show=False),
        Binding("up,k", "cursor_up", "Cursor up", show=False),
        Binding("home", "first", "First row", show=False),
        Binding("end", "last", "Last row", show=False),
    ]


class AlertPane(Vertical):
    """Title line and :class:`AlertList`; :meth:`show_alerts` renders the alerts given."""

    DEFAULT_CSS = """
    AlertPane {
        height: 1fr;
        & > #alert-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
        & > AlertList { height: 1fr; }
    }
    """

    def __init__(self, *, clock: Callable[[], float], id: str | None = None) -> None:
        super().__init__(id=id)
        self._clock = clock
        self._alerts: tuple[Alert, ...] = ()
        self._configured = True
        self._query = ""

    def compose(self) -> ComposeResult:
        yield Static("ALERTS", id="alert-title", markup=False)
        yield AlertList(pane_columns, sort="", id="alert-list")

    @property
    def list(self) -> AlertList:
        return self.query_one(AlertList)

    @property
    def selected(self) -> Alert | None:
        """The alert under the pane's cursor."""
        key = self.list.highlighted
        return next((a for a in self._alerts if a.fingerprint == key), None)

    @property
    def shown(self) -> tuple[Alert, ...]:
        """The alerts the pane was last given (all states)."""
        return self._alerts

    def show_alerts(self, alerts: Sequence[Alert], *, configured: bool = True) -> None:
        """Show the firing and pending ones of ``alerts``; the cursor keeps its alert."""
        self._alerts = tuple(alerts)
        self._configured = configured
        self.refresh_ages()

    def filter(self, query: str) -> None:
        """Show only the alerts that pass ``query``, now and as alerts come and go."""
        if query != self._query:
            self._query = query
            self.refresh_ages()

    def refresh_ages(self) -> None:
        """Redraw with the current time; only changed cells repaint."""
        shown = filter_items(self._alerts, self._query, alert_text)
        rows = pane_rows(shown, self._clock())
        self.list.show_rows(rows)
        title = self.query_one("#alert-title", Static)
        note = filter_note(self._query, len(rows), len(pane_alerts(self._alerts)))
        text = pane_title(self._alerts, self._configured, note)
        if str(title.content) != text:
            title.update(text)
