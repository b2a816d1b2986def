"""Every key of the console in one table: it makes the bindings, the help rows and the commands.

Each action has an id (what a user remaps in the config's ``[keys]`` table, e.g. ``ack = "A"``),
its default keys, a description, whether the footer shows it, and the scope it is bound in:

``app``      everywhere (the app's own bindings);
``table``    any focused table (cursor, enter, ``/``);
``screen``   every view screen (``esc`` back);
``alerts``   the alert pane, console and detail; ``rules`` the rules console;
``replay``   everywhere in a replay (``mmtui replay``) only.

Bindings carry the action's id as their Textual binding id, so ``App.set_keymap`` applies a
remap checked by :func:`apply_remap`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from textual.binding import Binding
from textual.keys import format_key

Scope = Literal["app", "table", "screen", "alerts", "rules", "replay"]

_SHARED: Final = frozenset({"app", "table", "replay"})
"""Scopes active together with every other: their keys clash with keys of any scope."""


@dataclass(frozen=True, slots=True)
class KeyAction:
    """One remappable action."""

    id: str
    keys: str
    """Comma-separated Textual key names, e.g. ``"down,j"``."""
    description: str
    scope: Scope = "app"
    show: bool = True
    """Shown in the footer."""
    action: str = ""
    """The Textual action to run; the id when empty."""
    palette: bool = field(default=True, compare=False)
    """Offered in the command palette."""

    @property
    def textual_action(self) -> str:
        return self.action or self.id

    def binding(self) -> Binding:
        return Binding(self.keys, self.textual_action, self.description, show=self.show, id=self.id)


ACTIONS: Final[tuple[KeyAction, ...]] = (
    KeyAction("overview", "1", "Overview", show=False),
    KeyAction("alerts", "2", "Alerts"),
    KeyAction("drift", "3", "Drift"),
    KeyAction("rules", "4", "Rules"),
    KeyAction("pause", "p", "Pause/resume", action="toggle_pause"),
    KeyAction("poll", "r", "Poll now", action="poll_now"),
    KeyAction("theme", "t", "Next theme", show=False, action="cycle_theme"),
    KeyAction("help", "question_mark", "Keys"),
    KeyAction("palette", "ctrl+p", "Commands", show=False, action="command_palette",
              palette=False),
    KeyAction("quit", "q", "Quit"),
    KeyAction("focus_next", "tab", "Next pane", show=False, scope="screen", action="focus_next",
              palette=False),
    KeyAction("back", "escape", "Back", scope="screen"),
    KeyAction("cursor_down", "down,j", "Cursor down", show=False, scope="table", palette=False),
    KeyAction("cursor_up", "up,k", "Cursor up", show=False, scope="table", palette=False),
    KeyAction("select", "enter", "Open", scope="table"),
    KeyAction("filter", "slash", "Filter (! inverts)", scope="table"),
    KeyAction("ack", "a", "Acknowledge", scope="alerts"),
    KeyAction("unack", "u", "Unacknowledge", scope="alerts"),
    KeyAction("silence", "s", "Silence", scope="alerts"),
    KeyAction("copy_runbook", "c", "Copy runbook URL", scope="alerts"),
    KeyAction("toggle_rule", "space", "Enable/disable", scope="rules"),
    KeyAction("edit_threshold", "e", "Edit threshold", scope="rules"),
    KeyAction("edit_for", "f", "Edit for", scope="rules"),
    KeyAction("step", "n,full_stop", "Step one tick", scope="replay", action="replay_step"),
)
"""The default key table."""


@dataclass(frozen=True, slots=True)
class Remap:
    """The outcome of :func:`apply_remap`."""

    table: tuple[KeyAction, ...]
    """The key table with the accepted remaps applied."""
    keymap: dict[str, str]
    """Binding id → keys for ``App.set_keymap``: the accepted remaps only."""
    errors: list[str]
    """One line per rejected entry; rejected entries keep their default keys."""


def bindings(scope: Scope, table: Sequence[KeyAction] = ACTIONS) -> list[Binding]:
    """The Textual bindings of ``scope``, each with its action's id as binding id."""
    return [action.binding() for action in table if action.scope == scope]


