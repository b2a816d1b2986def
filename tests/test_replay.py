"""Record and replay: a recorded incident replays to the same alerts.

One run (a module fixture) drives the real simulator's ``incident`` scenario on 127.0.0.1 with a
fake clock, 4 s a poll, as tests/test_incident.py does: a first Monitor runs 0-56 s into a real
SQLite file (its alerts are in the store when the recording starts), then a second Monitor, with a
Recorder, runs 60-132 s on the same store: the chat-llm latency alert resolving, fraud-scorer's
error burst, image-classifier down (NoData pending → firing → resolved) and, where the simulator
serves records, the drift alerts. The replay of that file on a new store must log the same
transitions at the same times with the same values, and end on the same alerts and figures.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mmtui import cli
from mmtui.alerts.rules import Rule
from mmtui.alerts.service import AlertService
from mmtui.alerts.state import Observation
from mmtui.alerts.store import Event, Store
from mmtui.commands.check import document
from mmtui.config import Config, EndpointConfig, parse_config
from mmtui.feeds.promsource import PromPoll
from mmtui.monitor import Monitor
from mmtui.names import SERVING_METRICS
from mmtui.recording import Recorder, RecordingError, RecordingReader, count_ticks, seed_store
from mmtui.replay import ReplaySource
from mmtui.sim.server import SimServer
from mmtui.snapshot import Snapshot
from mmtui.ui.replay_app import ReplayApp
from mmtui.ui.widgets.status_bar import StatusBar
from tests.test_incident import EPOCH, RULES, STEP, Clock

BEFORE = 56.0
"""The first Monitor's last poll (seconds into the script)."""
START, END = 60.0, 132.0
"""The recorded Monitor's first and last polls."""


def _quiet() -> None:
    pass


@dataclass
class Recorded:
    path: Path
    config: Config
    transitions: list[Event]
    """What the live store logged during the recorded run."""
    last: Snapshot
    ticks: int
    records: bool


async def _record(tmp: Path) -> Recorded:
    clock = Clock()
    with SimServer(scenario="incident", seed=7, clock=clock) as sim:
        records = any(ep["records_url"] for ep in sim.endpoints)
        base = parse_config(sim.config_toml(interval="2s"), source="<sim>", env={})
        rules = parse_config(RULES, source="<test>", env={}).rules
        config = dataclasses.replace(base, rules=rules, channels=())
        store = Store(tmp / "state.db")
        try:
            service = AlertService(config, store=store, clock=clock, bell=_quiet)
            monitor = Monitor(config, clock=clock, alerts=service)
            t = 0.0
            while t <= BEFORE:
                clock.t = EPOCH + t
                await monitor.poll_once()
                t += STEP
            await service.aclose()
            logged = store.events()[-1].id

            clock.t = EPOCH + START
            recorder = Recorder.create(tmp / "incident.ndjson.gz")
            service = AlertService(config, store=store, clock=clock, bell=_quiet)
            monitor = Monitor(config, clock=clock, alerts=service, recorder=recorder)
            recorder.start(config, baselines=monitor.baselines(), store=store, at=clock.t)
            t = START
            while t <= END:
                clock.t = EPOCH + t
                last = await monitor.poll_once()
                t += STEP
            recorder.close()
            await service.aclose()
            assert recorder.failed is None
            transitions = [e for e in store.events(after=logged) if e.kind == "transition"]
        finally:
            store.close()
    return Recorded(recorder.path, config, transitions, last, recorder.ticks, records)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    return asyncio.run(_record(tmp_path_factory.mktemp("record")))


def _key(e: Event) -> tuple[Any, ...]:
    d = e.detail
    return (e.fingerprint, e.at, d["from"], d["to"], d["rule"], d["endpoint"], d["value"],
            d["threshold"])


async def _replay(path: Path, state: Path | None = None) -> tuple[ReplaySource, Snapshot | None,
                                                                  list[Event]]:
    source = ReplaySource.open(path, state=state)
    try:
        snap = await source.replay_all()
        return source, snap, source.transitions()
    finally:
        await source.aclose()


def timeline(events: list[Event], rule: str, endpoint: str) -> list[tuple[str, float]]:
    return [(str(e.detail["to"]), e.at - EPOCH) for e in events
            if e.detail["rule"] == rule and e.detail["endpoint"] == endpoint]


# --------------------------------------------------------------------------- the same alerts


