"""The agent's inference log: a bounded ring of NDJSON lines served by the records protocol.

The protocol is :mod:`mmtui.feeds.records`' (``GET /records?after=<seq>&limit=<n>``): each line
has a ``seq`` strictly increasing over the agent's life, a record line is
``{"seq", "id", "ts", "features", "prediction"}`` (``label`` too when it was known at once) and a
late label is ``{"seq", "id", "label"}``, which mmtui joins to its record by ``id``.

- Sampling is by ``id``: a record is kept when a hash of its id falls under ``sample_rate``, so a
  label posted later (to this replica or another with the same rate) is kept exactly when its
  record was. Ids the agent makes up are random, which makes that sampling random too.
- Redaction happens before anything is stored: a redacted feature's value is replaced by
  :data:`REDACTED` in the record and never kept, logged or served.
- Lines are encoded once, when recorded; a read joins stored bytes. Records and labels share the
  ring of ``capacity`` lines; what falls out is lost, and a reader whose cursor fell behind reads
  from the oldest line kept.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

__all__ = [
    "CONTENT_TYPE", "DEFAULT_LIMIT", "REDACTED", "LogStats", "RecordLog", "is_sampled", "record_id",
    "scalar",
]

CONTENT_TYPE = "application/x-ndjson"
DEFAULT_LIMIT = 1000
"""Lines per read when the reader names no ``limit`` (mmtui asks for 1000)."""
REDACTED = "[redacted]"
"""What a redacted feature's value becomes."""

Scalar = str | int | float | bool | None
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
_SCALE = float(2**64)


