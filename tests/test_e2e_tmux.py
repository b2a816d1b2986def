"""End to end, as a user: `mmtui demo --scenario incident` in tmux, wait for a firing alert on the
screen, acknowledge it with the keys (tab to the alert pane, `a`, a note, enter), and find the ack
with its note in the store through `mmtui alerts list --format json`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

NOTE = "looking into it"


def tmux(*args: str) -> str:
    out = subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=30)
    return out.stdout


@pytest.fixture
def session(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    name = f"mmtui-e2e-{uuid.uuid4().hex[:8]}"
    state = tmp_path / "state.db"
    command = (
        f"{sys.executable} -m mmtui demo --scenario incident --state {state}; sleep 30"
    )
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "40", command)
    try:
        yield name, state
    finally:
        tmux("kill-session", "-t", name)


def screen(name: str) -> str:
    return tmux("capture-pane", "-p", "-t", name)


def wait_for(name: str, text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        shown = screen(name)
        if text in shown:
            return shown
        time.sleep(0.5)
    raise AssertionError(f"{text!r} not on screen after {timeout:.0f} s:\n{shown}")


def test_acknowledge_a_firing_alert_from_the_keyboard(session: tuple[str, Path]) -> None:
    name, state = session
    wait_for(name, "FIRING", timeout=90)  # the chat-llm latency spike, ~20 s into the script
    tmux("send-keys", "-t", name, "Tab")  # focus the alert pane (most urgent alert first)
    tmux("send-keys", "-t", name, "a")
    wait_for(name, "esc cancels", timeout=10)  # the ack prompt: a note, then an expiry
    tmux("send-keys", "-t", name, "-l", NOTE)
    tmux("send-keys", "-t", name, "Enter")
    deadline = time.monotonic() + 30
    acked: list[dict[str, object]] = []
    while time.monotonic() < deadline and not acked:
        out = subprocess.run(
            [sys.executable, "-m", "mmtui", "alerts", "--state", str(state), "list",
             "--format", "json"],
            capture_output=True, text=True, timeout=60,
        )
        assert out.returncode == 0, out.stderr
        acked = [a for a in json.loads(out.stdout)["alerts"] if a["acknowledged"]]
        time.sleep(0.5)
    assert acked, screen(name)
    (alert,) = acked
    assert alert["ack_note"] == NOTE
    assert alert["state"] == "firing"
    assert isinstance(alert["acked_by"], str) and "@" in alert["acked_by"]
    tmux("send-keys", "-t", name, "q")
