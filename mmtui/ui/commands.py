"""The ``ctrl+p`` command palette: the key table's actions that the current screen can run."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode

from mmtui.ui.keymap import ACTIONS, KeyAction


class KeyTableCommands(Provider):
    """One command per action of :data:`~mmtui.ui.keymap.ACTIONS` bound on the calling screen
    (with its keys as the help text, remaps included); it runs exactly what its key runs."""

    def _commands(self) -> Iterator[tuple[str, str, DOMNode, str]]:
        """``(description, keys, node, action)`` in key-table order."""
        wanted = {a.id: a for a in ACTIONS if a.palette}
        found: dict[str, tuple[KeyAction, DOMNode, str, list[str]]] = {}
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if binding.id in wanted and active.enabled:
                entry = found.setdefault(
                    binding.id, (wanted[binding.id], active.node, binding.action, [])
                )
                entry[3].append(self.app.get_key_display(binding) or key)
        for action in ACTIONS:
            if action.id in found:
                _, node, name, keys = found[action.id]
                yield action.description, ", ".join(keys), node, name

    def _run(self, node: DOMNode, action: str) -> None:
        self.app.call_later(self.app.run_action, action, node)

    async def discover(self) -> Hits:
        for description, keys, node, action in self._commands():
            yield DiscoveryHit(description, partial(self._run, node, action), help=f"key: {keys}")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for description, keys, node, action in self._commands():
            score = matcher.match(description)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(description),
                    partial(self._run, node, action),
                    text=description,
                    help=f"key: {keys}",
                )