def is_sampled(rid: str, rate: float) -> bool:
    """Whether the id ``rid`` is in the sample at ``rate``: the same answer in every process.

    >>> is_sampled("txn-1", 1.0), is_sampled("txn-1", 0.0)
    (True, False)
    """
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    digest = hashlib.blake2b(rid.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") < rate * _SCALE


def scalar(v: object, what: str) -> Scalar:
    """A value the records protocol carries: numbers (numpy scalars too), strings, booleans,
    None; a non-finite float becomes None (JSON has no NaN). TypeError names ``what`` else."""
    if v is None or isinstance(v, str | bool | int):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    item = getattr(v, "item", None)  # numpy scalars: int64, float32, bool_, str_
    if callable(item):
        try:
            inner = item()
        except (TypeError, ValueError):  # an array of more than one element
            inner = v
        if inner is not v:
            return scalar(inner, what)
    raise TypeError(f"{what} is a {type(v).__name__}: expected a number, string, boolean or None")


def record_id(value: object) -> str:
    """A record id as the protocol carries it: a non-empty string (an integer is its decimal
    string); ValueError else."""
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise ValueError(f"id must be a non-empty string or an integer, got {value!r}")
    return str(value)


@dataclass(frozen=True, slots=True)
class LogStats:
    """Counts since the agent started."""

    records_seen: int
    """Calls to ``record``."""
    records_kept: int
    """Of those, sampled and stored."""
    labels_seen: int
    labels_kept: int
    lines: int
    """Lines in the ring now."""
    last_seq: int
    """The ``seq`` of the newest line (0 before the first)."""


class RecordLog:
    """Sampled, redacted records and late labels in a bounded ring; thread-safe.

    Parameters
    ----------
    capacity
        Most lines kept (records and labels together).
    sample_rate
        Share of records kept, 0..1, decided by id (see the module docstring).
    redact
        Feature names whose values are never stored (matched case-insensitively).
    seed
        Seeds the ids the log makes up, so a test's sample is reproducible.
    clock
        Wall clock for ``ts`` when the caller gives none.
    """

    def __init__(
        self,
        *,
        capacity: int = 10_000,
        sample_rate: float = 1.0,
        redact: Collection[str] = (),
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"capacity must be an integer >= 1, got {capacity!r}")
        if not 0.0 <= sample_rate <= 1.0:
            raise ValueError(f"sample_rate must be between 0 and 1, got {sample_rate!r}")
        if isinstance(redact, str):
            raise ValueError(f"redact must be a collection of names, got the string {redact!r}")
        self.capacity = capacity
        self.sample_rate = float(sample_rate)
        self.redact = frozenset(name.casefold() for name in redact)
        self._clock = clock
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._ring: list[bytes] = [b""] * capacity
        self._seq = 0
        self._records_seen = self._records_kept = 0
        self._labels_seen = self._labels_kept = 0

    def sampled(self, rid: str) -> bool:
        """Whether a record (or label) with this id is kept."""
        return is_sampled(rid, self.sample_rate)

    def new_id(self) -> str:
        """A random id (64 bits, hex)."""
        with self._lock:
            return f"{self._rng.getrandbits(64):016x}"

    def record(
        self,
        features: Mapping[str, object],
        prediction: object = None,
        *,
        id: str | int | None = None,
        ts: float | None = None,
        label: object = None,
    ) -> str:
        """Log one prediction if its id is sampled; returns its id (made up when not given).

        Raises TypeError or ValueError naming the field that is not a scalar (only for a
        sampled record: an unsampled one is not looked at).
        """
        rid = self.new_id() if id is None else record_id(id)
        if not is_sampled(rid, self.sample_rate):
            with self._lock:
                self._records_seen += 1
            return rid
        when = self._clock() if ts is None else float(ts)
        if not math.isfinite(when):
            raise ValueError(f"ts must be finite epoch seconds, got {ts!r}")
        if not isinstance(features, Mapping):
            raise TypeError(f"features is a {type(features).__name__}: expected a mapping")
        clean: dict[str, Scalar] = {}
        for name, value in features.items():
            if not isinstance(name, str):
                raise TypeError(f"feature name {name!r} is not a string")
            redacted = name.casefold() in self.redact
            clean[name] = REDACTED if redacted else scalar(value, f"feature {name!r}")
        line: dict[str, object] = {
            "id": rid, "ts": when, "features": clean, "prediction": scalar(prediction, "prediction")
        }
        if label is not None:
            line["label"] = scalar(label, "label")
        self._append(_encode(line), records=True)
        return rid

    def label(self, id: str | int, label: object) -> bool:
        """Log ground truth for an earlier record; False when its id is not sampled."""
        rid = record_id(id)
        value = scalar(label, "label")
        if value is None:
            raise ValueError("label is null: expected a number, string or boolean")
        if not is_sampled(rid, self.sample_rate):
            with self._lock:
                self._labels_seen += 1
            return False
        self._append(_encode({"id": rid, "label": value}), records=False)
        return True

    def _append(self, body: str, *, records: bool) -> None:
        """Store one encoded object (without ``seq``) as the next line."""
        tail = body[1:].encode("utf-8") + b"\n"
        with self._lock:
            self._seq += 1
            self._ring[self._seq % self.capacity] = b'{"seq":%d,' % self._seq + tail
            if records:
                self._records_seen += 1
                self._records_kept += 1
            else:
                self._labels_seen += 1
                self._labels_kept += 1

    def read(
        self, after: int | None = None, limit: int = DEFAULT_LIMIT
    ) -> tuple[bytes, int | None]:
        """Lines with ``seq > after``, oldest first, at most ``limit``; and the cursor to send
        next (the last ``seq`` returned, else ``after``).

        ``after`` None, beyond the last ``seq`` issued (a cursor from before a restart), or
        older than the oldest line kept, reads from the oldest line kept.
        """
        limit = max(1, limit)
        with self._lock:
            last = self._seq
            first = max(1, last - self.capacity + 1)
            start = first if after is None or after > last or after < first else after + 1
            stop = min(last, start + limit - 1)
            lines = [self._ring[s % self.capacity] for s in range(start, stop + 1)]
        return b"".join(lines), (stop if lines else after)

    def stats(self) -> LogStats:
        """A consistent copy of the counts."""
        with self._lock:
            return LogStats(
                records_seen=self._records_seen,
                records_kept=self._records_kept,
                labels_seen=self._labels_seen,
                labels_kept=self._labels_kept,
                lines=min(self._seq, self.capacity),
                last_seq=self._seq,
            )
