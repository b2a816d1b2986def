"""The command-line contract (DESIGN.md), run as real processes against real local servers."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmtui.names import SERVING_METRICS
from mmtui.sim.server import SimServer


def mmtui(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmtui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("mmtui: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer(scenario="calm", seed=3) as server:
        yield server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_scrape_json_shape(sim: SimServer) -> None:
    url = f"{sim.url}models/fraud-scorer/metrics"
    proc = mmtui("scrape", url, "--preset", "triton", "--samples", "2", "--interval", "0.5",
                 "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) == {"url", "preset", "status", "error", "families", "metrics", "models"}
    assert (doc["url"], doc["preset"], doc["status"], doc["error"]) == (url, "triton", "up", None)
    assert isinstance(doc["families"], int) and doc["families"] > 0
    assert set(doc["metrics"]) == set(SERVING_METRICS)
    assert doc["metrics"]["throughput_rps"] > 0
    assert len(doc["models"]) >= 2
    for metrics in doc["models"].values():
        assert set(metrics) == set(SERVING_METRICS)


def test_scrape_one_sample_has_null_rates(sim: SimServer) -> None:
    url = f"{sim.url}models/chat-llm/metrics"
    proc = mmtui("scrape", url, "--preset", "vllm", "--samples", "1", "--format", "json")
    doc = json.loads(proc.stdout)
    assert doc["metrics"]["throughput_rps"] is None
    assert doc["metrics"]["latency_p95_ms"] > 0


def test_scrape_text(sim: SimServer) -> None:
    url = f"{sim.url}models/chat-llm/metrics"
    proc = mmtui("scrape", url, "--preset", "vllm", "--samples", "2", "--interval", "0.3")
    assert proc.returncode == 0, proc.stderr
    assert "latency_p95_ms" in proc.stdout and "(all)" in proc.stdout


def test_scrape_unreachable_is_one_line_exit_2() -> None:
    url = f"http://127.0.0.1:{free_port()}/metrics"
    proc = mmtui("scrape", url, "--preset", "vllm", "--samples", "1", "--format", "json")
    assert_one_line_error(proc, url, "down")
    doc = json.loads(proc.stdout)  # the JSON document still tells the status
    assert doc["status"] == "down" and doc["error"]


def test_scrape_bad_arguments() -> None:
    assert_one_line_error(mmtui("scrape", "http://127.0.0.1:1/m", "--preset", "sagemaker"),
                          "--preset")
    assert_one_line_error(mmtui("scrape", "localhost:9100/metrics", "--preset", "vllm"),
                          "localhost:9100/metrics")


def test_missing_config_is_one_line_exit_2(tmp_path: Path) -> None:
    assert_one_line_error(mmtui("--config", str(tmp_path / "nope.toml")), "nope.toml", "not found")


def test_bad_config_is_one_line_exit_2(tmp_path: Path) -> None:
    cfg = tmp_path / "m.toml"
    cfg.write_text("[monitor]\ninterval = 'often'\n")
    assert_one_line_error(mmtui("--config", str(cfg)), "m.toml", "monitor.interval")


def test_info_lists_search_order(tmp_path: Path) -> None:
    cfg = tmp_path / "m.toml"
    cfg.write_text("[monitor]\ninterval = '5s'\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MMTUI_CONFIG": str(cfg)}
    proc = mmtui("info", env=env)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.index("$MMTUI_CONFIG") < out.index("./mmtui.toml") < out.index("XDG config dir")
    assert f"{cfg}  [found, in use]" in out
    assert "valid: 0 endpoints" in out
    assert "themes" in out and "dark" in out
