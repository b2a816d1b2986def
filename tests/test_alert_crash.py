"""Durability and sharing across real processes: an acknowledging child killed with SIGKILL loses
no ack it reported, and two processes acknowledging and noting at once lose and duplicate nothing.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from mmtui.alerts.rules import Rule
from mmtui.alerts.state import AlertEngine, Observation
from mmtui.alerts.store import Store

REPO = Path(__file__).resolve().parents[1]
T0 = 1_714_564_800.0

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

ACK_FOREVER = """
import sys
from mmtui.alerts.store import Store

store = Store(sys.argv[1])
ids = [a.id for a in store.alerts()]
k = 0
while True:
    ref = ids[k % len(ids)]
    store.ack(ref, "child@host", note=f"n{k}")
    print(ref, k, flush=True)
    k += 1
"""

ACK_AND_NOTE = """
import os, sys, time
from mmtui.alerts.store import Store

path, name, go, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = Store(path)
ids = [a.id for a in store.alerts()]
mine = ids[: n // 2] if name == "A" else ids[n // 2 : n]
shared = ids[n]
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.001)
for i in range(n):
    if i % 2 == 0:
        store.ack(mine[i // 2], f"{name}@host", note=f"{name}-{i}")
    else:
        store.note(shared, f"{name}@host", f"{name}-{i}")
print("done", flush=True)
"""


def make_alerts(path: Path, n: int) -> None:
    engine = AlertEngine([Rule("slow", "latency_p95_ms", ">", 250.0)])
    obs = [Observation(f"ep{i:03d}", None, "latency_p95_ms", 300.0) for i in range(n)]
    step = engine.evaluate(T0, obs, {})
    with Store(path) as store:
        store.record(engine.alerts(), step.transitions, now=T0)


def spawn(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args], cwd=REPO, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def parse_report(line: str) -> tuple[str, int]:
    ref, k = line.split()
    return ref, int(k)


@pytest.mark.parametrize("kill_after", [1, 17, 60])
def test_sigkill_loses_no_reported_ack(tmp_path: Path, kill_after: int) -> None:
    path = tmp_path / "state.db"
    make_alerts(path, 20)
    child = spawn(ACK_FOREVER, str(path))
    assert child.stdout is not None and child.stderr is not None
    reported: list[tuple[str, int]] = []
    for line in child.stdout:
        reported.append(parse_report(line))
        if len(reported) >= kill_after:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, child.stderr.read()
    for line in child.stdout.read().splitlines():  # reported before the kill landed
        if line.count(" ") == 1:
            reported.append(parse_report(line))
    assert len(reported) >= kill_after

    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    with Store(path) as store:
        logged = {(e.fingerprint[:8], e.detail["note"]) for e in store.events()
                  if e.kind == "ack" and e.fingerprint is not None}
        acks = {fp[:8]: ack for fp, ack in store.acks(T0).items()}
    for ref, k in reported:
        assert (ref, f"n{k}") in logged
        assert acks[ref].by == "child@host"
        stored_k = int(str(acks[ref].note)[1:])
        assert stored_k >= k  # the latest ack of this alert, or a later one


def test_two_processes_acking_and_noting_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    n = 60  # per process: 30 acks and 30 notes
    path = tmp_path / "state.db"
    make_alerts(path, n + 1)
    go = tmp_path / "go"
    children = {name: spawn(ACK_AND_NOTE, str(path), name, str(go), str(n)) for name in "AB"}
    for child in children.values():
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
    go.touch()
    deadline = time.monotonic() + 120
    for child in children.values():
        out, err = child.communicate(timeout=max(1.0, deadline - time.monotonic()))
        assert (child.returncode, out.strip(), err) == (0, "done", "")

    with Store(path) as store:
        events = [e for e in store.events() if e.kind in ("ack", "note")]
        acks = store.acks(T0)
    assert len(events) == 2 * n
    texts = Counter(str(e.detail.get("note") or e.detail.get("text")) for e in events)
    expected = {f"{name}-{i}" for name in "AB" for i in range(n)}
    assert set(texts) == expected and set(texts.values()) == {1}
    assert len(acks) == n
    assert {a.note for a in acks.values()} == {
        f"{name}-{i}" for name in "AB" for i in range(0, n, 2)
    }
    assert Counter(a.by for a in acks.values()) == {"A@host": n // 2, "B@host": n // 2}