async def test_a_recorded_incident_replays_to_the_same_transitions(recorded: Recorded) -> None:
    live = recorded.transitions
    # the recording holds an incident worth replaying, restored alerts included
    assert timeline(live, "endpoint down", "image-classifier") == [
        ("pending", 96.0), ("firing", 108.0), ("resolved", 128.0)]
    fraud = [e for e in live if e.detail["rule"] == "error rate"
             and e.detail["endpoint"] == "fraud-scorer"]
    assert [(e.detail["from"], e.detail["to"]) for e in fraud] == [
        ("pending", "firing"), ("firing", "resolved")]  # pending since the first run
    if recorded.records:
        assert [s for s, _ in timeline(live, "dataset drift", "sentiment")] == [
            "pending", "firing"]

    source, snap, replayed = await _replay(recorded.path)
    assert source.reader.problem is None
    assert source.tick == recorded.ticks == count_ticks(recorded.path)
    assert source.divergences == []
    assert [_key(e) for e in replayed] == [_key(e) for e in live]
    assert snap is not None
    assert [a.to_json() for a in snap.alerts] == [a.to_json() for a in recorded.last.alerts]
    assert document(snap)["endpoints"] == document(recorded.last)["endpoints"]
    assert snap.at == recorded.last.at


async def test_the_recording_keeps_no_secret_and_needs_no_other_file(
    recorded: Recorded, tmp_path: Path
) -> None:
    with RecordingReader(recorded.path) as reader:
        header = reader.header
    assert header.config.rules == recorded.config.rules
    assert header.config.channels == ()
    names = [ep.name for ep in header.config.endpoints]
    assert names == [ep.name for ep in recorded.config.endpoints]
    if recorded.records:  # the baselines travel inside the recording
        assert {n for n, b in header.baselines.items() if b is not None}
    assert header.alerts  # the first run's alerts, restored by the recorded one
    secret = dataclasses.replace(
        recorded.config,
        endpoints=(dataclasses.replace(recorded.config.endpoints[0],
                                       metrics_url="https://user:pw@h.example/m?token=s3cret",
                                       headers={"Authorization": "Bearer s3cret"}),),
    )
    path = tmp_path / "secret.gz"
    recorder = Recorder.create(path)
    recorder.start(secret, baselines={}, store=None, at=EPOCH)
    recorder.close()
    text = gzip.decompress(path.read_bytes()).decode()
    assert "s3cret" not in text and "pw@" not in text
    assert json.loads(text)["config"]["endpoints"][0]["metrics_url"] == "https://h.example/m"


def test_relative_rule_history_is_carried_and_seeded(tmp_path: Path) -> None:
    relative = Rule("p95 vs usual", metric="latency_p95_ms", relative_to="baseline", factor=2.0,
                    endpoint="api", baseline_window=600.0)
    config = Config(endpoints=(EndpointConfig("api", "http://127.0.0.1:9/m", preset="vllm"),),
                    rules=(relative,))
    with Store(tmp_path / "a.db") as store:
        for k in range(30):
            t = EPOCH + 10.0 * k
            store.add_history(t, [Observation("api", None, "latency_p95_ms", 100.0 + k),
                                  Observation("api", None, "throughput_rps", 5.0),
                                  Observation("other", None, "latency_p95_ms", 7.0)])
        store.flush()
        now = EPOCH + 300.0
        path = tmp_path / "r.gz"
        recorder = Recorder.create(path)
        recorder.start(config, baselines={}, store=store, at=now)
        recorder.close()
        expected = store.history(now - 600.0, resolution=10)[("api", None, "latency_p95_ms")]
    with RecordingReader(path) as reader, Store(tmp_path / "b.db") as fresh:
        seed_store(fresh, reader.header)
        got = fresh.history(now - 600.0, resolution=10)
    assert got == {("api", None, "latency_p95_ms"): expected}  # only what the rule reads


