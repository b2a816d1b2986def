"""``mmtui alerts list|ack|unack|silence|history``: the alert state store, from a shell.

They work on the store a running ``mmtui`` (or ``mmtui check`` from cron) uses: ``--state FILE``,
else ``[monitor] state`` of the config ``mmtui`` would use, else the XDG state dir. An ack or a
silence made here is durable when the command returns, and the running monitors pick it up at
their next tick (the store's change counter): the engine then sends ``acknowledged`` to
PagerDuty and friends, or mutes what the silence matches. Who did it is ``$USER@host``.

``list --format json`` is DESIGN.md's ``alerts`` document. Its ``endpoints`` are the status and
figures the monitor last recorded (with ``error`` and ``at``), ``stale`` when no monitor has
updated them for three poll intervals.
Alert ids are unique prefixes of the fingerprint (8 characters shown); an unknown or ambiguous
id is a one-line error and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from mmtui import paths
from mmtui.alerts.identity import whoami
from mmtui.alerts.state import Alert, iso_time, parse_matcher
from mmtui.alerts.store import Event, Store, StoreError
from mmtui.cli import error
from mmtui.config import ConfigError, load_config, parse_duration


def run(args: argparse.Namespace) -> int:
    try:
        path = state_file(args)
    except ConfigError as exc:
        return error(str(exc))
    action: str = args.alerts_command
    if action != "silence" and not path.exists():
        return _no_store(args, action, path)
    try:
        with Store(path) as store:
            return _ACTIONS[action](args, store)
    except (StoreError, ValueError) as exc:
        return error(str(exc))


def state_file(args: argparse.Namespace) -> Path:
    """``--state``, else the found config's ``[monitor] state``, else the XDG default.

    A config that is found but invalid is an error (it is what ``mmtui`` would run with)."""
    explicit = getattr(args, "state", None)
    if explicit:
        return Path(explicit)
    found = paths.find_config(getattr(args, "config", None))
    if found is not None:
        config = load_config(found.path)
        if config.monitor.state:
            return Path(config.monitor.state)
    return paths.default_state_file()


def _no_store(args: argparse.Namespace, action: str, path: Path) -> int:
    """No state file yet: nothing to list, nothing to acknowledge."""
    if action == "list":
        if args.format == "json":
            _dump({"endpoints": [], "alerts": []})
        else:
            print(f"no alerts ({path} does not exist yet)")
        return 0
    if action == "history" and args.id is None:
        if args.format == "json":
            _dump({"events": []})
        else:
            print(f"no events ({path} does not exist yet)")
        return 0
    return error(f"no alert with id {args.id!r}: {path} does not exist yet")


def _duration(option: str, text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise ValueError(f"{option}: {exc}") from None
    if seconds <= 0:
        raise ValueError(f"{option}: expected a duration > 0, got {text!r}")
    return seconds


def _list(args: argparse.Namespace, store: Store) -> int:
    now = time.time()
    alerts = store.alerts(now)
    if not args.all:
        alerts = [a for a in alerts if a.state in ("pending", "firing")]
    if args.format == "json":
        _dump({"endpoints": [e.to_json() for e in store.endpoints(now)],
               "alerts": [a.to_json() for a in alerts]})
        return 0
    if alerts:
        for line in alert_lines(alerts):
            print(line)
    else:
        print("no alerts" if args.all else "no pending or firing alerts (--all: resolved too)")
    silences = store.silences(now)
    if silences:
        print(f"\n{len(silences)} silences:")
        for s in silences:
            matchers = " ".join(str(m) for m in s.matchers)
            print(f"  {s.short_id}  {matchers}  until {iso_time(s.ends_at)}  by {s.created_by}:"
                  f" {s.reason}")
    return 0


def _ack(args: argparse.Namespace, store: Store) -> int:
    now = time.time()
    until = None if args.for_ is None else now + _duration("--for", args.for_)
    who = whoami()
    alert = store.ack(args.id, who, note=args.note, until=until, now=now)
    lapse = "" if until is None else f" until {iso_time(until)}"
    print(f"acknowledged {alert.id} ({_what(alert)}) as {who}{lapse}")
    return 0


def _unack(args: argparse.Namespace, store: Store) -> int:
    alert = store.unack(args.id, whoami())
    print(f"unacknowledged {alert.id} ({_what(alert)}): it notifies again while it fires")
    return 0


def _silence(args: argparse.Namespace, store: Store) -> int:
    matchers = [parse_matcher(m) for m in args.matchers]
    seconds = _duration("--for", args.for_)
    now = time.time()
    silence = store.add_silence(matchers, ends_at=now + seconds, created_by=whoami(),
                                reason=args.reason, now=now)
    muted = [a for a in store.alerts(now)
             if a.state != "resolved" and silence.matches(a.match_labels())]
    shown = " ".join(str(m) for m in silence.matchers)
    print(f"silence {silence.short_id} until {iso_time(silence.ends_at)}: {shown} "
          f"({len(muted)} current alerts match)")
    return 0


def _history(args: argparse.Namespace, store: Store) -> int:
    if args.limit < 1:
        raise ValueError(f"--limit: expected an integer >= 1, got {args.limit}")
    events = store.events(args.id, limit=args.limit)
    if args.format == "json":
        _dump({"events": [e.to_json() for e in events]})
        return 0
    if not events:
        print("no events")
    for e in events:
        alert = e.fingerprint[:8] if e.fingerprint else "-"
        print(f"{iso_time(e.at)}  {e.kind:<15} {alert:<8}  {e.who or 'mmtui'}  {describe(e)}")
    return 0


_ACTIONS: dict[str, Callable[[argparse.Namespace, Store], int]] = {
    "list": _list,
    "ack": _ack,
    "unack": _unack,
    "silence": _silence,
    "history": _history,
}


# --------------------------------------------------------------------------- text


def _where(a: Alert) -> str:
    where = a.endpoint if a.model is None else f"{a.endpoint}/{a.model}"
    return where if a.feature is None else f"{where} [{a.feature}]"


def _what(a: Alert) -> str:
    return f"{a.rule} on {_where(a)}, {a.state}"


def _num(x: float | None) -> str:
    """``0.0512``, ``412.5``, ``42,000``: 4 significant digits, no exponent below 1e9."""
    if x is None:
        return "-"
    return f"{x:,.0f}" if 1e4 <= abs(x) < 1e9 else f"{x:.4g}"


def alert_lines(alerts: Iterable[Alert]) -> list[str]:
    """One line per alert, for people: state, severity, id, rule, series, value, flags."""
    out = []
    for a in alerts:
        flags = []
        if a.ack is not None:
            note = f": {a.ack.note}" if a.ack.note else ""
            flags.append(f"acknowledged by {a.ack.by}{note}")
        if a.silenced_by:
            flags.append("silenced")
        if a.inhibited:
            flags.append("inhibited (endpoint down)")
        if a.flapping:
            flags.append("flapping")
        if a.compliance:
            flags.append("compliance")
        extra = f"  [{'; '.join(flags)}]" if flags else ""
        out.append(
            f"{a.state.upper():<8} {a.severity:<8} {a.id}  {a.rule}  {_where(a)}  "
            f"value {_num(a.value)} (threshold {_num(a.threshold)})  since {iso_time(a.since)}"
            f"{extra}"
        )
    return out


def describe(e: Event) -> str:
    """One event's detail, for people."""
    d = e.detail
    if e.kind == "transition":
        value, threshold = _num(_float(d.get("value"))), _num(_float(d.get("threshold")))
        return (f"{d.get('from')} → {d.get('to')}  {d.get('rule')} on {d.get('endpoint')}  "
                f"value {value} (threshold {threshold})")
    if e.kind == "ack":
        parts = [f"note: {d['note']}"] if d.get("note") else []
        until = _float(d.get("until"))
        parts += [f"until {iso_time(until)}"] if until is not None else []
        return ", ".join(parts)
    if e.kind == "note":
        return str(d.get("text", ""))
    if e.kind == "silence":
        matchers = d.get("matchers")
        shown = " ".join(str(m) for m in matchers) if isinstance(matchers, list) else ""
        return f"{d.get('id')} {shown} until {d.get('ends_at')}: {d.get('reason')}"
    if e.kind == "notification":
        outcome = "sent" if d.get("ok") else f"failed: {d.get('error')}"
        return f"{d.get('kind')} via {d.get('channel')}: {outcome}"
    return json.dumps(dict(d), ensure_ascii=False, separators=(", ", ": ")) if d else ""


def _float(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def _dump(doc: object) -> None:
    json.dump(doc, sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")
