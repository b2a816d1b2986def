"""Textual themes from TOML files: one ``*.toml`` per theme, keys as ``textual.theme.Theme``.

A bad file is skipped with a one-line error naming the file and the key; it never stops the app.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any, Final

from textual.color import Color, ColorParseError
from textual.css.stylesheet import Stylesheet, StylesheetParseError
from textual.theme import Theme

DEFAULT_THEME: Final = "dark"
"""The theme used when none is asked for (``themes/dark.toml``)."""
FALLBACK_THEME: Final = "textual-dark"
"""Textual's built-in theme, used when ``dark.toml`` itself is missing or broken."""

_COLOUR_KEYS: Final = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
_BOOL_KEYS: Final = ("dark", "ansi")
_FRACTION_KEYS: Final = ("luminosity_spread", "text_alpha")
_KNOWN_KEYS: Final = tuple(f.name for f in fields(Theme))


class ThemeFileError(ValueError):
    """A theme file that can't be used; the message is one line naming file and key."""


def load_themes(dirs: Iterable[Path]) -> tuple[list[Theme], list[str]]:
    """Read every ``*.toml`` in ``dirs`` (in order, files sorted by name).

    Returns
    -------
    The valid themes, and one error line per file that was skipped. A missing directory is
    not an error: theme directories are optional.
    """
    themes: list[Theme] = []
    errors: list[str] = []
    for directory in dirs:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                themes.append(read_theme(path))
            except ThemeFileError as error:
                errors.append(str(error))
    return themes, errors


def read_theme(path: Path) -> Theme:
    """Read and validate one theme file; ``name`` defaults to the file's stem.

    Raises
    ------
    ThemeFileError
        The file is unreadable, not TOML, or a key is unknown or has a wrong value.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ThemeFileError(f"{path}: can't read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ThemeFileError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise ThemeFileError(f"{path}: invalid TOML: {error}") from None
    return theme_from_dict(data, source=str(path))


def theme_from_dict(data: dict[str, Any], *, source: str) -> Theme:
    """Validate a parsed theme table; errors start with ``source``."""

    def fail(key: str, expected: str, got: object) -> ThemeFileError:
        return ThemeFileError(f"{source}: key {key!r}: expected {expected}, got {got!r}")

    for key in data:
        if key not in _KNOWN_KEYS:
            raise ThemeFileError(
                f"{source}: key {key!r}: unknown (known keys: {', '.join(_KNOWN_KEYS)})"
            )
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str) or not name.strip():
        raise fail("name", "a non-empty string", name)
    if "primary" not in data:
        raise ThemeFileError(f"{source}: key 'primary': missing (a colour such as '#0178D4')")
    colours: dict[str, str] = {}
    for key in _COLOUR_KEYS:
        if key in data:
            value = data[key]
            if not isinstance(value, str) or not _is_colour(value):
                raise fail(key, "a colour such as '#0178D4' or 'ansi_blue'", value)
            colours[key] = value
    flags: dict[str, bool] = {}
    for key in _BOOL_KEYS:
        if key in data:
            if not isinstance(data[key], bool):
                raise fail(key, "true or false", data[key])
            flags[key] = data[key]
    fractions: dict[str, float] = {}
    for key in _FRACTION_KEYS:
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise fail(key, "a number from 0 to 1", value)
            fractions[key] = float(value)
    variables = _variables(data.get("variables", {}), source)
    return Theme(
        name=name,
        primary=colours.pop("primary"),
        variables=variables,
        **colours,  # type: ignore[arg-type]
        **flags,  # type: ignore[arg-type]
        **fractions,  # type: ignore[arg-type]
    )


def _is_colour(value: str) -> bool:
    try:
        Color.parse(value)
    except ColorParseError:
        return False
    return True


def _variables(table: object, source: str) -> dict[str, str]:
    """Check each CSS variable parses where Textual uses it (a colour or a text style)."""
    if not isinstance(table, dict):
        raise ThemeFileError(f"{source}: key 'variables': expected a table, got {table!r}")
    for name, value in table.items():
        key = f"variables.{name}"
        is_style = "style" in name.split("-")
        if not isinstance(value, str):
            raise ThemeFileError(f"{source}: key {key!r}: expected a string, got {value!r}")
        prop = "text-style" if is_style else "color"
        sheet = Stylesheet(variables={name: value})
        sheet.add_source(f"Widget {{ {prop}: ${name}; }}", read_from=(source, key))
        try:
            sheet.parse()
        except StylesheetParseError:
            expected = (
                "text styles such as 'bold', 'reverse' or 'none'"
                if is_style
                else "a colour such as '#0178D4' or '#0178D4 40%'"
            )
            raise ThemeFileError(
                f"{source}: key {key!r}: expected {expected}, got {value!r}"
            ) from None
    return dict(table)
