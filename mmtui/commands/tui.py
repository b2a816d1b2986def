"""``mmtui`` with no sub-command: the TUI on the config found, or the demo when there is none."""

from __future__ import annotations

import argparse

from mmtui import paths
from mmtui.cli import error
from mmtui.config import Config, ConfigError, load_config


def run(args: argparse.Namespace) -> int:
    found = paths.find_config(args.config)
    if found is None:
        from mmtui.commands import demo

        return demo.run(argparse.Namespace(scenario="incident", seed=0, theme=args.theme,
                                           config=None, state=args.state))
    try:
        config = load_config(found.path)
    except ConfigError as exc:
        return error(str(exc))
    if not config.endpoints:
        return error(f"{found.path}: no [[endpoints]] to monitor")
    return run_config(config, theme=args.theme)


def run_config(config: Config, *, theme: str | None) -> int:
    """Open the TUI on a validated config."""
    from mmtui.monitor import Monitor
    from mmtui.ui.app import run_tui

    monitor = Monitor(config)
    return run_tui(monitor, theme=theme or config.monitor.theme, theme_dirs=paths.theme_dirs())
