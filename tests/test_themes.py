"""Theme files: the bundled ones load; a bad one is one line naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmtui.ui.themes import ThemeFileError, load_themes, read_theme

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
