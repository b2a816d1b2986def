"""``mmtui simulate``: serve the simulated endpoints until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from mmtui.cli import error


def run(args: argparse.Namespace) -> int:
    from mmtui.sim.scenarios import get_scenario
    from mmtui.sim.server import SimServer, is_loopback

    host: str = args.host or "127.0.0.1"
    port: int = 0 if args.port is None else args.port
    seed: int = 0 if args.seed is None else args.seed
    try:
        scenario = get_scenario(args.scenario or "calm")
        server = SimServer(scenario.name, seed, host, port, allow_remote=True)
    except ValueError as exc:
        return error(str(exc))
    try:
        url = server.start()
    except OSError as exc:
        return error(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    try:
        if args.write_config:
            path = Path(args.write_config)
            try:
                path.write_text(server.config_toml(interval="2s"), encoding="utf-8")
            except OSError as exc:
                return error(f"cannot write config {path}: {exc.strerror or exc}")
        err = sys.stderr
        print(f"mmtui simulate: scenario {scenario.name!r}, seed {seed}, on {url}", file=err)
        if not is_loopback(host):
            print(f"warning: {host} is not loopback: anyone who can reach it can scrape it",
                  file=err)
        for ep in server.endpoints:
            print(f"  {ep['name']:<18} {ep['preset']:<11} {ep['metrics_url']}", file=err)
            if ep.get("records_url"):
                print(f"  {'':<18} {'records':<11} {ep['records_url']}", file=err)
        print("timeline:", file=err)
        for line in scenario.timeline():
            print(f"  {line}", file=err)
        if args.write_config:
            print(f"config written to {args.write_config}", file=err)
        print("serving until Ctrl-C", file=err, flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
