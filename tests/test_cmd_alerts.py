"""``mmtui alerts list|ack|unack|silence|history`` as real processes on one SQLite state file that
this test fills as a monitor would; every mistake is one line on stderr and exit 2."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mmtui.alerts.rules import Rule
from mmtui.alerts.state import AlertEngine, Observation
from mmtui.alerts.store import EndpointStatus, Store

T0 = 1_714_564_800.0
ENDPOINTS = [f"ep{i}" for i in range(17)]  # 17 ids: two share a first hex digit
ME = f"ana@{socket.gethostname()}"


def mmtui(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp), "USER": "ana",
           "XDG_CONFIG_HOME": str(tmp / "xdg-config"), "XDG_STATE_HOME": str(tmp / "xdg-state")}
    return subprocess.run([sys.executable, "-m", "mmtui", *args], capture_output=True, text=True,
                          timeout=60, env=env, cwd=tmp, stdin=subprocess.DEVNULL)


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mmtui: error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """A state file with a firing latency alert per endpoint and one resolved error alert."""
    path = tmp_path / "state.db"
    engine = AlertEngine([Rule("slow", "latency_p95_ms", ">", 250.0),
                          Rule("errors", "error_rate", ">", 0.05)])
    with Store(path) as store:
        now = T0
        for errors in (0.5, 0.0):
            obs = [Observation(ep, None, "latency_p95_ms", 300.0) for ep in ENDPOINTS]
            obs.append(Observation("ep0", None, "error_rate", errors))
            step = engine.evaluate(now, obs, dict.fromkeys(ENDPOINTS, "up"))
            statuses = [EndpointStatus(ep, "up", None, now, 2.0,
                                       {"latency_p95_ms": 300.0, "error_rate": float("nan")})
                        for ep in ENDPOINTS]
            store.record(engine.alerts(), step.transitions, now=now, endpoints=statuses)
            now += 10
    return path


def alerts_json(tmp: Path, state: Path, *extra: str) -> list[dict[str, Any]]:
    doc = json.loads(ok(mmtui(tmp, "alerts", "--state", str(state), "list", "--format", "json",
                              *extra)))
    assert set(doc) == {"endpoints", "alerts"}
    # recorded in 2024 by a monitor long gone: stale, with the last figures (NaN as null)
    assert [e["name"] for e in doc["endpoints"]] == sorted(ENDPOINTS)
    for e in doc["endpoints"]:
        assert e["status"] == "stale" and e["error"] is None
        assert e["metrics"] == {"latency_p95_ms": 300.0, "error_rate": None}
    alerts: list[dict[str, Any]] = doc["alerts"]
    return alerts


def test_list_ack_unack_history_round_trip(tmp_path: Path, state: Path) -> None:
    listed = alerts_json(tmp_path, state)
    assert Counter(a["state"] for a in listed) == {"firing": 17}  # resolved only with --all
    assert {a["rule"] for a in alerts_json(tmp_path, state, "--all")} == {"slow", "errors"}
    target = next(a for a in listed if a["endpoint"] == "ep3")
    assert target["acknowledged"] is False and target["acked_by"] is None

    out = ok(mmtui(tmp_path, "alerts", "ack", target["id"][:6], "--note", "scaling up",
                   "--for", "30m", "--state", str(state)))
    assert out.startswith(f"acknowledged {target['id']} (slow on ep3, firing) as {ME} until ")
    acked = next(a for a in alerts_json(tmp_path, state) if a["id"] == target["id"])
    assert (acked["acknowledged"], acked["acked_by"], acked["ack_note"]) == (
        True, ME, "scaling up")
    with Store(state) as store:  # what the monitor's engine will see
        ack = store.acks()[store.alert(target["id"]).fingerprint]
        assert ack.until is not None and ack.until - ack.at == 1800

    text = ok(mmtui(tmp_path, "alerts", "--state", str(state), "list"))
    line = next(x for x in text.splitlines() if target["id"] in x)
    assert line.startswith("FIRING") and f"acknowledged by {ME}: scaling up" in line

    ok(mmtui(tmp_path, "alerts", "--state", str(state), "unack", target["id"]))
    assert not next(a for a in alerts_json(tmp_path, state)
                    if a["id"] == target["id"])["acknowledged"]

    doc = json.loads(ok(mmtui(tmp_path, "alerts", "--state", str(state), "history",
                              target["id"], "--format", "json")))
    events = doc["events"]
    assert [e["kind"] for e in events] == ["transition", "ack", "unack"]
    assert all(e["alert"] == target["id"] for e in events)
    assert [e["who"] for e in events] == [None, ME, ME]
    assert events[1]["detail"]["note"] == "scaling up"
    newest = ok(mmtui(tmp_path, "alerts", "--state", str(state), "history", "--limit", "2"))
    assert len(newest.splitlines()) == 2 and "unack" in newest.splitlines()[-1]


def test_silence_round_trip_and_state_from_the_config(tmp_path: Path, state: Path) -> None:
    config = tmp_path / "mmtui.toml"
    config.write_text(f'[monitor]\nstate = "{state}"\n')  # found as ./mmtui.toml
    out = ok(mmtui(tmp_path, "alerts", "silence", "endpoint=~ep1.*", "alertname=slow",
                   "--for", "2h", "--reason", "maintenance window"))
    assert out.startswith("silence ") and "(8 current alerts match)" in out  # ep1, ep10..ep16
    with Store(state) as store:
        (silence,) = store.silences()
    assert (silence.created_by, silence.reason) == (ME, "maintenance window")
    assert silence.ends_at - silence.created_at == 7200
    assert [str(m) for m in silence.matchers] == ['endpoint=~"ep1.*"', 'alertname="slow"']
    listing = ok(mmtui(tmp_path, "alerts", "list"))
    assert "1 silences:" in listing and "maintenance window" in listing
    history = ok(mmtui(tmp_path, "alerts", "history"))
    assert f"silence         -         {ME}  {silence.short_id}" in history


def test_mistakes_are_one_line_exit_2(tmp_path: Path, state: Path) -> None:
    ids = [a["id"] for a in alerts_json(tmp_path, state, "--all")]
    first = Counter(i[0] for i in ids).most_common(1)[0][0]
    resolved = next(a["id"] for a in alerts_json(tmp_path, state, "--all")
                    if a["state"] == "resolved")
    s = ("--state", str(state))
    assert_one_line_error(mmtui(tmp_path, "alerts", *s, "ack", first), "ambiguous", first)
    assert_one_line_error(mmtui(tmp_path, "alerts", *s, "ack", "0" * 16), "no alert with id")
    assert_one_line_error(mmtui(tmp_path, "alerts", *s, "ack", "ep3"), "'ep3'", "hex")
    assert_one_line_error(mmtui(tmp_path, "alerts", *s, "ack", resolved), "resolved")
    assert_one_line_error(mmtui(tmp_path, "alerts", *s, "ack", ids[0], "--for", "ever"),
                          "--for")
    assert_one_line_error(mmtui(tmp_path, "alerts", *s, "unack", ids[0]), "not acknowledged")
    assert_one_line_error(
        mmtui(tmp_path, "alerts", *s, "silence", "endpoint", "--for", "1h", "--reason", "x"),
        "bad matcher")
    assert_one_line_error(
        mmtui(tmp_path, "alerts", *s, "silence", "endpoint=a", "--for", "0s", "--reason", "x"),
        "--for")
    assert_one_line_error(
        mmtui(tmp_path, "alerts", *s, "silence", "endpoint=~.*", "--for", "1h", "--reason", "x"),
        "does not match everything")
    assert_one_line_error(mmtui(tmp_path, "alerts", *s, "history", "--limit", "0"), "--limit")
    missing = str(tmp_path / "none.db")
    assert_one_line_error(mmtui(tmp_path, "alerts", "--state", missing, "ack", "3f2a"),
                          "does not exist yet")
    assert not Path(missing).exists()
    assert_one_line_error(mmtui(tmp_path, "alerts", "--config", str(tmp_path / "no.toml"),
                                "list"), "no.toml", "not found")


def test_no_state_yet_lists_nothing(tmp_path: Path) -> None:
    doc = json.loads(ok(mmtui(tmp_path, "alerts", "list", "--format", "json")))
    assert doc == {"endpoints": [], "alerts": []}
    assert not (tmp_path / "xdg-state").exists()  # a listing creates no state file
