"""Theme files: the bundled ones load; a bad one is one line naming the file and the key; and
every bundled theme stays readable under NO_COLOR and on a 16-colour terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import textual.constants
from rich.color import Color as RichColor
from rich.color import ColorSystem
from rich.segment import Segment
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget

import tests.test_ui_alerts as ui_alerts
import tests.test_ui_overview as ui_overview
from mmtui.snapshot import RowSnapshot, Snapshot
from mmtui.ui.app import MmtuiApp
from mmtui.ui.screens.alerts import AlertsScreen
from mmtui.ui.screens.drift import DriftScreen
from mmtui.ui.themes import ThemeFileError, load_themes, read_theme
from mmtui.ui.widgets.drift_table import DriftTable
from mmtui.ui.widgets.overview_table import OverviewTable
from tests.drift_samples import fleet as drift_fleet
from tests.pinned import NOW, FakeSource

REPO_THEMES = Path(__file__).resolve().parents[1] / "themes"

GOOD = """
name = "sea"
primary = "#0178D4"
background = "#001020"
dark = true
text_alpha = 0.9
[variables]
footer-key-foreground = "#0178D4"
input-selection-background = "#0178D4 35%"
block-cursor-text-style = "bold reverse"
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_themes_all_load() -> None:
    themes, errors = load_themes([REPO_THEMES])
    assert errors == []
    by_name = {t.name: t for t in themes}
    assert {"dark", "light", "high-contrast", "monochrome"} <= set(by_name)
    assert by_name["dark"].dark is True
    assert by_name["light"].dark is False


def test_good_theme_maps_onto_textual_theme(tmp_path: Path) -> None:
    theme = read_theme(write(tmp_path, "sea.toml", GOOD))
    assert theme.name == "sea"
    assert theme.primary == "#0178D4"
    assert theme.background == "#001020"
    assert theme.text_alpha == 0.9
    assert theme.variables["block-cursor-text-style"] == "bold reverse"


def test_name_defaults_to_file_stem(tmp_path: Path) -> None:
    theme = read_theme(write(tmp_path, "dusk.toml", 'primary = "#884488"\n'))
    assert theme.name == "dusk"


@pytest.mark.parametrize(
    ("text", "key", "detail"),
    [
        ('primary = "#0178D4"\nprimay = "#fff"\n', "primay", "unknown"),
        ('primary = "blurple"\n', "primary", "'blurple'"),
        ('primary = "#0178D4"\nerror = 12\n', "error", "12"),
        ('background = "#000000"\n', "primary", "missing"),
        ('primary = "#0178D4"\ndark = "yes"\n', "dark", "true or false"),
        ('primary = "#0178D4"\ntext_alpha = 1.5\n', "text_alpha", "0 to 1"),
        ('primary = "#0178D4"\nname = ""\n', "name", "non-empty"),
        ('primary = "#0178D4"\nvariables = 3\n', "variables", "a table"),
        (
            'primary = "#0178D4"\n[variables]\nblock-cursor-background = "notacolour"\n',
            "variables.block-cursor-background",
            "'notacolour'",
        ),
        (
            'primary = "#0178D4"\n[variables]\nblock-cursor-text-style = "loud"\n',
            "variables.block-cursor-text-style",
            "text styles",
        ),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, text: str, key: str, detail: str) -> None:
    path = write(tmp_path, "broken.toml", text)
    with pytest.raises(ThemeFileError) as caught:
        read_theme(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: key {key!r}")
    assert detail in message
    assert "\n" not in message


def test_invalid_toml_names_file_and_position(tmp_path: Path) -> None:
    path = write(tmp_path, "syntax.toml", 'primary = "#0178D4"\nsecondary "#fff"\n')
    with pytest.raises(ThemeFileError, match=r"syntax\.toml: invalid TOML: .*line 2"):
        read_theme(path)


def test_unreadable_and_non_utf8_files_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'primary = "#0178D4" # caf\xe9\n')
    with pytest.raises(ThemeFileError, match=r"latin1\.toml: not UTF-8 text"):
        read_theme(path)
    with pytest.raises(ThemeFileError, match=r"gone\.toml: can't read"):
        read_theme(tmp_path / "gone.toml")


def test_loader_skips_bad_files_and_keeps_good_ones(tmp_path: Path) -> None:
    write(tmp_path, "a-good.toml", GOOD)
    write(tmp_path, "b-bad.toml", 'primary = "nope"\n')
    write(tmp_path, "notes.txt", "not a theme")
    themes, errors = load_themes([tmp_path, tmp_path / "missing"])
    assert [t.name for t in themes] == ["sea"]
    assert len(errors) == 1
    assert "b-bad.toml" in errors[0]
    assert "'primary'" in errors[0]


# -- NO_COLOR and 16-colour terminals: the app as drawn, every bundled theme ------------------
#
# Textual honours NO_COLOR by greying every colour (its Monochrome line filter) and draws with
# the colour system of TEXTUAL_COLOR_SYSTEM (read when textual is imported: the tests set the
# constant it lands in). Either way a state must read as a word or a glyph, and no text may
# come out in its own background's colour.

THEMES = ("dark", "light", "high-contrast", "monochrome")
MARKS = "↑↓!~…"
OVERVIEW_STATES = ("↑ up", "↓ down", "! error", "~ stale", "… pending", "CRIT", "warn", "FIRING",
                   "pending", "ack ana", "silenced", "SLO error")
CONSOLE_STATES = ("FIRING", "pending", "acked by ana", "silenced", "resolved", "SLO error")


def every_state() -> Snapshot:
    rows = (*ui_overview.ROWS,
            RowSnapshot("scorer-b", None, "kserve", "stale", None, NOW - 60, {}),
            RowSnapshot("tgi-b", None, "tgi", "error", "HTTP 500", NOW - 5, {}))
    budget = replace(ui_alerts.make_alert("error budget", "scorer-b"), compliance=True)
    return Snapshot(at=NOW, tick=2, paused=False, interval=2.0, rows=rows,
                    alerts=(*ui_alerts.ALERTS, budget))


def text_segments(app: MmtuiApp) -> Iterator[tuple[Widget, Segment]]:
    """Each segment with a letter, digit or status glyph, of every widget on the screen,
    as drawn (styles, theme and Textual's line filters applied)."""
    for widget in app.screen.query(Widget):
        if not widget.display or not widget.size.area:
            continue
        for strip in widget.render_lines(Region(0, 0, *widget.size)):
            for segment in strip:
                if any(c.isalnum() or c in MARKS for c in segment.text):
                    yield widget, segment


def screen_text(app: MmtuiApp) -> str:
    lines = []
    for widget in app.screen.query(Widget):
        if widget.display and widget.size.area:
            lines += [strip.text for strip in widget.render_lines(Region(0, 0, *widget.size))]
    return "\n".join(lines)


def colours(segment: Segment) -> tuple[RichColor, RichColor]:
    assert segment.style is not None
    fg, bg = segment.style.color, segment.style.bgcolor
    assert fg is not None and bg is not None, segment
    return fg, bg


def contrast(fg: RichColor, bg: RichColor) -> float:
    """The WCAG contrast ratio of two colours (1 to 21)."""

    def luminance(colour: RichColor) -> float:
        def linear(c: int) -> float:
            x = c / 255
            return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

        r, g, b = colour.get_truecolor()
        return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)

    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


