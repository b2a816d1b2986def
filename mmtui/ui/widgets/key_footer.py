"""Textual's ``Footer``, rebuilt only when the keys it shows change."""

from __future__ import annotations

from collections.abc import Hashable

from textual.widgets import Footer


class KeyFooter(Footer):
    """The key bar at the bottom of a screen.

    ``Footer`` removes and mounts all its keys again on every refresh of the screen's bindings,
    about 50 ms of work each time. A screen refreshes them on every focus change and three times
    as it starts, the last ones as the first poll's figures arrive, whose frame they held up by
    a tenth of a second or more. This one skips a rebuild that would show the same keys.
    """

    _composed: Hashable | None = None
    """What the keys were last built from."""

    async def recompose(self) -> None:
        shown = self._shown()
        if shown == self._composed:
            return
        self._composed = shown
        await super().recompose()

    def _shown(self) -> Hashable:
        """Everything ``Footer.compose`` reads: whether the bindings are known yet, and each
        active binding with its state and how its key is written."""
        if not self._bindings_ready:
            return None
        app = self.app
        return (
            self.show_command_palette,
            tuple(
                (binding, enabled, tooltip, app.get_key_display(binding))
                for _, binding, enabled, tooltip in self.screen.active_bindings.values()
            ),
        )
