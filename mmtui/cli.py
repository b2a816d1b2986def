"""Command line: argument parsing and dispatch only (DESIGN.md's contract).

Sub-command modules are imported lazily so that ``mmtui drift`` never pays for Textual.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from mmtui import __version__

SCENARIOS = ("calm", "incident")
FORMATS = ("text", "json")


def _common(p: argparse.ArgumentParser, *, top: bool = False) -> None:
    # Sub-parsers use SUPPRESS so `mmtui --config F info` and `mmtui info --config F` both work
    # (a sub-parser default would otherwise overwrite the top-level value).
    default = None if top else argparse.SUPPRESS
    p.add_argument("--config", metavar="FILE", default=default,
                   help="config file (default: the search order `mmtui info` shows)")
    p.add_argument("--state", metavar="FILE", default=default,
                   help="SQLite state file (default: the XDG state dir)")


def _tui_options(p: argparse.ArgumentParser, *, top: bool = False) -> None:
    p.add_argument("--theme", metavar="NAME", default=None if top else argparse.SUPPRESS,
                   help="theme name (a file in themes/)")
    p.add_argument("--readonly", action="store_true", default=False if top else argparse.SUPPRESS,
                   help="disable every action that changes state (acks, silences, rule edits)")


def _check_options(p: argparse.ArgumentParser, *, once: str) -> None:
    _common(p)
    when = p.add_mutually_exclusive_group()
    when.add_argument("--once", action="store_true", help=once)
    when.add_argument("--duration", metavar="S",
                      help="run the live loop this long (e.g. 30s, 5m), then report")
    p.add_argument("--format", choices=FORMATS, default="text")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmtui",
        description="A terminal console for on-call ML engineers: serving metrics, drift, alerts.",
    )
    parser.add_argument("--version", action="version", version=f"mmtui {__version__}")
    _common(parser, top=True)
    _tui_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo", help="start the simulator on 127.0.0.1 and the TUI against it")
    p.add_argument("--scenario", choices=SCENARIOS, default="incident")
    p.add_argument("--seed", type=int, default=0)
    _common(p)
    _tui_options(p)

    p = sub.add_parser("simulate", help="serve simulated model-server endpoints")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9100)
    p.add_argument("--scenario", choices=SCENARIOS, default="calm")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write-config", metavar="FILE", dest="write_config")

    p = sub.add_parser("scrape", help="poll one metrics endpoint and print derived serving metrics")
    p.add_argument("url")
    p.add_argument("--preset", default="generic")
    p.add_argument("--samples", type=int, default=2, help="scrapes to take (>= 2 gives rates)")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between scrapes")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per scrape")
    p.add_argument("--format", choices=FORMATS, default="text")

    p = sub.add_parser("baseline", help="baseline profiles from historical validation data")
    bsub = p.add_subparsers(dest="baseline_command", metavar="ACTION", required=True)
    b = bsub.add_parser("build", help="build a profile from CSV or NDJSON validation data")
    b.add_argument("data")
    b.add_argument("--out", metavar="FILE")
    b.add_argument("--target", metavar="COL")
    b.add_argument("--prediction", metavar="COL")
    b.add_argument("--categorical", metavar="A,B")
    b.add_argument("--exclude", metavar="A,B")

    p = sub.add_parser("drift", help="drift report of CURRENT data against a baseline profile")
    p.add_argument("baseline")
    p.add_argument("current")
    p.add_argument("--format", choices=("text", "json", "md", "html"), default="text")
    p.add_argument("--out", metavar="FILE")
    p.add_argument("--fail-on-drift", action="store_true", dest="fail_on_drift")

    p = sub.add_parser("check", help="headless: poll, evaluate rules, notify, print the status;"
                       " exit 0 healthy, 1 firing, 2 bad config or input")
    _check_options(p, once="two scrapes min(interval, 2s) apart, one evaluation (the default)")
    p.add_argument("--record", metavar="FILE",
                   help="also write every poll and tick to FILE, a new recording for `mmtui "
                        "replay`")

    p = sub.add_parser("record", help="`mmtui check --record FILE`, by default until Ctrl-C")
    p.add_argument("record", metavar="FILE", help="the new recording (never overwritten)")
    _check_options(p, once="two scrapes min(interval, 2s) apart, one evaluation")

    p = sub.add_parser("replay", help="play a recording back: the TUI, or headless with --check")
    p.add_argument("file", metavar="FILE", help="a recording of `mmtui check --record`")
    p.add_argument("--speed", type=float, default=1.0, metavar="X",
                   help="times the recorded pace (default 1)")
    p.add_argument("--paused", action="store_true", help="start paused on the first tick")
    p.add_argument("--check", action="store_true",
                   help="headless: replay it all at once and print the end state, as `check` "
                        "does, with every alert transition")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--state", metavar="FILE", default=argparse.SUPPRESS,
                   help="a new SQLite state file for the replay (default: a temporary one)")
    p.add_argument("--theme", metavar="NAME", default=argparse.SUPPRESS,
                   help="theme name (a file in themes/)")

    p = sub.add_parser("alerts", help="the alert state in the state store, from a shell")
    _common(p)
    asub = p.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    a = asub.add_parser("list", help="pending and firing alerts (--all: resolved too)")
    a.add_argument("--format", choices=FORMATS, default="text")
    a.add_argument("--all", action="store_true", help="include recently resolved alerts")
    _common(a)
    a = asub.add_parser("ack", help="acknowledge an alert (as $USER@host)")
    a.add_argument("id", help="the alert's id, or a unique prefix of it")
    a.add_argument("--note", metavar="TEXT")
    a.add_argument("--for", metavar="DURATION", dest="for_",
                   help="the ack lapses after this long (e.g. 30m); the alert then notifies again")
    _common(a)
    a = asub.add_parser("unack", help="withdraw an acknowledgement")
    a.add_argument("id")
    _common(a)
    a = asub.add_parser("silence", help="mute the alerts that match every MATCHER")
    a.add_argument("matchers", nargs="+", metavar="MATCHER",
                   help='LABEL=VALUE, LABEL!=VALUE, LABEL=~REGEX or LABEL!~REGEX '
                        '(labels: alertname, endpoint, model, feature, severity, rule labels)')
    a.add_argument("--for", metavar="DURATION", dest="for_", required=True)
    a.add_argument("--reason", metavar="TEXT", required=True)
    _common(a)
    a = asub.add_parser("history", help="the event log: every transition, ack, note, silence,"
                        " notification; of one alert with ID")
    a.add_argument("id", nargs="?")
    a.add_argument("--limit", type=int, default=50, metavar="N", help="the newest N events")
    a.add_argument("--format", choices=FORMATS, default="text")
    _common(a)

    p = sub.add_parser("info", help="where config, state and themes are looked for and found")
    _common(p)
    return parser


_COMMANDS = {
    None: "mmtui.commands.tui",
    "demo": "mmtui.commands.demo",
    "simulate": "mmtui.commands.simulate",
    "scrape": "mmtui.commands.scrape",
    "baseline": "mmtui.commands.baseline",
    "drift": "mmtui.commands.drift",
    "check": "mmtui.commands.check",
    "record": "mmtui.commands.check",
    "replay": "mmtui.commands.replay",
    "alerts": "mmtui.commands.alerts",
    "info": "mmtui.commands.info",
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module = importlib.import_module(_COMMANDS[args.command])
    try:
        code: int = module.run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `mmtui ... | head`: the reader went away; that is not an error worth a traceback.
        sys.stderr.close()
        return 0
    return code


def error(message: str) -> int:
    """Print the one-line error every command uses and return exit code 2."""
    print(f"mmtui: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