async def test_prometheus_source_polls_replay_too(tmp_path: Path) -> None:
    endpoint = EndpointConfig("prom-api", "", preset="vllm", source="prometheus",
                              prometheus_url="http://127.0.0.1:9", selector='{job="api"}')
    rule = Rule("p95", metric="latency_p95_ms", op=">", threshold=100.0, for_=4.0)
    config = Config(endpoints=(endpoint,), rules=(rule,))
    clock, path = Clock(), tmp_path / "prom.gz"
    with Store(tmp_path / "s.db") as store:
        service = AlertService(config, store=store, clock=clock, bell=_quiet)
        recorder = Recorder.create(path)
        monitor = Monitor(config, clock=clock, alerts=service, recorder=recorder)
        recorder.start(config, baselines={}, store=store, at=clock.t)
        for k, p95 in enumerate([50.0, 150.0, 160.0, 170.0, 40.0]):
            clock.t = EPOCH + 2.0 * k
            metrics = dict.fromkeys(SERVING_METRICS) | {"latency_p95_ms": p95}
            poll = PromPoll(clock.t, "up", None, metrics, {})
            await asyncio.to_thread(monitor.ingest_prometheus, "prom-api", poll)
            last = await monitor.refresh()
        recorder.close()
        await service.aclose()
        live = [e for e in store.events() if e.kind == "transition"]
    assert [e.detail["to"] for e in live] == ["pending", "firing", "resolved"]
    source, snap, replayed = await _replay(path)
    assert [_key(e) for e in replayed] == [_key(e) for e in live]
    assert snap is not None and document(snap) == document(last)


# --------------------------------------------------------------------------- crashes


def _lines(path: Path) -> list[bytes]:
    return gzip.decompress(path.read_bytes()).splitlines(keepends=True)


