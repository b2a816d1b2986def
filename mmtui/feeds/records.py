"""The records feed: inference logs (features, prediction, late labels) over HTTP or from a file.

Records endpoint protocol
-------------------------
What ``mmtui simulate`` and ``mmtui.agent`` serve at ``records_url``, and what this client reads.

Request::

    GET <records_url>?after=<seq>&limit=<n>
    Accept: application/x-ndjson, ...

``after`` is omitted on the first poll; ``limit`` is the most lines wanted (default 1000). Query
parameters already in ``records_url`` are kept. The endpoint's configured headers are sent.

Response: ``200`` with ``Content-Type: application/x-ndjson``, one JSON object per line, UTF-8,
each line ending in ``\\n``, oldest first (``204`` or an empty body: nothing new)::

    {"seq": 41, "id": "a1", "ts": 1732528800.25, "features": {"x": 1.5, "c": "FR"}, "prediction": 1}
    {"seq": 42, "id": "a2", "ts": "2024-11-25T10:00:00Z", "features": {"x": null}, "label": 0}
    {"seq": 43, "id": "a1", "label": 0}

- ``seq`` (integer, required for the cursor): strictly increasing over the server's lifetime.
  The server returns the lines with ``seq > after``, oldest first, at most ``limit`` of them. When
  ``after`` is larger than any ``seq`` it has issued (it restarted; the cursor is from its previous
  life) it answers as if ``after`` were absent, from its oldest retained line.
- ``id`` (string, or an integer read as its decimal string): unique per prediction.
- ``ts``: when the prediction was made, epoch seconds (number) or RFC 3339 (a time without an
  offset is UTC). Absent: the time the line was received.
- ``features``: an object, name → number, string, boolean (read as ``"True"``/``"False"``) or
  ``null`` (missing).
- ``prediction``, ``label``: a number, string, boolean or ``null``; both optional.
- A line with ``id`` and ``label`` but no ``features`` is a late label for an earlier ``id``.
- Other members are ignored. A JSON array of such objects is read like the lines.

Client behaviour: the cursor becomes the largest ``seq`` of the last response that had any (so a
server whose ``seq`` went back after a restart is followed). When a response has ``limit`` lines
and moved the cursor forward, the next page is fetched at once, up to ``max_pages`` per poll.
Records are deduplicated by ``id`` and labels by ``(id, label)`` over the last ``dedupe`` keys, so
a server that ignores ``after`` and resends its buffer does not double count.

CloudEvents (:mod:`mmtui.feeds.cloudevents`): a response with ``Ce-Id``/``Ce-Type`` headers is one
binary-mode event; ``application/cloudevents+json`` is one structured event; any object in the
lines or arrays with ``specversion`` and ``type`` is a structured event (so batch mode and NDJSON of
events work too). A request event and the response event with the same ``id`` make one record per
instance (id ``<event id>`` for a single instance, ``<event id>:<i>`` for instance ``i`` of a
batch); ``ts`` is the request's ``time``. A request whose response has not come within
``pending_ttl`` seconds is emitted without a prediction; a response whose request never came is
dropped. Both are counted in :class:`FeedStats`.

A file source (:class:`FileRecordsFeed`) is the same lines in a JSONL file, tailed.

Bad input never raises: each problem is counted per reason in :class:`FeedStats` with the last bad
example. Transport problems (connection, HTTP status, unreadable file) raise
:class:`RecordsFeedError` with one line naming the URL or path.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx

from mmtui.feeds.cloudevents import (
    REQUEST,
    CloudEvent,
    PayloadError,
    Value,
    binary_event,
    event_kind,
    is_structured,
    request_rows,
    response_predictions,
    structured_event,
    to_value,
)

__all__ = [
    "ACCEPT",
    "Batch",
    "FeedStats",
    "FileRecordsFeed",
    "HttpRecordsFeed",
    "Item",
    "LabelUpdate",
    "Record",
    "RecordsFeedError",
    "RecordsParser",
    "Value",
    "parse_ts",
    "records_feed",
]

ACCEPT = (
    "application/x-ndjson, application/json;q=0.9, application/cloudevents+json;q=0.8, */*;q=0.1"
)
BAD_EXAMPLE_CHARS = 200
"""``FeedStats.last_bad`` keeps at most this many characters of the offending input."""

_WS = re.compile(r"[ \t\r\n]*")
_PLAIN = frozenset({float, str, type(None)})
"""JSON value types that are already a :data:`Value` (the fast path)."""


class RecordsFeedError(Exception):
    """The source cannot be read (connection, HTTP status, file); one line naming it."""


@dataclass(frozen=True, slots=True)
class Record:
    """One prediction: its inputs, output and (when known) ground truth."""

    id: str
    ts: float
    """Epoch seconds."""
    features: dict[str, Value]
    prediction: Value
    label: Value = None


@dataclass(frozen=True, slots=True)
class LabelUpdate:
    """Ground truth that arrived after its record."""

    id: str
    label: Value


Item = Record | LabelUpdate
"""What a feed yields."""


@dataclass(slots=True)
class FeedStats:
    """Counts since the feed started."""

    records: int = 0
    labels: int = 0
    """Late labels read (joining them to records is the window's job)."""
    duplicates: int = 0
    bad: dict[str, int] = field(default_factory=dict)
    """Problems per reason; each dropped (or degraded, as the reason says) one item."""
    last_bad: str | None = None
    """``"<reason>: <input, truncated>"`` of the last problem."""


@dataclass(frozen=True, slots=True)
class Batch:
    """What one body gave."""

    items: list[Item]
    values: int
    """JSON values read (good or bad); paging compares it with ``limit``."""
    last_seq: int | None
    """The largest ``seq`` in the body, if any."""


def parse_ts(v: object) -> float:
    """Epoch seconds from a number or an RFC 3339 string; ValueError otherwise.

    >>> parse_ts("2021-04-10T00:23:26.0789529Z")
    1618014206.078952
    >>> parse_ts(1700000000)
    1700000000.0
    """
    if isinstance(v, bool):
        raise ValueError("ts is a boolean")
    if isinstance(v, int | float):
        ts = float(v)
    elif isinstance(v, str):
        dt = datetime.fromisoformat(v.strip())
        ts = (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()
    else:
        raise ValueError(f"ts is a {type(v).__name__}")
    if not math.isfinite(ts):
        raise ValueError("ts is not finite")
    return ts


class _Recent:
    """A set that forgets its oldest keys beyond ``capacity``."""

    def __init__(self, capacity: int) -> None:
        self._keys: OrderedDict[object, None] = OrderedDict()
        self._capacity = capacity

    def add(self, key: object) -> bool:
        """Remember ``key``; False when it was already there."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._capacity:
            self._keys.popitem(last=False)
        return True


@dataclass(slots=True)
class _Half:
    """One side of a request/response pair waiting for the other."""

    received: float
    ts: float | None
    rows: list[dict[str, Value]] | None = None
    predictions: list[Value] | None = None


class RecordsParser:
    """Bodies (NDJSON, JSON arrays, CloudEvents) → records and late labels, with counting.

    No I/O. It keeps state across bodies: the dedupe memory, and CloudEvent requests and responses
    waiting for their other half.

    Parameters
    ----------
    feature_names
        Names for positional features in CloudEvent payloads (else ``f0``, ``f1``, ...).
    pending_ttl
        Seconds a request event waits for its response before it is emitted without one.
    max_pending
        Most events waiting for their other half; the oldest is let go beyond it.
    dedupe
        How many record ids (and label keys) are remembered to drop duplicates.
    clock
        Wall clock: received time, and ``ts`` when a line has none.
    """

    def __init__(
        self,
        *,
        feature_names: Sequence[str] = (),
        pending_ttl: float = 30.0,
        max_pending: int = 10_000,
        dedupe: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if pending_ttl < 0:
            raise ValueError(f"pending_ttl must be >= 0 seconds, got {pending_ttl!r}")
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {max_pending!r}")
        if dedupe < 1:
            raise ValueError(f"dedupe must be >= 1, got {dedupe!r}")
        self._names = tuple(feature_names)
        self._ttl = pending_ttl
        self._max_pending = max_pending
        self._seen = _Recent(dedupe)
        self._pending: OrderedDict[str, _Half] = OrderedDict()
        self._clock = clock
        self._stats = FeedStats()

    @property
    def stats(self) -> FeedStats:
        """A copy of the counts."""
        return replace(self._stats, bad=dict(self._stats.bad))

    @property
    def pending(self) -> int:
        """CloudEvents waiting for their other half."""
        return len(self._pending)

    def parse(
        self,
        body: bytes,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Batch:
        """Read one body; ``headers`` (any case) are looked at for binary-mode CloudEvents."""
        out: list[Item] = []
        h = {k.lower(): v for k, v in (headers or {}).items()}
        if "ce-id" in h or "ce-type" in h:
            try:
                self._event(binary_event(h, body), out)
            except PayloadError as exc:
                self.count_bad(str(exc), body)
            self._expire(out)
            return Batch(out, 1, None)
        text = body.decode("utf-8", errors="replace")
        values = 0
        last_seq: int | None = None
        for value, raw in _json_values(text):
            values += 1
            if raw is not None:
                self.count_bad("invalid JSON", raw)
                continue
            for obj in value if isinstance(value, list) else [value]:
                seq = self._one(obj, out)
                if seq is not None and (last_seq is None or seq > last_seq):
                    last_seq = seq
        self._expire(out)
        return Batch(out, values, last_seq)

    def flush(self) -> list[Item]:
        """Records of requests whose response is overdue (call now and then when idle)."""
        out: list[Item] = []
        self._expire(out)
        return out

    # ------------------------------------------------------------------ one JSON value

    def _one(self, obj: object, out: list[Item]) -> int | None:
        """Handle one JSON value; return its ``seq`` if it has a valid one."""
        if not isinstance(obj, dict):
            self.count_bad("not a JSON object", obj)
            return None
        seq = obj.get("seq")
        if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
            self.count_bad("seq is not an integer", obj)
            return None
        if is_structured(obj):
            try:
                self._event(structured_event(obj), out)
            except PayloadError as exc:
                self.count_bad(str(exc), obj)
            return seq
        rid = obj.get("id")
        if isinstance(rid, bool) or not isinstance(rid, str | int) or rid == "":
            self.count_bad("missing id", obj)
            return seq
        rid = str(rid)
        try:
            if "features" not in obj:
                if "label" not in obj or obj["label"] is None:
                    self.count_bad("no features and no label", obj)
                elif self._seen.add(("label", rid, repr(obj["label"]))):
                    out.append(LabelUpdate(rid, to_value(obj["label"])))
                    self._stats.labels += 1
                else:
                    self._stats.duplicates += 1
                return seq
            record = self._record(rid, obj)
        except PayloadError as exc:
            self.count_bad(str(exc), obj)
            return seq
        if self._seen.add(("record", rid)):
            out.append(record)
            self._stats.records += 1
        else:
            self._stats.duplicates += 1
        return seq

    def _record(self, rid: str, obj: dict[str, object]) -> Record:
        features = obj["features"]
        if not isinstance(features, dict):
            raise PayloadError("features is not an object")
        values: dict[str, Value] = dict(features)
        for name in [k for k, v in features.items() if type(v) not in _PLAIN]:
            try:
                values[name] = to_value(features[name])
            except PayloadError:
                raise PayloadError("feature value is not a scalar") from None
        if "ts" in obj and obj["ts"] is not None:
            try:
                ts = parse_ts(obj["ts"])
            except ValueError:
                raise PayloadError("bad ts") from None
        else:
            ts = self._clock()
        try:
            prediction, label = to_value(obj.get("prediction")), to_value(obj.get("label"))
        except PayloadError:
            raise PayloadError("prediction or label is not a scalar") from None
        return Record(rid, ts, values, prediction, label)

    # ------------------------------------------------------------------ CloudEvents

    def _event(self, event: CloudEvent, out: list[Item]) -> None:
        kind = event_kind(event.type)
        if kind is None:
            raise PayloadError("CloudEvent type is not an inference request or response")
        if not self._seen.add(("event", kind, event.id)):
            self._stats.duplicates += 1
            return
        try:
            ts = parse_ts(event.time) if event.time else None
        except ValueError:
            ts = None
        half = _Half(self._clock(), ts)
        if kind == REQUEST:
            half.rows = request_rows(event.data, self._names)
        else:
            half.predictions = response_predictions(event.data)
        other = self._pending.pop(event.id, None)
        if other is None:
            self._pending[event.id] = half
            return
        request, response = (half, other) if kind == REQUEST else (other, half)
        self._emit(event.id, request, response.predictions, out)

    def _emit(
        self, event_id: str, request: _Half, predictions: list[Value] | None, out: list[Item]
    ) -> None:
        rows = request.rows or []
        if predictions is not None and len(predictions) != len(rows):
            self.count_bad(
                "response and request have different row counts (predictions dropped)",
                f"{event_id}: {len(rows)} instances, {len(predictions)} predictions",
            )
            predictions = None
        ts = request.ts if request.ts is not None else request.received
        for i, row in enumerate(rows):
            rid = event_id if len(rows) == 1 else f"{event_id}:{i}"
            if not self._seen.add(("record", rid)):
                self._stats.duplicates += 1
                continue
            out.append(Record(rid, ts, row, None if predictions is None else predictions[i]))
            self._stats.records += 1

    def _expire(self, out: list[Item]) -> None:
        deadline = self._clock() - self._ttl
        while self._pending:
            event_id, half = next(iter(self._pending.items()))
            if half.received > deadline and len(self._pending) <= self._max_pending:
                break
            del self._pending[event_id]
            if half.rows is None:
                self.count_bad("response without request (dropped)", event_id)
            else:
                self.count_bad("request without response (kept without prediction)", event_id)
                self._emit(event_id, half, None, out)

    def count_bad(self, reason: str, example: object) -> None:
        """Count one problem and keep it (truncated) as the last bad example."""
        self._stats.bad[reason] = self._stats.bad.get(reason, 0) + 1
        if isinstance(example, bytes):
            text = example[: BAD_EXAMPLE_CHARS * 4].decode("utf-8", errors="replace")
        elif isinstance(example, str):
            text = example
        else:
            text = json.dumps(example, default=str)[: BAD_EXAMPLE_CHARS + 1]
        if len(text) > BAD_EXAMPLE_CHARS:
            text = text[: BAD_EXAMPLE_CHARS - 1] + "…"
        self._stats.last_bad = f"{reason}: {text}"


def _json_values(text: str) -> Iterable[tuple[object, str | None]]:
    """Consecutive JSON values in ``text`` (NDJSON, one array, concatenated JSON).

    Yields ``(value, None)``, or ``(None, bad_line)`` for text that is not JSON; reading resumes
    on the next line.
    """
    decoder = json.JSONDecoder()
    pos, end = 0, len(text)
    while True:
        m = _WS.match(text, pos)
        pos = m.end() if m else pos
        if pos >= end:
            return
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            nl = text.find("\n", pos)
            stop = end if nl < 0 else nl
            yield None, text[pos:stop]
            pos = stop
            continue
        yield value, None


class HttpRecordsFeed:
    """Poll a records endpoint over HTTP with a cursor (the protocol is in the module docstring).

    Parameters
    ----------
    url
        ``records_url``; its own query parameters are kept.
    headers
        Sent with every request (may hold secrets: never shown in errors).
    limit
        Lines asked for per request (``limit=``).
    max_pages
        Most requests per :meth:`poll` while catching up.
    timeout
        Seconds per request, connect included.
    max_body_bytes
        A larger body is an error (``RecordsFeedError``); reading stops there.
    parser
        The parser to use (its options: feature names, dedupe size, clock).
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        limit: int = 1000,
        max_pages: int = 10,
        timeout: float = 5.0,
        max_body_bytes: int = 8 * 1024 * 1024,
        parser: RecordsParser | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit!r}")
        if max_pages < 1:
            raise ValueError(f"max_pages must be >= 1, got {max_pages!r}")
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        try:
            self._url = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise ValueError(f"records_url {url!r} is not a URL: {exc}") from None
        if self._url.scheme not in ("http", "https"):
            raise ValueError(f"records_url {url!r}: expected an http:// or https:// URL")
        self.url = url
        self._headers = {"Accept": ACCEPT, **(headers or {})}
        self._limit = limit
        self._max_pages = max_pages
        self._timeout = timeout
        self._max_body = max_body_bytes
        self.parser = parser or RecordsParser()
        self._cursor: int | None = None

    @property
    def cursor(self) -> int | None:
        """The ``after`` sent next; None before any line with a ``seq``."""
        return self._cursor

    @property
    def stats(self) -> FeedStats:
        return self.parser.stats

    async def poll(self, client: httpx.AsyncClient) -> list[Item]:
        """Fetch what is new (several pages when catching up); RecordsFeedError when unreadable."""
        items: list[Item] = []
        for _ in range(self._max_pages):
            params: dict[str, str | int] = {"limit": self._limit}
            if self._cursor is not None:
                params["after"] = self._cursor
            body, content_type, headers = await self._get(client, params)
            batch = self.parser.parse(body, content_type, headers)
            items.extend(batch.items)
            before = self._cursor
            if batch.last_seq is not None:
                self._cursor = batch.last_seq
            moved = batch.last_seq is not None and (before is None or batch.last_seq > before)
            if batch.values < self._limit or not moved:
                break
        items.extend(self.parser.flush())
        return items

    async def _get(
        self, client: httpx.AsyncClient, params: Mapping[str, str | int]
    ) -> tuple[bytes, str | None, dict[str, str]]:
        url = self._url.copy_merge_params(params)
        where = f"GET {self.url}"
        try:
            async with client.stream(
                "GET", url, headers=self._headers, timeout=self._timeout
            ) as resp:
                if not 200 <= resp.status_code < 300:
                    raise RecordsFeedError(f"{where}: HTTP {resp.status_code}")
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.aiter_bytes():
                    size += len(chunk)
                    if size > self._max_body:
                        raise RecordsFeedError(f"{where}: body larger than {self._max_body} bytes")
                    chunks.append(chunk)
                return b"".join(chunks), resp.headers.get("content-type"), dict(resp.headers)
        except httpx.TimeoutException:
            raise RecordsFeedError(f"{where}: timed out after {self._timeout:g} s") from None
        except httpx.HTTPError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise RecordsFeedError(f"{where}: {reason}") from None


class FileRecordsFeed:
    """Tail a JSONL file of records (the lines of the records protocol; ``seq`` optional).

    Remembers its byte offset; a file that shrank or was replaced (another inode, or its first
    bytes changed) is read again from the start. Only complete lines are read; a line longer than
    ``max_read_bytes`` is counted bad once and skipped.

    Parameters
    ----------
    path
        The file.
    from_start
        Read what the file already holds (True), or only what is appended from now on.
    max_read_bytes
        Most bytes read per :meth:`poll`; a longer file is caught up over several polls.
    parser
        The parser to use.
    """

    _PREFIX = 64

    def __init__(
        self,
        path: str | Path,
        *,
        from_start: bool = True,
        max_read_bytes: int = 8 * 1024 * 1024,
        parser: RecordsParser | None = None,
    ) -> None:
        if max_read_bytes < 1:
            raise ValueError(f"max_read_bytes must be >= 1, got {max_read_bytes!r}")
        self.path = Path(path)
        self._from_start = from_start
        self._max_read = max_read_bytes
        self.parser = parser or RecordsParser()
        self._offset: int | None = None
        self._identity: tuple[int, int] | None = None
        self._prefix = b""
        self._skipping = False

    @property
    def offset(self) -> int:
        """Bytes of the file consumed so far."""
        return self._offset or 0

    @property
    def stats(self) -> FeedStats:
        return self.parser.stats

    def poll(self) -> list[Item]:
        """Read the complete lines appended since the last poll; RecordsFeedError if unreadable."""
        try:
            with self.path.open("rb") as f:
                st = os.fstat(f.fileno())
                head = f.read(self._PREFIX)
                offset = self._resume_at(st, head)
                f.seek(offset)
                chunk = f.read(self._max_read)
        except FileNotFoundError:
            raise RecordsFeedError(f"{self.path}: no such file") from None
        except OSError as exc:
            raise RecordsFeedError(f"{self.path}: cannot read: {exc.strerror or exc}") from None
        end = chunk.rfind(b"\n") + 1  # complete lines end here (0: none)
        start = 0
        if self._skipping:  # inside an over-long line: drop the rest of it
            if end == 0:
                start = end = len(chunk)
            else:
                start = chunk.find(b"\n") + 1
                self._skipping = False
        elif end == 0 and len(chunk) == self._max_read:
            self.parser.count_bad(f"line longer than {self._max_read} bytes", chunk)
            self._skipping = True
            start = end = len(chunk)
        self._offset = offset + end
        self._identity = (st.st_dev, st.st_ino)
        self._prefix = head[: min(self._offset, self._PREFIX)]
        items = self.parser.parse(chunk[start:end]).items if end > start else []
        return items + self.parser.flush()

    def _resume_at(self, st: os.stat_result, head: bytes) -> int:
        """Where to read from: the last offset, or 0 when the file was truncated or replaced."""
        if self._offset is None:
            return 0 if self._from_start else st.st_size
        replaced = (st.st_dev, st.st_ino) != self._identity
        if replaced or st.st_size < self._offset or not head.startswith(self._prefix):
            self._skipping = False
            return 0
        return self._offset


def records_feed(
    source: str,
    *,
    headers: Mapping[str, str] | None = None,
    parser: RecordsParser | None = None,
    timeout: float = 5.0,
) -> HttpRecordsFeed | FileRecordsFeed:
    """The feed for a ``records_url``: HTTP(S) for a URL, else a JSONL file path."""
    if "://" in source:
        return HttpRecordsFeed(source, headers=headers, parser=parser, timeout=timeout)
    return FileRecordsFeed(source, parser=parser)
