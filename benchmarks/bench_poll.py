"""Poll cycle: 200 endpoints on 127.0.0.1, one cycle of poll + parse + derive.

A separate server process (asyncio, one listening port per endpoint, so 200 origins as in a real
fleet) serves the real payloads in ../shared/feeds: vLLM, Triton and TorchServe in turn, with every
counter, histogram and summary count bumped on each request so the deltas are real. This process
polls them with :class:`mmtui.feeds.poller.Poller` (``poll_once``), then parses and derives each
body as the Monitor does. It prints the median wall time of a cycle over ``--cycles`` cycles after
a warm-up cycle, and the CPU time of this process per cycle (CPU % of a core at a 2 s interval =
cpu_per_cycle / 2 s).

Goals (DESIGN.md): ≤ 1 s wall per cycle; ≤ 20 % of a core at a 2 s interval.

    .venv/bin/python benchmarks/bench_poll.py [--endpoints 200] [--cycles 10] [--steady 20]
        [--spread] [--gzip] [--one-port] [--concurrency 64] [--plain-client]

``--steady S`` also runs ``Poller.run`` for S seconds at the 2 s interval (parse + derive in
``on_result``) and prints the CPU % of a core over that time. ``--plain-client`` polls through a
plain ``httpx.AsyncClient`` (one pool, limits = concurrency) for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gzip
import multiprocessing as mp
import os
import platform
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from mmtui.config import EndpointConfig
from mmtui.feeds.poller import Poller, ScrapeResult

FEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "feeds"
KINDS = (
    ("vllm", "vllm_metrics.txt"),
    ("triton", "triton_metrics.txt"),
    ("torchserve", "torchserve_metrics.txt"),
)
REQUESTS_PER_SCRAPE = 20
"""How many requests each endpoint 'served' between two scrapes."""
SERVER_LIFETIME = 600.0
"""The server process stops by itself after this many seconds, whatever happens here."""
INTERVAL = 2.0
"""The poll interval the CPU figure is quoted at."""

_SAMPLE = re.compile(r"^([^\s{#]+)(\{.*\})?[ \t]+(\S+)([ \t]+\S+)?$")
_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"')


# ----------------------------------------------------------------------------- the server side


@dataclass
class Template:
    """A payload as literal text between counter values that grow with each request."""

    parts: list[str]
    """len(slots) + 1 literal pieces."""
    slots: list[tuple[float, float]]
    """(value in the file, increase per scrape) for each slot."""

    def render(self, n: int) -> bytes:
        out = [self.parts[0]]
        for (base, step), part in zip(self.slots, self.parts[1:], strict=True):
            out.append(repr(base + step * n))
            out.append(part)
        return "".join(out).encode()


def _step_for_counter(name: str, labels: str) -> float:
    lowered = name.lower()
    if "fail" in lowered or "error" in lowered or "5xx" in lowered or 'reason="error"' in labels:
        return 1.0  # one failure per scrape in each failure series
    if lowered.endswith("_us") or "microseconds" in lowered:
        return REQUESTS_PER_SCRAPE * 25000.0
    if "seconds" in lowered:
        return REQUESTS_PER_SCRAPE * 0.25
    return float(REQUESTS_PER_SCRAPE)


def _series_labels(labels: str) -> frozenset[tuple[str, str]]:
    """A sample's labels without ``le``: the key shared by a histogram series' samples."""
    return frozenset(pair for pair in _LABEL.findall(labels) if pair[0] != "le")


def make_template(text: str) -> Template:
    """Find the counters (and histogram/summary counts and sums) in ``text`` and make them slots."""
    lines = text.split("\n")
    types: dict[str, str] = {}
    for line in lines:
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(None, 3)
            types[name] = kind.strip()

    def family(sample: str) -> tuple[str, str]:
        if sample in types:
            return sample, types[sample]
        for suffix in ("_bucket", "_count", "_sum", "_total"):
            if sample.endswith(suffix) and sample[: -len(suffix)] in types:
                return sample[: -len(suffix)], types[sample[: -len(suffix)]]
        return sample, "untyped"

    # Buckets per histogram series, in file order (ascending le), for cumulative increases.
    buckets: dict[tuple[str, frozenset[tuple[str, str]]], list[float]] = defaultdict(list)
    parsed: list[tuple[str, str, str, float] | None] = []
    for line in lines:
        m = _SAMPLE.match(line)
        if m is None or line.startswith("#"):
            parsed.append(None)
            continue
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        fam, kind = family(name)
        parsed.append((name, labels, kind, float(value)))
        if kind == "histogram" and name.endswith("_bucket"):
            le = dict(_LABEL.findall(labels)).get("le", "+Inf")
            buckets[(fam, _series_labels(labels))].append(float(le))

    parts: list[str] = []
    slots: list[tuple[float, float]] = []
    pending: list[str] = []
    seen: dict[tuple[str, frozenset[tuple[str, str]]], int] = defaultdict(int)
    for line, info in zip(lines, parsed, strict=True):
        step = 0.0
        if info is not None:
            name, labels, kind, value = info
            fam, _ = family(name)
            series = (fam, _series_labels(labels))
            if name.endswith("_created"):
                step = 0.0
            elif kind == "counter":
                step = _step_for_counter(name, labels)
            elif kind == "histogram" and series in buckets:
                bounds = buckets[series]
                if name.endswith("_bucket"):
                    j = seen[series]
                    seen[series] += 1
                    # Every observation within the first third of the buckets.
                    step = float(
                        min(
                            REQUESTS_PER_SCRAPE,
                            REQUESTS_PER_SCRAPE * (j + 1) // (len(bounds) // 3 + 1),
                        )
                    )
                elif name.endswith("_count"):
                    step = float(REQUESTS_PER_SCRAPE)
                elif name.endswith("_sum"):
                    typical = bounds[len(bounds) // 6]
                    step = REQUESTS_PER_SCRAPE * (typical if typical != float("inf") else 1.0)
            elif kind == "summary" and (name.endswith("_count") or name.endswith("_sum")):
                step = REQUESTS_PER_SCRAPE * (1.0 if name.endswith("_count") else 0.1)
        if step == 0.0 or info is None:
            pending.append(line)
            continue
        m = _SAMPLE.match(line)
        assert m is not None
        head = line[: m.start(3)]
        tail = line[m.end(3) :]
        pending.append(head)
        parts.append("\n".join(pending))
        slots.append((info[3], step))
        pending = [tail]
    parts.append("\n".join(pending))
    return Template(parts, slots)


class _Http(asyncio.Protocol):
    def __init__(self, serve: Callable[[bytes], bytes]) -> None:
        self._serve = serve
        self._buf = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buf += data
        while (end := self._buf.find(b"\r\n\r\n")) >= 0:
            head, self._buf = self._buf[:end], self._buf[end + 4 :]
            assert self._transport is not None
            self._transport.write(self._serve(head))


def _serve_forever(kinds: list[str], gzip_on: bool, one_port: bool, ports: Any) -> None:
    """The server process: render and serve each endpoint's payload, bumped on each request."""
    templates = {kind: make_template((FEEDS / file).read_text()) for kind, file in KINDS}
    counts = [0] * len(kinds)
    ctype = b"text/plain; version=0.0.4; charset=utf-8"

    def respond(i: int, head: bytes) -> bytes:
        counts[i] += 1
        body = templates[kinds[i]].render(counts[i])
        extra = b""
        if gzip_on and b"gzip" in head.lower():
            body = gzip.compress(body)  # what prometheus_client does: level 9
            extra = b"Content-Encoding: gzip\r\n"
        return (
            b"HTTP/1.1 200 OK\r\nContent-Type: "
            + ctype
            + b"\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n"
            + extra
            + b"\r\n"
            + body
        )

    def by_path(head: bytes) -> bytes:
        path = head.split(b" ", 2)[1]
        return respond(int(path.split(b"/")[2]), head)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        servers = []
        if one_port:
            srv = await loop.create_server(lambda: _Http(by_path), "127.0.0.1", 0)
            servers.append(srv)
            port = srv.sockets[0].getsockname()[1]
            ports.put([f"http://127.0.0.1:{port}/ep/{i}/metrics" for i in range(len(kinds))])
        else:
            urls = []
            for i in range(len(kinds)):
                factory = functools.partial(_Http, functools.partial(respond, i))
                srv = await loop.create_server(factory, "127.0.0.1", 0)
                servers.append(srv)
                urls.append(f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}/metrics")
            ports.put(urls)
        await asyncio.sleep(SERVER_LIFETIME)

    asyncio.run(main())