def binding(action_id: str, table: Sequence[KeyAction] = ACTIONS) -> Binding:
    """The Textual binding of one action; KeyError for an unknown id."""
    for action in table:
        if action.id == action_id:
            return action.binding()
    raise KeyError(action_id)


def help_rows(
    table: Sequence[KeyAction] = ACTIONS, scopes: Iterable[Scope] | None = None
) -> list[tuple[str, str]]:
    """``(keys, description)`` per action of ``scopes`` (all when None), in table order."""
    wanted = None if scopes is None else set(scopes)
    return [
        (display_keys(action.keys), action.description)
        for action in table
        if wanted is None or action.scope in wanted
    ]


def display_keys(keys: str) -> str:
    """Keys as a user reads them.

    >>> display_keys("question_mark"), display_keys("down,j"), display_keys("ctrl+p,slash")
    ('?', '↓, j', 'ctrl+p, /')
    """
    return ", ".join(split_keys(keys))


def split_keys(keys: str) -> list[str]:
    """The keys of a comma-separated list in one canonical form (as displayed), so that ``?``
    and ``question_mark`` compare equal.

    >>> split_keys("?, question_mark,A,ctrl+x")
    ['?', '?', 'A', 'ctrl+x']
    """
    return [format_key(key.strip()) for key in keys.split(",")]


def read_keys(table: Mapping[str, object]) -> dict[str, str]:
    """The config's ``[keys]`` table as id → keys; ValueError naming the key when a value is not
    a non-empty string of comma-separated keys (ids are checked by :func:`apply_remap`).

    >>> read_keys({"ack": "A", "quit": "q, ctrl+c"})
    {'ack': 'A', 'quit': 'q,ctrl+c'}
    """
    out: dict[str, str] = {}
    for name, value in table.items():
        expected = "keys such as \"A\" or \"ctrl+a,x\""
        if not isinstance(value, str):
            raise ValueError(f"keys.{name}: expected {expected}, got {value!r}")
        keys = [key.strip() for key in value.split(",")]
        if not all(keys) or any(" " in key for key in keys):
            raise ValueError(f"keys.{name}: expected {expected}, got {value!r}")
        out[name] = ",".join(keys)
    return out


def apply_remap(mapping: Mapping[str, str], table: Sequence[KeyAction] = ACTIONS) -> Remap:
    """Apply user remaps (id → keys) to ``table``; unknown ids and keys that clash with another
    action active at the same time are rejected with one line each."""
    by_id = {action.id: action for action in table}
    errors: list[str] = []
    accepted: dict[str, str] = {}
    for name, keys in mapping.items():
        if name not in by_id:
            errors.append(f"keys.{name}: unknown action (known: {', '.join(by_id)})")
        else:
            accepted[name] = keys
    clashes: dict[str, str] = {}
    # Drop clashing remaps one by one until the table is consistent again.
    while True:
        remapped = tuple(
            dataclasses.replace(a, keys=accepted[a.id]) if a.id in accepted else a for a in table
        )
        clash = _first_clash(remapped, accepted)
        if clash is None:
            break
        name, key, other = clash
        clashes[name] = (
            f"keys.{name}: {key!r} is already bound to {other!r} "
            f"({by_id[other].description}); keeping {display_keys(by_id[name].keys)!r}"
        )
        del accepted[name]
    errors += [clashes[name] for name in mapping if name in clashes]
    return Remap(remapped, accepted, errors)


def _first_clash(
    table: Sequence[KeyAction], remapped: Mapping[str, str]
) -> tuple[str, str, str] | None:
    """``(remapped id, key, other id)`` for the last remap (in ``remapped``'s order) whose key
    another action active at the same time also has; None when there is none."""
    by_id = {action.id: action for action in table}
    for name in reversed(list(remapped)):
        action = by_id[name]
        for other in table:
            if other.id == action.id or not _together(action.scope, other.scope):
                continue
            shared = set(split_keys(action.keys)) & set(split_keys(other.keys))
            if shared:
                return action.id, sorted(shared)[0], other.id
    return None


def _together(a: Scope, b: Scope) -> bool:
    return a == b or a in _SHARED or b in _SHARED
