"""TUI cost: start time to the first frame with data, and idle CPU and terminal bytes.

DESIGN.md's figures:
- Start: from `mmtui` launched to the first frame with data. Goal <= 1 s.
- TUI idle: 20 endpoints at a 2 s interval in a pty for 60 s: CPU seconds of the process and bytes
  written to the terminal. Goal <= 2% of a core and <= 2 KB/s.

The simulator runs in its own process (`mmtui simulate`), so its CPU is not counted; the TUI runs
in a pseudo-terminal of 120x40 (and 80x24), as a user's terminal would drive it, with a state
file of its own (no history left by other runs). Start is also timed for `mmtui demo`, whose
simulator runs in the TUI's process. Usage:

    python benchmarks/bench_tui.py [--seconds 60] [--size 120x40] [--starts 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import pty
import re
import select
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
import tomllib
from fcntl import ioctl
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA_MARK = re.compile(rb"\d ms")  # a latency figure: the first frame with scraped data


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def start_simulator(workdir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    port = free_port()
    cfg = workdir / "sim.toml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mmtui", "simulate", "--port", str(port), "--scenario", "calm",
         "--write-config", str(cfg)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO,
    )
    for _ in range(200):
        if cfg.exists() and cfg.stat().st_size:
            break
        time.sleep(0.05)
    return proc, cfg


def twenty_endpoints(sim_cfg: Path, out: Path, n: int = 20) -> None:
    """A config of ``n`` endpoints: the simulator's endpoints repeated under new names."""
    sim = tomllib.loads(sim_cfg.read_text())
    eps = sim["endpoints"]
    lines = ['[monitor]\ninterval = "2s"\n']
    for i in range(n):
        ep = eps[i % len(eps)]
        lines.append(
            f'[[endpoints]]\nname = "{ep["name"]}-{i:02d}"\nmetrics_url = "{ep["metrics_url"]}"\n'
            f'preset = "{ep["preset"]}"\n'
        )
    out.write_text("\n".join(lines))


def spawn(args: list[str], cols: int, rows: int) -> tuple[subprocess.Popen[bytes], int]:
    """``mmtui ARGS`` in a new pseudo-terminal of ``cols`` x ``rows``; returns it and the master."""
    master, slave = pty.openpty()
    ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor")
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mmtui", *args],
        stdin=slave, stdout=slave, stderr=slave, cwd=REPO, env=env, start_new_session=True,
    )
    os.close(slave)
    return proc, master


def stop(proc: subprocess.Popen[bytes], master: int) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=10)
    os.close(master)


def time_start(args: list[str], cols: int = 120, rows: int = 40) -> float:
    """Seconds from launching ``mmtui ARGS`` to the first frame with scraped data."""
    t0 = time.perf_counter()
    proc, master = spawn(args, cols, rows)
    seen = b""
    try:
        while time.perf_counter() < t0 + 30:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break
                if DATA_MARK.search(seen):
                    return time.perf_counter() - t0
    finally:
        stop(proc, master)
    return float("nan")


def run_tui(args: list[str], seconds: float, cols: int, rows: int) -> dict[str, float]:
    t0 = time.perf_counter()
    proc, master = spawn(args, cols, rows)
    first_data = None
    seen = b""
    total = 0
    warm_until = None
    warm_bytes = warm_cpu = 0.0
    deadline = t0 + 30 + seconds
    try:
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                total += len(chunk)
                if first_data is None:
                    seen += chunk
                    if DATA_MARK.search(seen):
                        first_data = time.perf_counter() - t0
                        warm_until = time.perf_counter() + 5.0  # let the first polls settle
            if warm_until is not None and time.perf_counter() >= warm_until:
                warm_bytes, warm_cpu = total, cpu_seconds(proc.pid)
                measure_from = time.perf_counter()
                warm_until = None
                deadline = measure_from + seconds
        elapsed = time.perf_counter() - measure_from
        cpu = cpu_seconds(proc.pid) - warm_cpu
        idle_bytes = total - warm_bytes
    finally:
        stop(proc, master)
    return {
        "start_s": first_data if first_data is not None else float("nan"),
        "cpu_pct": 100 * cpu / elapsed,
        "bytes_per_s": idle_bytes / elapsed,
        "seconds": elapsed,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--size", action="append", help="COLSxROWS (default 120x40 and 80x24)")
    ap.add_argument("--starts", type=int, default=5, help="start-time runs of each kind")
    args = ap.parse_args()
    sizes = args.size or ["120x40", "80x24"]
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sim, sim_cfg = start_simulator(workdir)
        try:
            cfg = workdir / "twenty.toml"
            twenty_endpoints(sim_cfg, cfg)
            tui = ["--config", str(cfg), "--state", str(workdir / "state.db")]
            demo = ["demo", "--state", str(workdir / "demo.db")]
            for what, launch in (("mmtui (20 endpoints)", tui), ("mmtui demo", demo)):
                if args.starts > 0:
                    times = [time_start(launch) for _ in range(args.starts)]
                    print(
                        f"start, {what}: first frame with data in {statistics.median(times):.2f} s"
                        f" (median of {len(times)}, {min(times):.2f}-{max(times):.2f}; goal <= 1 s)"
                    )
            for size in sizes:
                cols, rows = (int(v) for v in size.split("x"))
                r = run_tui(tui, args.seconds, cols, rows)
                print(
                    f"{size}: first frame with data {r['start_s']:.2f} s (goal <= 1 s); idle over "
                    f"{r['seconds']:.0f} s with 20 endpoints at 2 s: CPU {r['cpu_pct']:.2f}% of a "
                    f"core (goal <= 2%), {r['bytes_per_s']:.0f} B/s to the terminal "
                    f"(goal <= 2048 B/s)"
                )
        finally:
            sim.terminate()
            sim.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