# ----------------------------------------------------------------------------- the poller side


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{model}, {os.cpu_count()} cores ({usable} usable), Python "
        f"{platform.python_version()}, httpx {httpx.__version__}"
    )


class Pipeline:
    """Parse + derive as the Monitor does, or nothing when those modules are missing."""

    def __init__(self) -> None:
        self.missing: str | None = None
        try:
            from mmtui.feeds.derive import Scrape, derive
            from mmtui.feeds.parser import parse_bytes
            from mmtui.feeds.presets import get_preset
        except ImportError as exc:
            self.missing = f"parse/derive unavailable ({exc}): poll only; rerun when they exist"
            return
        self._parse, self._derive, self._scrape = parse_bytes, derive, Scrape
        self._presets = {kind: get_preset(kind) for kind, _ in KINDS}
        self._previous: dict[str, Any] = {}
        self.latest: dict[str, Any] = {}
        """The last derived metrics per preset, to show the deltas are real."""

    def __call__(self, result: ScrapeResult, kind: str) -> None:
        if result.status != "up":
            raise SystemExit(f"{result.endpoint} ({result.url}): {result.status}: {result.error}")
        if self.missing is not None:
            return
        assert result.body is not None
        preset = self._presets[kind]
        families = self._parse(result.body, result.content_type, only=preset.families)
        scrape = self._scrape(result.started, families)
        self.latest[kind] = self._derive(preset, scrape, self._previous.get(result.endpoint))
        self._previous[result.endpoint] = scrape


