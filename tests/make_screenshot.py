"""Write the README's screenshot: the overview at 120×40 on the pinned fleet (tests/pinned.py),
alerts firing in the pane, at the pinned time, in the default theme.

    make screenshot    # .venv/bin/python -m tests.make_screenshot docs/overview.svg

The same data and clock as the SVG snapshot tests, so the picture changes only when the
screens do.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from tests.pinned import PinnedSource, pinned_app, until_shown

SIZE = (120, 40)


async def screenshot(size: tuple[int, int] = SIZE) -> str:
    """The overview as SVG text."""
    with tempfile.TemporaryDirectory(prefix="mmtui-screenshot-") as tmp:
        app = pinned_app(Path(tmp) / "state.db")
        try:
            async with app.run_test(size=size) as pilot:
                await until_shown(pilot)
                await pilot.wait_for_scheduled_animations()
                return app.export_screenshot(title="mmtui")
        finally:
            assert isinstance(app.source, PinnedSource)
            app.source.close()


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0].startswith("-"):
        print("usage: python -m tests.make_screenshot OUT.svg", file=sys.stderr)
        return 2
    out = Path(argv[0])
    svg = asyncio.run(screenshot())
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(svg, encoding="utf-8")
    except OSError as exc:
        print(f"cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
