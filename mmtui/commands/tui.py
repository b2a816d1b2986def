"""``mmtui`` with no sub-command: the TUI on the config found, or the demo when there is none."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from mmtui import paths
from mmtui.cli import error
from mmtui.config import Config, ConfigError, load_config

if TYPE_CHECKING:
    from mmtui.alerts.channels.bell import Toast


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
    return run_config(config, theme=args.theme, state=args.state,
                      readonly=getattr(args, "readonly", False))


def run_config(
    config: Config, *, theme: str | None, state: str | None = None, readonly: bool = False
) -> int:
    """Open the TUI on a validated config, with the alert state in ``state`` (or the default)."""
    from mmtui.alerts.service import AlertService, state_path
    from mmtui.alerts.store import Store, StoreError
    from mmtui.monitor import Monitor
    from mmtui.ui.app import MmtuiApp
    from mmtui.ui.partial_updates import install

    install()  # partial screen updates from the first changed cell: half the bytes when idle

    try:
        store = Store(state_path(state, config))
    except StoreError as exc:
        return error(str(exc))
    app: MmtuiApp | None = None

    def toast(t: Toast) -> None:
        severity = {"critical": "error", "warning": "warning"}.get(t.severity, "information")
        if app is not None:
            app.notify(t.message, title=t.title, severity=severity, markup=False)  # type: ignore[arg-type]

    def bell() -> None:
        if app is not None:
            app.bell()

    service = AlertService(config, store=store, toast=toast, bell=bell)
    monitor = Monitor(config, alerts=service, reports_dir=store.path.parent / "reports")
    app = MmtuiApp(monitor, theme=theme or config.monitor.theme,
                   theme_dirs=paths.theme_dirs(), readonly=readonly)
    if config.keys:
        from mmtui.ui.keymap import apply_remap, read_keys

        try:
            remap = apply_remap(read_keys(config.keys))
        except ValueError as exc:
            return error(f"{config.source}: {exc}")
        app.set_keymap(remap.keymap)
        for problem in remap.errors:  # shown once the app runs; defaults stay for those
            app.call_later(app.notify, f"{config.source}: {problem}", severity="warning")
    try:
        app.run()
    finally:
        asyncio.run(service.aclose())
        store.close()
    return app.return_code or 0