async def test_a_recording_cut_mid_write_replays_up_to_the_cut(
    recorded: Recorded, tmp_path: Path
) -> None:
    raw = recorded.path.read_bytes()
    cut = tmp_path / "cut.gz"
    cut.write_bytes(raw[: len(raw) * 2 // 3])  # a crash: no gzip trailer, a torn line
    source, snap, replayed = await _replay(cut)
    assert source.reader.problem is not None and "mid-write" in source.reader.problem
    assert 0 < source.tick < recorded.ticks and snap is not None
    assert source.divergences == []
    live = [_key(e) for e in recorded.transitions if e.at <= snap.at]
    assert [_key(e) for e in replayed] == live


@pytest.mark.parametrize("tail", [b'{"kind":"scrape","endpoint":"chat-llm","at":1',
                                  b"\x00garbage\n"])
async def test_a_torn_or_corrupt_last_line_is_ignored(
    recorded: Recorded, tmp_path: Path, tail: bytes
) -> None:
    path = tmp_path / "torn.gz"
    path.write_bytes(gzip.compress(b"".join(_lines(recorded.path)) + tail))
    source, snap, _ = await _replay(path)
    assert source.reader.problem is not None
    assert source.tick == recorded.ticks and source.divergences == []


# --------------------------------------------------------------------------- the command


def test_replay_check_prints_the_check_document_with_transitions(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["replay", str(recorded.path), "--check", "--format", "json"])
    out, err = capsys.readouterr()
    doc = json.loads(out)
    firing = any(a.state == "firing" and a.ack is None and not a.silenced_by
                 for a in recorded.last.alerts)
    assert code == (1 if firing else 0)
    assert doc["alerts"] == [a.to_json() for a in recorded.last.alerts]
    assert [(t["detail"]["rule"], t["detail"]["to"]) for t in doc["transitions"]] == [
        (e.detail["rule"], e.detail["to"]) for e in recorded.transitions]
    assert doc["replay"]["ticks"] == recorded.ticks and doc["replay"]["divergences"] == []
    assert f"replayed {recorded.ticks} ticks" in err


def _bad_files(tmp: Path, good: Path) -> dict[str, Path]:
    lines = _lines(good)
    files = {
        "no such recording": tmp / "missing.gz",
        "not gzip data": tmp / "plain.txt",
        "no mmtui-recording header": tmp / "other.gz",
        "reads version 1": tmp / "future.gz",
        "line 3: not JSON": tmp / "middle.gz",
        "unknown event kind": tmp / "kind.gz",
    }
    files["not gzip data"].write_text("hello\n")
    files["no mmtui-recording header"].write_bytes(gzip.compress(b'{"format": "x"}\n'))
    header = json.loads(lines[0])
    files["reads version 1"].write_bytes(
        gzip.compress(json.dumps(header | {"version": 99}).encode() + b"\n"))
    files["line 3: not JSON"].write_bytes(gzip.compress(b"".join([*lines[:2], b"{oops\n",
                                                                  *lines[2:]])))
    files["unknown event kind"].write_bytes(gzip.compress(
        b"".join([lines[0], b'{"kind":"nope","endpoint":null,"at":1,"data":{}}\n', *lines[1:]])))
    for kind, change in (("scrape", {"status": 5}), ("alerts", {"evaluated": "yes"})):
        prefix = b'{"kind":"%s"' % kind.encode()
        at = next(i for i, line in enumerate(lines) if line.startswith(prefix))
        event = json.loads(lines[at])
        event["data"] |= change
        path = files[f"line {at + 1}: malformed {kind} event"] = tmp / f"{kind}.gz"
        path.write_bytes(gzip.compress(b"".join(
            [*lines[:at], json.dumps(event).encode() + b"\n", *lines[at + 1:]])))
    return files


def test_a_bad_recording_is_one_line_and_exit_2(
    recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for reason, path in _bad_files(tmp_path, recorded.path).items():
        assert cli.main(["replay", str(path), "--check"]) == 2, reason
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1, (reason, err)
        assert err.startswith(f"mmtui: error: {path}") and reason in err, (reason, err)
    state = tmp_path / "used.db"
    state.write_bytes(b"")
    assert cli.main(["replay", str(recorded.path), "--check", "--state", str(state)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert cli.main(["replay", str(recorded.path), "--speed", "0"]) == 2
    assert "--speed" in capsys.readouterr().err


def test_record_refuses_an_existing_or_unwritable_file(
    recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[[endpoints]]\nname = "e"\nmetrics_url = "http://127.0.0.1:9/m"\n'
                      'preset = "vllm"\n')
    state = str(tmp_path / "s.db")
    for target, reason in ((recorded.path, "already exists"),
                           (tmp_path / "no" / "dir.gz", "cannot create the recording")):
        code = cli.main(["check", "--config", str(config), "--state", state, "--record",
                         str(target)])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and reason in err, err
    with pytest.raises(RecordingError, match="already exists"):
        Recorder.create(recorded.path)


def test_mmtui_record_stops_on_ctrl_c_and_its_file_replays(tmp_path: Path) -> None:
    with SimServer(scenario="incident", seed=3) as sim:
        config = tmp_path / "sim.toml"
        config.write_text(sim.config_toml(interval="500ms"))
        path = tmp_path / "live.gz"
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(
            [sys.executable, "-m", "mmtui", "record", str(path), "--config", str(config),
             "--state", str(tmp_path / "s.db")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            # a shell's background job ignores SIGINT, and a child inherits that: undo it
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (
                    path.exists() and count_ticks(path) >= 3):
                time.sleep(0.2)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert proc.returncode in (0, 1), err
    assert b"recorded" in err and b"Traceback" not in err
    ticks = count_ticks(path)
    assert ticks >= 3 and out.count(b"\n") > 0  # the check report
    source, snap, _ = asyncio.run(_replay(path))
    assert source.reader.problem is None  # finished cleanly: the gzip trailer is there
    assert source.tick == ticks and source.divergences == []


# --------------------------------------------------------------------------- the TUI


async def test_the_replay_app_steps_one_tick_while_paused(recorded: Recorded) -> None:
    source = ReplaySource.open(recorded.path, paused=True)
    app = ReplayApp(source)
    try:
        async with app.run_test() as pilot:
            bar = app.screen.query_one(StatusBar)

            async def until(text: str) -> None:
                for _ in range(200):
                    if text in bar.replay:
                        return
                    await pilot.pause(0.02)
                raise AssertionError(f"{text!r} not in {bar.replay!r}")

            await until(f"(1/{recorded.ticks})")
            assert bar.paused and "REPLAY t=" in bar.replay
            first = app.latest_snapshot
            assert first is not None
            await pilot.press("n")
            await until(f"(2/{recorded.ticks})")
            second = app.latest_snapshot
            assert second is not None and second.at == first.at + STEP
            await pilot.press("full_stop")
            await until(f"(3/{recorded.ticks})")
            await pilot.pause(0.3)  # paused: nothing more plays by itself
            assert source.tick == 3 and app.paused
    finally:
        await source.aclose()


def test_replay_import_is_textual_free() -> None:
    code = "import sys, mmtui.replay, mmtui.recording; sys.exit('textual' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.fixture(autouse=True)
def _no_leftover_scratch() -> Iterator[None]:
    import tempfile

    before = set(Path(tempfile.gettempdir()).glob("mmtui-replay-*"))
    yield
    assert set(Path(tempfile.gettempdir()).glob("mmtui-replay-*")) <= before