async def each_screen_and_theme(
    app: MmtuiApp, pilot: Pilot[int], check: Callable[[str, str], None]
) -> None:
    """``check(screen, theme)`` on the overview, the alerts console and a drift table, in
    every bundled theme, with alerts and endpoints in every state."""
    await ui_alerts.started(app, pilot, alerts=every_state().alerts)
    source = app.source
    assert isinstance(source, FakeSource)
    source.publish(every_state())
    await pilot.pause()
    screens = {
        "overview": None,
        "console": AlertsScreen(app.snapshots, latest=app.latest_snapshot, clock=app.clock),
        "drift": DriftScreen(app.snapshots, endpoint="fraud-scorer", latest=drift_fleet(),
                             clock=app.clock),
    }
    for name, screen in screens.items():
        if screen is not None:
            if len(app.screen_stack) > 1:
                await app.pop_screen()
            await app.push_screen(screen)
        for theme in THEMES:
            app.theme = theme
            await pilot.pause()
            check(name, theme)


def states_read_as_words(app: MmtuiApp, name: str) -> None:
    text = screen_text(app)
    wanted = {"overview": OVERVIEW_STATES, "console": CONSOLE_STATES, "drift": ("DRIFT",)}
    for word in wanted[name]:
        assert word in text, (name, word)


async def test_no_color_greys_everything_and_states_read_as_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = ui_alerts.make_app(ui_alerts.FakeService())
    assert app.no_color

    def check(name: str, theme: str) -> None:
        for widget, segment in text_segments(app):
            fg, bg = colours(segment)
            for colour in (fg, bg):
                r, g, b = colour.get_truecolor()
                assert r == g == b, (theme, name, segment.text, colour)  # no hue left
            tables = (OverviewTable, DriftTable)
            least = 4.5 if isinstance(widget, tables) else 3.0  # WCAG AA: text, large/UI
            assert contrast(fg, bg) >= least, (theme, name, segment.text, fg, bg)
        states_read_as_words(app, name)

    async with app.run_test(size=(200, 32)) as pilot:
        await each_screen_and_theme(app, pilot, check)


async def test_a_16_colour_terminal_never_draws_text_in_its_background_colour(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(textual.constants, "COLOR_SYSTEM", "standard")
    app = ui_alerts.make_app(ui_alerts.FakeService())
    assert app.console.color_system == "standard"
    system = ColorSystem.STANDARD

    def check(name: str, theme: str) -> None:
        for _, segment in text_segments(app):
            fg, bg = colours(segment)
            assert fg.downgrade(system).number != bg.downgrade(system).number, (
                theme, name, segment.text, fg, bg)
        states_read_as_words(app, name)

    async with app.run_test(size=(200, 32)) as pilot:
        await each_screen_and_theme(app, pilot, check)