def make_client(args: argparse.Namespace) -> httpx.AsyncClient | None:
    """None: the poller's own client; else a plain client with one pool for all endpoints."""
    if not args.plain_client:
        return None
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    return httpx.AsyncClient(limits=limits)


async def cycles(args: argparse.Namespace, endpoints: list[EndpointConfig]) -> None:
    """Back-to-back ``poll_once`` cycles, each followed by parse + derive of every body."""
    pipeline = Pipeline()
    if pipeline.missing:
        print(pipeline.missing)
    kinds = {ep.name: ep.preset for ep in endpoints}

    async def unused(_: ScrapeResult) -> None:
        return None

    client = make_client(args)
    poller = Poller(
        endpoints, unused, interval=INTERVAL, concurrency=args.concurrency, client=client
    )
    rows: list[tuple[float, float, float, float]] = []
    for cycle in range(args.cycles + 1):
        w0, c0 = time.perf_counter(), time.process_time()
        results = await poller.poll_once()
        w1, c1 = time.perf_counter(), time.process_time()
        for result in results:
            pipeline(result, kinds[result.endpoint])
        w2, c2 = time.perf_counter(), time.process_time()
        if cycle > 0:  # cycle 0 is the warm-up: connections, caches
            rows.append((w2 - w0, c2 - c0, w1 - w0, c1 - c0))
    await poller.aclose()
    if client is not None:
        await client.aclose()

    wall, cpu, poll_wall, poll_cpu = (statistics.median(r[i] for r in rows) for i in range(4))
    stage = "poll only" if pipeline.missing else "poll + parse + derive"
    print(
        f"cycles: {len(rows)} after 1 warm-up; median (wall min-max "
        f"{min(r[0] for r in rows):.3f}-{max(r[0] for r in rows):.3f} s)"
    )
    print(
        f"  {stage}: wall {wall:.3f} s/cycle (goal <= 1 s), CPU {cpu:.3f} s/cycle"
        f" = {100 * cpu / INTERVAL:.1f}% of a core at a {INTERVAL:g} s interval (goal <= 20%)"
    )
    print(
        f"  of which poll: wall {poll_wall:.3f} s, CPU {poll_cpu:.3f} s ("
        f"{1000 * poll_cpu / len(endpoints):.2f} ms/scrape); parse + derive: "
        f"wall {wall - poll_wall:.3f} s, CPU {cpu - poll_cpu:.3f} s"
    )
    for kind, derived in pipeline.latest.items():
        shown = {k: v if v is None else round(v, 2) for k, v in derived.metrics.items()}
        print(f"  e.g. {kind}: {shown}")


