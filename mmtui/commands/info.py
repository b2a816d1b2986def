"""``mmtui info``: where config, state and themes are looked for, and which were found."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mmtui import __version__, paths


def run(args: argparse.Namespace) -> int:
    out = sys.stdout
    print(f"mmtui {__version__} (Python {sys.version.split()[0]})", file=out)
    print("config (first found wins):", file=out)
    found = paths.find_config(args.config)
    for cand in paths.config_candidates(args.config):
        exists = cand.path.is_file()
        mark = "found" if exists else "missing"
        if found is not None and cand.path == found.path and exists:
            mark = "found, in use"
        print(f"  {cand.origin:<15} {cand.path}  [{mark}]", file=out)
    if found is None:
        print("  none found: `mmtui` runs the demo", file=out)
    elif found.path.is_file():
        from mmtui.config import ConfigError, load_config

        try:
            cfg = load_config(found.path)
        except ConfigError as exc:
            print(f"  invalid: {exc}", file=out)
        else:
            print(f"  valid: {len(cfg.endpoints)} endpoints, {len(cfg.rules)} rules", file=out)
    state = args.state or str(paths.default_state_file())
    print(f"state: {state}  [{'exists' if Path(state).exists() else 'not created yet'}]",
          file=out)
    print("themes (later folders override earlier ones):", file=out)
    for d in paths.theme_dirs():
        names = sorted(p.stem for p in d.glob("*.toml")) if d.is_dir() else []
        listing = ", ".join(names) if names else "none"
        print(f"  {d}  [{listing}]", file=out)
    return 0
