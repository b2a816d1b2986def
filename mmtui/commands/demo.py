"""``mmtui demo``: the simulator on 127.0.0.1 and the TUI against it, in one process."""

from __future__ import annotations

import argparse

from mmtui.cli import error
from mmtui.config import ConfigError, parse_config


def run(args: argparse.Namespace) -> int:
    from mmtui.commands.tui import run_config
    from mmtui.sim.server import SimServer

    server = SimServer(scenario=args.scenario, seed=args.seed)
    try:
        server.start()
    except OSError as exc:
        return error(f"cannot start the simulator on 127.0.0.1: {exc}")
    try:
        try:
            config = parse_config(server.config_toml(interval="2s"), source="<demo>", env={})
        except ConfigError as exc:  # a bug in the simulator's config, but say so plainly
            return error(str(exc))
        return run_config(config, theme=getattr(args, "theme", None),
                          state=getattr(args, "state", None),
                          readonly=getattr(args, "readonly", False))
    finally:
        server.stop()
