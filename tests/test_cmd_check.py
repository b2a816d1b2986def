"""``mmtui check`` as real processes against the real simulator on 127.0.0.1: the JSON contract,
exit codes 0/1/2, notifications delivered to a local webhook before exit, acks and silences
made with ``mmtui alerts`` honoured, ``for`` across cron runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mmtui.names import SERVING_METRICS
from mmtui.sim.server import SimServer
from tests.test_alert_service import Receiver, receiver  # noqa: F401 (fixture)

ALERT_KEYS = {"id", "rule", "endpoint", "feature", "severity", "state", "acknowledged",
              "acked_by", "value", "threshold", "since", "acked_at", "ack_note"}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer(scenario="calm", seed=5) as server:
        yield server


def run(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``mmtui ARGS`` in ``tmp`` with a HOME and XDG dirs of its own (no config found there)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp), "USER": "ana",
           "XDG_CONFIG_HOME": str(tmp / "xdg-config"), "XDG_STATE_HOME": str(tmp / "xdg-state")}
    return subprocess.run([sys.executable, "-m", "mmtui", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=tmp, stdin=subprocess.DEVNULL)


def loads(text: str) -> Any:
    def no_constants(name: str) -> None:
        raise AssertionError(f"{name} in JSON output")

    return json.loads(text, parse_constant=no_constants)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mmtui: error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def write_config(tmp: Path, sim: SimServer, rules: str = "", channels: str = "") -> Path:
    eps = {ep["name"]: ep for ep in sim.endpoints}
    lines = ['[monitor]', 'interval = "0.5s"', f'state = "{tmp / "state.db"}"']
    for name in ("chat-llm", "fraud-scorer"):
        ep = eps[name]
        lines += ["[[endpoints]]", f'name = "{name}"', f'metrics_url = "{ep["metrics_url"]}"',
                  f'preset = "{ep["preset"]}"']
    path = tmp / "mmtui.toml"
    path.write_text("\n".join(lines) + "\n" + rules + channels)
    return path


ALWAYS = """
[[rules]]
name = "traffic"              # always true on a serving endpoint
metric = "throughput_rps"
op = ">"
threshold = 0
endpoint = "fraud-scorer"
model = ""                    # the endpoint's row only, not each model's
severity = "critical"
for = "{for_}"

[[rules]]
name = "slow chat"
metric = "latency_p95_ms"
op = ">"
threshold = 0
endpoint = "chat-llm"
severity = "warning"
for = "{for_}"
"""


def hook(srv: Receiver) -> str:
    return f"""
[[channels]]
type = "webhook"
name = "hook"
url = "{srv.url('/hook')}"
min_severity = "info"
"""


def test_healthy_is_exit_0_with_the_json_contract(tmp_path: Path, sim: SimServer) -> None:
    write_config(tmp_path, sim)  # ./mmtui.toml: found without --config
    proc = run(tmp_path, "check", "--once", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = loads(proc.stdout)
    assert set(doc) == {"endpoints", "alerts"} and doc["alerts"] == []
    assert [e["name"] for e in doc["endpoints"]] == ["chat-llm", "fraud-scorer"]
    for e in doc["endpoints"]:
        assert set(e) == {"name", "status", "metrics"} and e["status"] == "up"
        assert set(SERVING_METRICS) <= set(e["metrics"])
        assert e["metrics"]["throughput_rps"] > 0  # two scrapes: rates
    assert (tmp_path / "state.db").is_file()


def test_firing_is_exit_1_notified_and_acked_or_silenced_is_exit_0(
    tmp_path: Path, sim: SimServer, receiver: Receiver  # noqa: F811
) -> None:
    config = write_config(tmp_path, sim, ALWAYS.format(for_="0s"), hook(receiver))
    proc = run(tmp_path, "check", "--config", str(config), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    alerts = {a["rule"]: a for a in loads(proc.stdout)["alerts"]}
    assert set(alerts) == {"traffic", "slow chat"}
    for a in alerts.values():
        assert set(a) == ALERT_KEYS
        assert (a["state"], a["acknowledged"], a["acked_by"], a["feature"]) == (
            "firing", False, None, None)
        assert a["value"] > 0 and a["threshold"] == 0
    docs = receiver.bodies("/hook")  # delivered before the process exited
    assert sorted(d["groupLabels"]["endpoint"] for d in docs) == ["chat-llm", "fraud-scorer"]
    assert {d["alerts"][0]["labels"]["alertname"] for d in docs} == {"traffic", "slow chat"}

    ack = run(tmp_path, "alerts", "--config", str(config), "ack", alerts["traffic"]["id"],
              "--note", "known load test")
    assert ack.returncode == 0, ack.stderr
    proc = run(tmp_path, "check", "--config", str(config), "--format", "json")
    assert proc.returncode == 1, proc.stderr  # "slow chat" still fires, unhandled
    traffic = {a["rule"]: a for a in loads(proc.stdout)["alerts"]}["traffic"]
    assert (traffic["acknowledged"], traffic["acked_by"], traffic["ack_note"]) == (
        True, f"ana@{os.uname().nodename}", "known load test")

    mute = run(tmp_path, "alerts", "--config", str(config), "silence", "alertname=slow chat",
               "--for", "1h", "--reason", "tuning")
    assert mute.returncode == 0, mute.stderr
    proc = run(tmp_path, "check", "--config", str(config))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FIRING" in proc.stdout and "acknowledged by ana@" in proc.stdout
    assert "silenced" in proc.stdout
    assert len(receiver.bodies("/hook")) == 2  # still firing: never notified twice


def test_for_spans_cron_runs(tmp_path: Path, sim: SimServer) -> None:
    config = write_config(tmp_path, sim, ALWAYS.format(for_="2s"))
    first = run(tmp_path, "check", "--config", str(config), "--format", "json")
    assert first.returncode == 0, first.stderr
    assert {a["state"] for a in loads(first.stdout)["alerts"]} == {"pending"}
    time.sleep(2.0)  # the condition holds meanwhile: the calm simulator always serves
    second = run(tmp_path, "check", "--config", str(config), "--format", "json")
    assert second.returncode == 1, second.stderr
    # The pending state was kept between the two processes, so `for` elapsed across them. (On
    # a loaded machine one series may have had a gap in between and be pending again.)
    states = {a["rule"]: a["state"] for a in loads(second.stdout)["alerts"]}
    assert "firing" in states.values(), states


def test_duration_runs_the_live_loop(tmp_path: Path, sim: SimServer) -> None:
    config = write_config(tmp_path, sim, ALWAYS.format(for_="1s"))
    proc = run(tmp_path, "check", "--config", str(config), "--duration", "2.5s", "--format",
               "json")
    assert proc.returncode == 1, proc.stderr
    assert {a["state"] for a in loads(proc.stdout)["alerts"]} == {"firing"}


def test_bad_config_and_input_are_exit_2_with_one_line(tmp_path: Path, sim: SimServer) -> None:
    assert_one_line_error(run(tmp_path, "check"), "no config found")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rules]]\nname = "x"\nmetric = "latency_p95"\nthreshold = 1\n')
    assert_one_line_error(run(tmp_path, "check", "--config", str(bad)), "bad.toml",
                          "latency_p95", "rule 'x'")
    config = write_config(tmp_path, sim)
    assert_one_line_error(run(tmp_path, "check", "--config", str(config), "--duration", "soon"),
                          "--duration")
    junk = tmp_path / "junk.db"
    junk.write_text("not a database, just text " * 100)
    assert_one_line_error(
        run(tmp_path, "check", "--config", str(config), "--state", str(junk)), "junk.db")
