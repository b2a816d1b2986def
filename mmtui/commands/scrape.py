"""``mmtui scrape URL``: poll one metrics endpoint and print the derived serving metrics."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from typing import Any

from mmtui.cli import error
from mmtui.config import EndpointConfig
from mmtui.feeds.derive import Scrape
from mmtui.feeds.poller import Poller, ScrapeResult
from mmtui.feeds.presets import get_preset
from mmtui.monitor import Processed, process
from mmtui.names import PRESETS, SERVING_METRICS, Metrics
from mmtui.snapshot import STATUS_UP


async def _scrape(ep: EndpointConfig, samples: int, interval: float) -> tuple[Processed, int]:
    """Take ``samples`` scrapes ``interval`` apart; return the last one derived against the one
    before it, and how many scrapes were taken."""
    preset = get_preset(ep.preset, ep.generic)

    async def ignore(_: ScrapeResult) -> None:
        return None

    poller = Poller([ep], ignore, interval=max(interval, 0.001), concurrency=1)
    previous: Scrape | None = None
    processed: Processed | None = None
    try:
        for i in range(samples):
            if i:
                await asyncio.sleep(interval)
            (result,) = await poller.poll_once()
            processed = process(result, preset, ep, previous)
            if processed.status != STATUS_UP:
                return processed, i + 1
            previous = processed.scrape
    finally:
        await poller.aclose()
    assert processed is not None
    return processed, samples


def _clean(metrics: Metrics) -> dict[str, float | None]:
    """JSON-safe: every serving metric present, NaN/Inf as null."""
    out: dict[str, float | None] = {}
    for name in SERVING_METRICS:
        v = metrics.get(name)
        out[name] = None if v is None or not math.isfinite(v) else v
    return out


def _fmt(name: str, value: float | None) -> str:
    if value is None:
        return "—"
    if name == "error_rate":
        return f"{value * 100:.2f}%"
    if name == "throughput_rps":
        return f"{value:.2f}/s"
    if name.endswith("_ms"):
        return f"{value:.1f} ms"
    return f"{value:g}"


def run(args: argparse.Namespace) -> int:
    if args.preset not in PRESETS or args.preset == "generic":
        valid = ", ".join(p for p in PRESETS if p != "generic")
        return error(f"--preset: expected one of {valid}, got {args.preset!r}")
    if args.samples < 1:
        return error(f"--samples: expected an integer >= 1, got {args.samples}")
    if args.interval < 0 or args.timeout <= 0:
        return error("--interval must be >= 0 and --timeout > 0 seconds")
    if not args.url.startswith(("http://", "https://")):
        return error(f"{args.url}: expected an http:// or https:// URL")
    ep = EndpointConfig(name="scrape", metrics_url=args.url, preset=args.preset,
                        timeout=args.timeout)
    processed, taken = asyncio.run(_scrape(ep, args.samples, args.interval))
    derived = processed.derived
    doc: dict[str, Any] = {
        "url": args.url,
        "preset": args.preset,
        "status": processed.status,
        "error": processed.error,
        "families": processed.families,
        "metrics": _clean(derived.metrics if derived else {}),
        "models": {m: _clean(v) for m, v in sorted(derived.models.items())} if derived else {},
    }
    if args.format == "json":
        json.dump(doc, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    elif derived is not None:
        _print_text(doc, taken)
    if processed.status != STATUS_UP:
        return error(f"{args.url}: {processed.status}: {processed.error}")
    return 0


def _print_text(doc: dict[str, Any], taken: int) -> None:
    rates = "rates over the last two scrapes" if taken > 1 else "lifetime figures, no rates"
    print(f"{doc['url']}  preset={doc['preset']}  {doc['families']} families  ({rates})")
    rows: list[tuple[str, Metrics]] = [("(all)", doc["metrics"])]
    rows += list(doc["models"].items())
    width = max(len(r[0]) for r in rows)
    header = "  ".join(f"{n:>15}" for n in SERVING_METRICS)
    print(f"{'model':<{width}}  {header}")
    for label, metrics in rows:
        cells = "  ".join(f"{_fmt(n, metrics.get(n)):>15}" for n in SERVING_METRICS)
        print(f"{label:<{width}}  {cells}")
