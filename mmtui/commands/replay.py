"""``mmtui replay FILE``: a recording of ``mmtui check --record`` played back.

Without ``--check``: the TUI on the replay (read-only), at the recorded pace times ``--speed``;
``p`` pauses, ``n`` or ``.`` steps one tick (pausing first), ``r`` plays the next tick at once; the
status bar shows ``REPLAY t=… (k/n)``.

``--check``: headless, every tick as fast as it goes, then the end state in ``check``'s shape
(text, or ``--format json``: DESIGN.md's ``{"endpoints", "alerts"}`` plus ``"transitions"``, every
alert transition of the replay as ``mmtui alerts history --format json`` gives events, and
``"replay"``: ``{"file", "ticks", "problem", "divergences"}``). ``problem`` says why the recording
ended early (a crash of the recorder), ``divergences`` lists the ticks after which the replay's
alerts were not the recorded run's (there should be none). Exit codes as ``check``'s: 0 nothing
fires unhandled at the end, 1 something does, 2 a recording or state file that cannot be used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from mmtui.alerts.service import unhandled
from mmtui.alerts.state import iso_time
from mmtui.alerts.store import StoreError
from mmtui.cli import error
from mmtui.recording import RecordingError
from mmtui.replay import ReplaySource
from mmtui.snapshot import Snapshot


def run(args: argparse.Namespace) -> int:
    if not args.speed > 0:
        return error(f"--speed: expected a number > 0, got {args.speed:g}")
    try:
        source = ReplaySource.open(args.file, state=getattr(args, "state", None),
                                   speed=args.speed, paused=args.paused)
    except (RecordingError, StoreError) as exc:
        return error(str(exc))
    if args.check:
        return _headless(source, args.format)
    from mmtui import paths
    from mmtui.ui.replay_app import ReplayApp

    app = ReplayApp(source, theme=getattr(args, "theme", None), theme_dirs=paths.theme_dirs())
    try:
        app.run()
    finally:
        asyncio.run(source.aclose())
    return app.return_code or 0


def _headless(source: ReplaySource, fmt: str) -> int:
    async def play() -> tuple[Snapshot | None, list[Any]]:
        try:
            snap = await source.replay_all()
            return snap, await asyncio.to_thread(source.transitions)
        finally:
            await source.aclose()

    try:
        snap, transitions = asyncio.run(play())
    except (RecordingError, StoreError) as exc:
        return error(str(exc))
    if snap is None:
        return error(f"{source.path}: no tick recorded: nothing to replay")
    if fmt == "json":
        from mmtui.commands.check import document

        doc = document(snap) | {
            "transitions": [e.to_json() for e in transitions],
            "replay": {
                "file": str(source.path),
                "ticks": source.tick,
                "problem": source.reader.problem,
                "divergences": [d.to_json() for d in source.divergences],
            },
        }
        json.dump(doc, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        from mmtui.commands.alerts import describe
        from mmtui.commands.check import print_text

        print_text(snap)
        print()
        print(f"{len(transitions)} transitions:" if transitions else "no transitions")
        for e in transitions:
            print(f"  {iso_time(e.at)}  {(e.fingerprint or '-')[:8]}  {describe(e)}")
    print(f"mmtui: replayed {source.tick} ticks of {source.path}", file=sys.stderr)
    if source.reader.problem is not None:
        print(f"mmtui: warning: {source.path}: {source.reader.problem}", file=sys.stderr)
    if source.divergences:
        first = source.divergences[0]
        print(f"mmtui: warning: the replay's alerts differ from the recorded run's after "
              f"{len(source.divergences)} ticks (first: tick {first.tick}, "
              f"{iso_time(first.at)})", file=sys.stderr)
    return 1 if any(unhandled(a) for a in snap.alerts) else 0
