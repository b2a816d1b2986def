"""Messages that carry the core's output into the app."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from mmtui.snapshot import Snapshot


@dataclass
class SnapshotArrived(Message):
    """The source published a snapshot.

    Only the latest matters: a newer one waiting behind it in the queue replaces it, so a fast
    feed can't flood the queue or delay keys.
    """

    snapshot: Snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotArrived)
