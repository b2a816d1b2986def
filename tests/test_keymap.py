"""The key table: bindings with ids, help rows, config `[keys]` reading and remapping."""

from __future__ import annotations

import pytest

from mmtui.ui.keymap import (
    ACTIONS,
    apply_remap,
    binding,
    bindings,
    display_keys,
    help_rows,
    read_keys,
    split_keys,
)


def test_ids_are_unique_and_the_defaults_do_not_clash() -> None:
    ids = [a.id for a in ACTIONS]
    assert len(ids) == len(set(ids))
    assert apply_remap({}).errors == []


def test_issue_keys_are_all_in_the_table() -> None:
    keys = {key for a in ACTIONS for key in split_keys(a.keys)}
    wanted = "1 2 3 4 tab j k enter escape slash a u s p r t question_mark ctrl+p q".split()
    assert set(split_keys(",".join(wanted))) <= keys


def test_bindings_carry_the_action_id_for_textual_keymaps() -> None:
    app = bindings("app")
    assert {b.id for b in app} >= {"quit", "help", "theme", "rules"}
    assert all(b.id is not None for b in app)
    theme = binding("theme")
    assert (theme.key, theme.action, theme.show) == ("t", "cycle_theme", False)
    with pytest.raises(KeyError):
        binding("nope")


def test_help_rows_show_keys_as_typed() -> None:
    rows = dict((text, keys) for keys, text in help_rows(scopes=["app", "table"]))
    assert rows["Keys"] == "?"
    assert rows["Cursor down"] == "↓, j"
    assert "Acknowledge" not in rows
    assert display_keys("slash") == "/"


def test_read_keys_accepts_strings_and_names_the_bad_key() -> None:
    assert read_keys({"ack": "A", "quit": " q , ctrl+c "}) == {"ack": "A", "quit": "q,ctrl+c"}
    with pytest.raises(ValueError, match=r"^keys\.ack: expected .*got 1$"):
        read_keys({"ack": 1})
    with pytest.raises(ValueError, match=r"keys\.quit"):
        read_keys({"quit": "q,,x"})


def test_remap_applies_to_the_table_and_the_textual_keymap() -> None:
    remap = apply_remap({"ack": "A", "theme": "T"})
    assert remap.errors == []
    assert remap.keymap == {"ack": "A", "theme": "T"}
    assert binding("ack", remap.table).key == "A"


def test_unknown_ids_are_rejected_in_one_line() -> None:
    remap = apply_remap({"acknowledge": "A"})
    assert remap.keymap == {}
    [error] = remap.errors
    assert error.startswith("keys.acknowledge: unknown action (known: overview, ")
    assert "\n" not in error


def test_clashing_keys_are_rejected_and_the_default_kept() -> None:
    remap = apply_remap({"ack": "q", "unack": "?"})  # q quits and ? is help, everywhere
    assert remap.keymap == {}
    assert remap.errors == [
        "keys.ack: 'q' is already bound to 'quit' (Quit); keeping 'a'",
        "keys.unack: '?' is already bound to 'help' (Keys); keeping 'u'",
    ]
    assert binding("ack", remap.table).key == "a"


def test_keys_of_screens_never_shown_together_may_coincide() -> None:
    remap = apply_remap({"ack": "e"})  # e edits thresholds, but only in the rules console
    assert remap.errors == [] and remap.keymap == {"ack": "e"}


def test_two_remaps_onto_one_key_keep_only_the_first() -> None:
    remap = apply_remap({"ack": "x", "unack": "x"})
    assert remap.keymap == {"ack": "x"}
    assert remap.errors == ["keys.unack: 'x' is already bound to 'ack' (Acknowledge); keeping 'u'"]
