"""The core is reachable without the TUI: importing any core module never imports Textual."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import mmtui

# Modules allowed to import Textual: the UI package and the commands that open it.
UI_MODULES = ("mmtui.ui", "mmtui.commands.tui", "mmtui.commands.demo")


def core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(mmtui.__path__, prefix="mmtui."):
        if info.name == "mmtui.__main__":
            continue
        if any(info.name == ui or info.name.startswith(ui + ".") for ui in UI_MODULES):
            continue
        names.append(info.name)
    return sorted(names)


def test_core_module_list_is_not_empty() -> None:
    names = core_modules()
    for expected in ("mmtui.config", "mmtui.cli", "mmtui.feeds.model", "mmtui.paths"):
        assert expected in names


def test_no_core_module_imports_textual() -> None:
    script = f"""
import importlib, json, sys
offenders = []
for name in {core_modules()!r}:
    importlib.import_module(name)
    if any(m == "textual" or m.startswith("textual.") for m in sys.modules):
        offenders.append(name)
        break
print(json.dumps(offenders))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout) == [], f"imports textual: {out.stdout}"


def test_ui_modules_do_import_textual() -> None:
    """The check above can fail: the UI itself does pull Textual in."""
    script = "import sys, mmtui.ui.app; print('textual' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "True"
