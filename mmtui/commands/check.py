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

``--record FILE`` (and ``mmtui record FILE``, which runs the live loop until Ctrl-C unless given
``--once`` or ``--duration``) writes every poll and tick to a new recording
(:mod:`mmtui.recording`) that ``mmtui replay`` plays back. With a recording, Ctrl-C (or SIGTERM)
ends the run normally: the recording is finished and the state reported. A recording that
cannot be created or written is an error (exit 2), after the report.

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
import signal
import sys
import time
from typing import Any, Final

from mmtui import paths
from mmtui.alerts.service import AlertService, state_path, unhandled
from mmtui.alerts.store import Store, StoreError
from mmtui.cli import error
from mmtui.config import Config, ConfigError, load_config, parse_duration
from mmtui.monitor import Monitor
from mmtui.names import Metrics
from mmtui.recording import Recorder, RecordingError
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
    record: str | None = getattr(args, "record", None)
    forever = args.command == "record" and duration is None and not args.once
    try:
        store = Store(state_path(args.state, config))
    except StoreError as exc:
        return error(str(exc))
    recorder = None
    try:
        if record is not None:
            recorder = Recorder.create(record)
        snap, undelivered = asyncio.run(_check(config, store, duration, recorder, forever))
    except (StoreError, RecordingError) as exc:
        return error(str(exc))
    finally:
        if recorder is not None:
            recorder.close()
        with contextlib.suppress(StoreError):  # the run's outcome matters more than a flush
            store.close()
    if args.format == "json":
        json.dump(document(snap), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print_text(snap)
    if undelivered:
        print(f"mmtui: warning: {undelivered} notifications not delivered within "
              f"{DRAIN_TIMEOUT:g}s (see `mmtui alerts history`)", file=sys.stderr)
    if recorder is not None:
        if recorder.failed is not None:
            return error(recorder.failed)
        print(f"mmtui: recorded {recorder.ticks} ticks to {recorder.path}", file=sys.stderr)
    return 1 if any(unhandled(a) for a in snap.alerts) else 0


async def _check(
    config: Config, store: Store, duration: float | None, recorder: Recorder | None = None,
    forever: bool = False,
) -> tuple[Snapshot, int]:
    """Poll and evaluate, deliver the notifications; the last snapshot and how many notifications
    were left undelivered. ``forever``: the live loop until Ctrl-C."""
    service = AlertService(config, store=store)
    monitor = Monitor(config, alerts=service, recorder=recorder)
    try:
        if recorder is not None:
            await asyncio.to_thread(recorder.start, config, baselines=monitor.baselines(),
                                    store=store, at=time.time())
        if duration is None and not forever:
            await monitor.poll_once()  # no rates yet: not evaluated (Monitor: warm)
            await asyncio.sleep(min(config.monitor.interval, ONCE_GAP))
            snap = await monitor.poll_once()
        else:
            task = asyncio.create_task(monitor.run())
            current = asyncio.current_task()
            stop = recorder is not None and current is not None and _stop_on_sigterm(current)
            try:
                done, _ = await asyncio.wait({task}, timeout=duration)
            except asyncio.CancelledError:  # Ctrl-C (asyncio.run cancels this task) or SIGTERM
                if recorder is None or current is None:
                    raise
                current.uncancel()  # handled: the run goes on to report
                done = set()
            finally:
                if stop:
                    asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
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


def _stop_on_sigterm(task: asyncio.Task[Any]) -> bool:
    """Let SIGTERM (``kill``, ``timeout``, a service manager) end a recording run as Ctrl-C does;
    False where signal handlers cannot be set (not the main thread, Windows)."""
    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    except (NotImplementedError, RuntimeError, ValueError):
        return False
    return True


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


def print_text(snap: Snapshot) -> None:
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
