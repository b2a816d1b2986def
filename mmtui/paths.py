"""Where mmtui looks for config, state and themes (XDG), created lazily, never at import."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

APP = "mmtui"
CONFIG_NAME = "mmtui.toml"


def _xdg(env: Mapping[str, str], var: str, fallback: str) -> Path:
    value = env.get(var, "")
    base = Path(value) if value and Path(value).is_absolute() else Path.home() / fallback
    return base / APP


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    return _xdg(os.environ if env is None else env, "XDG_CONFIG_HOME", ".config")


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    return _xdg(os.environ if env is None else env, "XDG_STATE_HOME", ".local/state")


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    return _xdg(os.environ if env is None else env, "XDG_CACHE_HOME", ".cache")


def default_state_file(env: Mapping[str, str] | None = None) -> Path:
    return state_dir(env) / "state.db"


def ensure_dir(path: Path) -> Path:
    """Create ``path`` (and parents) on first use; returns it."""
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True, slots=True)
class Candidate:
    """One place a config file is looked for, and why."""

    path: Path
    origin: str
    """"--config", "$MMTUI_CONFIG", "./mmtui.toml" or "XDG config dir"."""


def config_candidates(
    explicit: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> list[Candidate]:
    """Search order: ``--config``, ``$MMTUI_CONFIG``, ``./mmtui.toml``, the XDG config dir."""
    env = os.environ if env is None else env
    out: list[Candidate] = []
    if explicit:
        out.append(Candidate(Path(explicit), "--config"))
    if env.get("MMTUI_CONFIG"):
        out.append(Candidate(Path(env["MMTUI_CONFIG"]), "$MMTUI_CONFIG"))
    out.append(Candidate((cwd or Path.cwd()) / CONFIG_NAME, "./mmtui.toml"))
    out.append(Candidate(config_dir(env) / CONFIG_NAME, "XDG config dir"))
    return out


def find_config(
    explicit: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Candidate | None:
    """The first candidate that exists. An explicit ``--config`` or ``$MMTUI_CONFIG`` is returned
    even when missing, so the caller reports it instead of silently falling through."""
    for cand in config_candidates(explicit, env, cwd):
        if cand.origin in ("--config", "$MMTUI_CONFIG") or cand.path.is_file():
            return cand
    return None


def bundled_themes_dir() -> Path:
    """Shipped themes: ``themes/`` in a checkout, ``mmtui/_themes`` in a wheel."""
    here = Path(__file__).resolve().parent
    packaged = here / "_themes"
    return packaged if packaged.is_dir() else here.parent / "themes"


def theme_dirs(env: Mapping[str, str] | None = None) -> list[Path]:
    """Theme folders, later ones overriding earlier ones: bundled, then the user's."""
    return [bundled_themes_dir(), config_dir(env) / "themes"]
