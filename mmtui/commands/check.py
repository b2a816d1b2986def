"""``mmtui check``: poll, evaluate the rules, notify, print the status; for cron and CI.

Exit codes: 0 healthy (nothing fires, or only alerts that are acknowledged or silenced), 1 an
alert fires that is neither acknowledged nor silenced, 2 bad config or input (one line on
stderr). An endpoint that is down is a status, not bad input: a NoData rule turns it into an
alert.

``--once`` (the default) takes two scrapes ``min(interval, 2 s)`` apart and evaluates the rules
after the second: a single scrape has no rates, and its missing values would resolve the alerts
restored from the state store. Alert state is kept in the store between runs, so ``for`` spans
cron runs: an alert pending in one run fires in a later run once its condition has held for
``for`` (as far as the runs can see; what happened between them is not known).
``--duration S`` runs the live loop for S seconds (rules evaluated every interval, as in the TUI)
and reports the state at the end.

Notifications are delivered before the command exits, retries included, for at most
:data:`DRAIN_TIMEOUT` seconds; how many were still undelivered then is said on stderr (every
delivery that ended, well or not, is in the event log: ``mmtui alerts history``). The JSON
document (``--format json``) is DESIGN.md's: ``{"endpoints": [{"name", "status", "metrics"}],
"alerts": [...]}``, NaN written as null.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import sys
from typing import Any, Final

from mmtui import paths
from mmtui.alerts.service import AlertService, state_path, unhandled
from mmtui.alerts.store import Store, StoreError
from mmtui.cli import error
from mmtui.config import Config, ConfigError, load_config, parse_duration
from mmtui.monitor import Monitor
from mmtui.names import Metrics
from mmtui.snapshot import Snapshot

ONCE_GAP: Final = 2.0
"""Most seconds between the two scrapes of ``--once``."""
DRAIN_TIMEOUT: Final = 30.0
"""Most seconds spent delivering notifications before exiting."""


def load(explicit: str | None) -> Config:
    """The config ``mmtui`` would use (``mmtui.paths.find_config``); ConfigError when none."""
    found = paths.find_config(explicit)
    if found is None:
        raise ConfigError(
            "no config found (looked for --config, $MMTUI_CONFIG, ./mmtui.toml and the XDG "
            "config dir: `mmtui info` lists them)"
        )
    return load_config(found.path)


def run(args: argparse.Namespace) -> int:
    try:
        config = load(args.config)
    except ConfigError as exc:
        return error(str(exc))
    if not config.endpoints:
        return error(f"{config.source}: no [[endpoints]] to check")
    duration = None
    if args.duration is not None:
        try:
            duration = parse_duration(args.duration)
        except ValueError as exc:
            return error(f"--duration: {exc}")
        if duration <= 0:
            return error(f"--duration: expected a duration > 0, got {args.duration!r}")
    try:
        store = Store(state_path(args.state, config))
    except StoreError as exc:
        return error(str(exc))
    try:
        snap, undelivered = asyncio.run(_check(config, store, duration))
    except StoreError as exc:
        return error(str(exc))
    finally:
        with contextlib.suppress(StoreError):  # the run's outcome matters more than a flush
            store.close()
    if args.format == "json":
        json.dump(document(snap), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        _print_text(snap)
    if undelivered:
        print(f"mmtui: warning: {undelivered} notifications not delivered within "
              f"{DRAIN_TIMEOUT:g}s (see `mmtui alerts history`)", file=sys.stderr)
    return 1 if any(unhandled(a) for a in snap.alerts) else 0


async def _check(config: Config, store: Store, duration: float | None) -> tuple[Snapshot, int]:
    """Poll and evaluate, deliver the notifications; the last snapshot and how many notifications
    were left undelivered."""
    service = AlertService(config, store=store)
    monitor = Monitor(config, alerts=service)
    try:
        if duration is None:
            await monitor.poll_once()  # no rates yet: not evaluated (Monitor: warm)
            await asyncio.sleep(min(config.monitor.interval, ONCE_GAP))
            snap = await monitor.poll_once()
        else:
            task = asyncio.create_task(monitor.run())
            done, _ = await asyncio.wait({task}, timeout=duration)
            if task in done:
                task.result()  # it stopped by itself: raise what stopped it
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            snap = await monitor.refresh()
        left = await service.drain(DRAIN_TIMEOUT)
    finally:
        await service.aclose()
    return snap, left


def clean(metrics: Metrics) -> dict[str, float | None]:
    """JSON-safe metrics: NaN and infinities as null."""
    return {k: v if v is not None and math.isfinite(v) else None for k, v in metrics.items()}


def document(snap: Snapshot) -> dict[str, Any]:
    """DESIGN.md's ``check`` document."""
    return {
        "endpoints": [
            {"name": row.endpoint, "status": row.status, "metrics": clean(row.metrics)}
            for row in snap.rows
            if row.model is None
        ],
        "alerts": [a.to_json() for a in snap.alerts],
    }


_SHOWN = (
    ("throughput_rps", "{:.3g} rps"),
    ("error_rate", "err {:.2%}"),
    ("latency_p95_ms", "p95 {:.0f} ms"),
    ("drift_share", "drift {:.0%}"),
    ("accuracy", "accuracy {:.3f}"),
    ("mae", "mae {:.4g}"),
)


def _figures(metrics: Metrics) -> list[str]:
    out = []
    for name, fmt in _SHOWN:
        value = metrics.get(name)
        if value is not None and math.isfinite(value):
            out.append(fmt.format(value))
    mean = metrics.get("latency_mean_ms")
    if metrics.get("latency_p95_ms") is None and mean is not None and math.isfinite(mean):
        out.append(f"mean {mean:.0f} ms")
    return out


def _print_text(snap: Snapshot) -> None:
    from mmtui.commands.alerts import alert_lines

    rows = [r for r in snap.rows if r.model is None]
    width = max(len(r.endpoint) for r in rows)
    for row in rows:
        cells = [f"{row.endpoint:<{width}}", f"{row.status:<7}", *_figures(row.metrics)]
        if row.error:
            cells.append(f"({row.error})")
        print("  ".join(cells))
    print()
    if not snap.alerts:
        print("no alerts")
        return
    firing = [a for a in snap.alerts if unhandled(a)]
    print(f"{len(snap.alerts)} alerts, {len(firing)} firing and neither acknowledged nor "
          "silenced:")
    for line in alert_lines(snap.alerts):
        print(f"  {line}")
