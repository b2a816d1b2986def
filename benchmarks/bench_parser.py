"""Parser benchmark: one real 46 KB vLLM scrape, ours against prometheus_client, same run.

Run as ``.venv/bin/python benchmarks/bench_parser.py [SCRAPE]``. Prints the machine, then the
median time per parse (over 7 rounds, each many parses) of:

- ``mmtui`` full: ``parse(text)``;
- ``mmtui only=``: ``parse(text, only=...)`` with the 6 families a vLLM preset reads;
- ``mmtui only= memo``: the same with a :class:`~mmtui.feeds.parser.ParseMemo` carried from
  parse to parse, as the monitor parses one endpoint's successive scrapes;
- ``prometheus_client``: ``list(text_string_to_metric_families(text))``;

and the ratios: of the medians, the median of each round's ratio (the contenders take turns
within a round, so a busy machine slows them alike), and best against best. Last, what building a
``Sample`` costs through its constructor and through the ``tuple.__new__`` the parser uses. Takes
about 15 s.
"""

from __future__ import annotations

import gc
import importlib.metadata
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from mmtui.feeds.model import Sample
from mmtui.feeds.parser import ParseMemo, parse

SCRAPE = Path(__file__).resolve().parents[2] / "shared" / "feeds" / "vllm_metrics.txt"
VLLM_FAMILIES = (
    "vllm:e2e_request_latency_seconds",
    "vllm:time_to_first_token_seconds",
    "vllm:request_success_total",
    "vllm:num_requests_running",
    "vllm:num_requests_waiting",
    "vllm:prompt_tokens_total",
)
ROUNDS = 7
ROUND_SECONDS = 0.4  # per contender and round


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (
        f"CPU {cpu_model()}, {os.cpu_count()} cores ({usable} usable), load {load}\n"
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"prometheus_client {importlib.metadata.version('prometheus_client')}, {platform.system()}"
    )


def per_call(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def calibrate(fn: Callable[[], object]) -> int:
    """Iterations that take about ROUND_SECONDS."""
    return max(1, int(ROUND_SECONDS / per_call(fn, 3)))


def race(contenders: dict[str, Callable[[], object]]) -> dict[str, list[float]]:
    """Seconds per call, one figure per round; contenders take turns within each round."""
    counts = {name: calibrate(fn) for name, fn in contenders.items()}
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(ROUNDS):
        for name, fn in contenders.items():
            gc.collect()
            times[name].append(per_call(fn, counts[name]))
    return times


def sample_construction() -> tuple[float, float]:
    """Seconds per Sample: the NamedTuple constructor, and the parser's ``tuple.__new__``."""
    new = tuple.__new__
    labels = {"engine": "0"}
    n = 200_000

    def constructor() -> None:
        for _ in range(n):
            Sample("vllm:x", labels, 1.0, None)

    def descriptors() -> None:
        for _ in range(n):
            new(Sample, ("vllm:x", labels, 1.0, None))

    a = statistics.median(per_call(constructor, 1) for _ in range(5)) / n
    b = statistics.median(per_call(descriptors, 1) for _ in range(5)) / n
    return a, b


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else SCRAPE
    text = path.read_text(encoding="utf-8")
    full = parse(text)
    some = parse(text, only=VLLM_FAMILIES)
    theirs = list(text_string_to_metric_families(text))
    samples = sum(len(f.samples) for f in full.values())
    print(machine())
    print(
        f"input: {path.name}, {len(text.encode()) / 1024:.1f} KiB, {text.count(chr(10)) + 1} lines,"
        f" {len(full)} families, {samples} samples (prometheus_client: {len(theirs)} families)"
    )
    print(f"only=: {len(some)} families, {sum(len(f.samples) for f in some.values())} samples")
    memo = ParseMemo()
    times = race(
        {
            "mmtui full": lambda: parse(text),
            "mmtui only=": lambda: parse(text, only=VLLM_FAMILIES),
            "mmtui only= memo": lambda: parse(text, only=VLLM_FAMILIES, memo=memo),
            "prometheus_client": lambda: list(text_string_to_metric_families(text)),
        }
    )
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"\nmedian of {ROUNDS} rounds (min .. max), per parse:")
    for name, t in times.items():
        print(
            f"  {name:18s} {medians[name] * 1e3:8.3f} ms"
            f"  ({min(t) * 1e3:.3f} .. {max(t) * 1e3:.3f})"
        )
    print("\nprometheus_client time / mmtui time (10x is the goal for the full parse):")
    print("  contender           median/median  per-round median  best/best")
    for name in ("mmtui full", "mmtui only=", "mmtui only= memo"):
        ours, pc = times[name], times["prometheus_client"]
        per_round = statistics.median(t / o for t, o in zip(pc, ours, strict=True))
        print(
            f"  {name:18s} {medians['prometheus_client'] / medians[name]:14.1f}x"
            f" {per_round:16.1f}x {min(pc) / min(ours):9.1f}x"
        )
    constructor, descriptors = sample_construction()
    print(
        f"\nSample construction: constructor {constructor * 1e9:.0f} ns, "
        f"tuple.__new__ {descriptors * 1e9:.0f} ns"
    )


if __name__ == "__main__":
    main()