async def steady(args: argparse.Namespace, endpoints: list[EndpointConfig]) -> None:
    """``Poller.run`` at the 2 s interval for ``--steady`` seconds, parse + derive in on_result."""
    pipeline = Pipeline()
    kinds = {ep.name: ep.preset for ep in endpoints}
    count = 0

    async def on_result(result: ScrapeResult) -> None:
        nonlocal count
        count += 1
        pipeline(result, kinds[result.endpoint])

    client = make_client(args)
    poller = Poller(
        endpoints, on_result, interval=INTERVAL, concurrency=args.concurrency, client=client
    )
    task = asyncio.create_task(poller.run())
    if not args.spread:
        poller.poll_now()  # as the Monitor starts it: every first poll at once, not spread
    await asyncio.sleep(INTERVAL * 2)  # warm-up: every endpoint polled, connections open
    n0, w0, c0 = count, time.perf_counter(), time.process_time()
    await asyncio.sleep(args.steady)
    n1, w1, c1 = count, time.perf_counter(), time.process_time()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    if client is not None:
        await client.aclose()
    expected = len(endpoints) * (w1 - w0) / INTERVAL
    print(
        f"steady: Poller.run for {w1 - w0:.1f} s at a {INTERVAL:g} s interval, first polls"
        f" {'spread' if args.spread else 'at once'}: {n1 - n0} scrapes"
        f" ({100 * (n1 - n0) / expected:.0f}% of the {expected:.0f} due),"
        f" CPU {100 * (c1 - c0) / (w1 - w0):.1f}% of a core (goal <= 20%)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--endpoints", type=int, default=200)
    ap.add_argument("--cycles", type=int, default=10)
    ap.add_argument(
        "--steady",
        type=float,
        default=20.0,
        help="seconds of Poller.run at a 2 s interval (0: skip)",
    )
    ap.add_argument(
        "--spread",
        action="store_true",
        help="steady: let Poller.run spread the first polls (the Monitor starts them at once)",
    )
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--gzip", action="store_true", help="serve gzip as prometheus_client does")
    ap.add_argument("--one-port", action="store_true", help="every endpoint on one origin")
    ap.add_argument(
        "--plain-client",
        action="store_true",
        help="compare: a plain httpx.AsyncClient, one pool, limits = concurrency",
    )
    args = ap.parse_args()
    missing = [f for _, f in KINDS if not (FEEDS / f).is_file()]
    if missing:
        print(
            f"skipped: {FEEDS} lacks {', '.join(missing)} (the real payloads live beside the"
            " repo, never inside it)"
        )
        return 0
    kinds = [KINDS[i % len(KINDS)][0] for i in range(args.endpoints)]
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    server = ctx.Process(
        target=_serve_forever, args=(kinds, args.gzip, args.one_port, queue), daemon=True
    )
    server.start()
    try:
        urls = queue.get(timeout=60)
        endpoints = [
            EndpointConfig(name=f"ep{i}", metrics_url=url, preset=kind, timeout=5.0)
            for i, (url, kind) in enumerate(zip(urls, kinds, strict=True))
        ]
        print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
        print(
            f"endpoints: {len(endpoints)} ("
            + ", ".join(f"{kinds.count(k)} {k}" for k, _ in KINDS)
            + f"), gzip {'on' if args.gzip else 'off'},"
            f" {'1 port' if args.one_port else f'{len(endpoints)} ports'},"
            f" concurrency {args.concurrency},"
            f" {'plain client' if args.plain_client else 'the poller client'};"
            " the server runs in another process"
        )
        asyncio.run(cycles(args, endpoints))
        if args.steady > 0:
            asyncio.run(steady(args, endpoints))
    finally:
        server.terminate()
        server.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
