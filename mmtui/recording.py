"""Recordings: every input the Monitor took in, in order, so that a replay computes the same alerts.

Textual-free. ``mmtui check --record FILE`` (or ``mmtui record FILE``) writes one; ``mmtui replay``
(:mod:`mmtui.replay`) reads it.

File format (version :data:`VERSION`): gzip-compressed NDJSON, one JSON object per line, written
append-only and flushed (``Z_SYNC_FLUSH``) after the header and after every tick, so that a crash
or a full disk leaves a file whose every line up to the last flush reads back; a reader stops at
a torn last line or a truncated gzip stream and says so. Gzip rather than SQLite: exposition text
polled every few seconds is highly repetitive (about 10:1), the file is one stream a bug report
can attach and ``zcat FILE | jq`` can read, and a replay only ever goes forward.

The first line is the header::

    {"kind": "header", "format": "mmtui-recording", "version": 1, "mmtui": "0.1.0", "at": ...,
     "config": {"source", "monitor", "endpoints", "rules", "keys"},
     "baselines": {"<endpoint>": {"profile": "<base64 of the profile file>"} | {"error": "..."}},
     "state": {"alerts": [...], "overrides": [...], "history": [[endpoint, model, metric,
               [[t, mean], ...]], ...]}}

``config`` is the configuration as used, endpoint headers and URL credentials and query strings
left out (they may hold secrets; a replay polls nothing) and notification channels left out (a
replay notifies no one). ``baselines`` are the endpoints' baseline profiles as loaded, so the
replay needs no other file. ``state`` is what the first evaluation reads from the state store:
the alerts restored from earlier runs, the rule overrides, and the history that warms relative
rules' baselines.

Then one line per event, ``{"kind", "endpoint", "at", "data"}``, in the order the Monitor took
them in (each is written under the Monitor's lock, where it changes its state):

``scrape``
    One metrics scrape: ``status``, ``error``, ``content_type``, ``duration``, ``attempt`` and
    the body as ``text`` (UTF-8) or ``b64``; ``at`` is when the scrape started.
``records``
    One records poll: ``items`` (records ``{"id", "ts", "features", "prediction", "label"}``
    and late labels ``{"id", "label"}``, as parsed), the feed's ``error`` and its counts
    ``stats``; ``at`` is the time drift and quality were evaluated at (the window's age cut).
    Parsed items rather than raw bodies: the parser's own clock (records without ``ts``,
    CloudEvents waiting for their other half) then plays no part in the replay.
``prometheus``
    One poll of a Prometheus-source endpoint (``PromPoll.to_json()``).
``tick``
    A snapshot was taken at ``at`` and the alerts evaluated on it.
``alerts``
    The outcome of the tick at ``at``: ``evaluated`` (false before the Monitor was warm or
    while paused) and the alerts as ``[[id, state], ...]``: what a replay must come to again.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import logging
import tempfile
import threading
import types
import typing
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final
from urllib.parse import urlsplit, urlunsplit

from mmtui import __version__
from mmtui.alerts.rules import Rule, RuleOverride
from mmtui.alerts.state import Alert, Observation
from mmtui.config import Config, EndpointConfig, MonitorConfig
from mmtui.feeds.poller import ScrapeResult
from mmtui.feeds.records import FeedStats, Item, LabelUpdate, Record
from mmtui.stats.profile import ProfileError, load_profile, save_profile
from mmtui.tracking import Baseline, BaselineError

if typing.TYPE_CHECKING:
    from mmtui.alerts.store import Store

__all__ = [
    "FORMAT",
    "VERSION",
    "Event",
    "Header",
    "Recorder",
    "RecordingError",
    "RecordingReader",
    "alerts_payload",
    "records_input",
    "records_payload",
    "scrape_payload",
    "scrape_result",
]

_log = logging.getLogger(__name__)

FORMAT: Final = "mmtui-recording"
VERSION: Final = 1
KINDS: Final = frozenset({"scrape", "records", "prometheus", "tick", "alerts"})
TICK_PREFIX: Final = b'{"kind":"tick"'
"""How every tick line starts (see :func:`_line`): counting ticks needs no JSON parsing."""
_CHUNK = 1 << 16


class RecordingError(Exception):
    """A recording that cannot be written or read; one line naming the file."""


@dataclass(frozen=True, slots=True)
class Event:
    """One line of a recording after the header."""

    kind: str
    endpoint: str | None
    at: float
    data: dict[str, Any]
    line: int
    """Line number in the file (the header is line 1), for error messages."""


@dataclass(frozen=True, slots=True)
class Header:
    """What a replay is set up from."""

    config: Config
    baselines: dict[str, Baseline]
    alerts: tuple[Alert, ...]
    """Alerts in the state store when the recording started."""
    overrides: tuple[RuleOverride, ...]
    history: dict[tuple[str, str | None, str], list[tuple[float, float]]]
    """Fine history that warmed the relative rules' baselines."""
    at: float
    mmtui: str


def _line(kind: str, endpoint: str | None, at: float, data: Mapping[str, Any]) -> bytes:
    record = {"kind": kind, "endpoint": endpoint, "at": at, "data": data}
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


# --------------------------------------------------------------------------- writing


class Recorder:
    """Appends a recording's lines; what the Monitor's ``recorder`` hook calls.

    Thread-safe (the Monitor calls :meth:`event` from worker threads). A write that fails
    (disk full) stops the recording without stopping the monitor: :attr:`failed` says why.
    """

    def __init__(self, path: Path, raw: IO[bytes]) -> None:
        self.path = path
        self._raw = raw
        self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
        self._lock = threading.Lock()
        self.events = 0
        self.ticks = 0
        self.failed: str | None = None
        """Why the recording stopped early, one line; None while it works."""

    @classmethod
    def create(cls, path: str | Path) -> Recorder:
        """A new recording at ``path``; RecordingError when it exists or cannot be created (a
        recording is never overwritten: it may be the only copy of an incident)."""
        p = Path(path)
        try:
            raw = p.open("xb")
        except FileExistsError:
            raise RecordingError(f"{p}: already exists (recordings are never overwritten)"
                                 ) from None
        except OSError as exc:
            raise RecordingError(f"{p}: cannot create the recording: "
                                 f"{exc.strerror or exc}") from None
        return cls(p, raw)

    def start(
        self,
        config: Config,
        *,
        baselines: Mapping[str, Baseline],
        store: Store | None,
        at: float,
    ) -> None:
        """Write the header; ``store`` is the state store the run starts from (its alerts and
        overrides, and the history relative rules read); RecordingError if it cannot be written."""
        header = {
            "kind": "header",
            "format": FORMAT,
            "version": VERSION,
            "mmtui": __version__,
            "at": at,
            "config": config_json(config),
            "baselines": {name: _baseline_json(b) for name, b in baselines.items()},
            "state": {} if store is None else store_state(store, config, at),
        }
        self._write(json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
                    + b"\n", flush=True)
        if self.failed is not None:
            raise RecordingError(self.failed)

    def event(self, kind: str, endpoint: str | None, at: float, payload: dict[str, Any]) -> None:
        """Append one event (see the module docstring); never raises."""
        if self.failed is not None:
            return
        try:
            line = _line(kind, endpoint, at, payload)
        except (TypeError, ValueError) as exc:  # a payload that is not JSON: a bug, not fatal
            _log.error("recording: %s event not written: %s", kind, exc)
            return
        self._write(line, flush=kind in ("tick", "alerts"), tick=kind == "tick")

    def _write(self, line: bytes, *, flush: bool, tick: bool = False) -> None:
        with self._lock:
            if self.failed is not None:
                return
            try:
                self._gz.write(line)
                if flush:
                    self._gz.flush()
            except (OSError, ValueError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                self.failed = f"{self.path}: recording stopped: {reason}"
                _log.error("%s", self.failed)
                return
            self.events += 1
            self.ticks += tick

    def close(self) -> None:
        """Finish the gzip stream and close the file; :attr:`failed` says if that failed."""
        with self._lock:
            for close in (self._gz.close, self._raw.close):  # the file even if gzip fails
                try:
                    close()
                except OSError as exc:
                    if self.failed is None:
                        self.failed = (f"{self.path}: recording not finished: "
                                       f"{exc.strerror or exc}")


# --------------------------------------------------------------------------- payloads


def scrape_payload(result: ScrapeResult) -> dict[str, Any]:
    """A scrape result as recorded (the endpoint and start time are the event's)."""
    data: dict[str, Any] = {
        "status": result.status,
        "error": result.error,
        "content_type": result.content_type,
        "duration": result.duration,
        "attempt": result.attempt,
    }
    if result.body is not None:
        try:
            data["text"] = result.body.decode("utf-8")
        except UnicodeDecodeError:
            data["b64"] = base64.b64encode(result.body).decode("ascii")
    return data


def scrape_result(event: Event, url: str) -> ScrapeResult:
    """The scrape result an event recorded; RecordingError when it is malformed."""
    d = event.data
    try:
        if "text" in d:
            body: bytes | None = _typed(d["text"], str).encode("utf-8")
        elif "b64" in d:
            body = base64.b64decode(_typed(d["b64"], str), validate=True)
        else:
            body = None
        return ScrapeResult(
            endpoint=_typed(event.endpoint, str),
            url=url,
            status=_typed(d["status"], str),
            error=_typed(d.get("error"), str, optional=True),
            body=body,
            content_type=_typed(d.get("content_type"), str, optional=True),
            started=event.at,
            duration=float(_typed(d.get("duration", 0.0), float)),
            attempt=_typed(d.get("attempt", 0), int),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(event, exc) from None


def records_payload(items: Sequence[Item], error: str | None, stats: FeedStats) -> dict[str, Any]:
    """One records poll as recorded."""
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, Record):
            out.append({"id": item.id, "ts": item.ts, "features": item.features,
                        "prediction": item.prediction, "label": item.label})
        else:
            out.append({"id": item.id, "label": item.label})
    return {"items": out, "error": error, "stats": dataclasses.asdict(stats)}


def records_input(event: Event) -> tuple[list[Item], str | None, FeedStats]:
    """``(items, error, stats)`` of a recorded records poll; RecordingError when malformed."""
    d = event.data
    try:
        items: list[Item] = []
        for obj in _typed(d["items"], list):
            rid = _typed(obj["id"], str)
            if "ts" in obj:
                features = _typed(obj["features"], dict)
                items.append(Record(rid, float(_typed(obj["ts"], float)),
                                    {str(k): _value(v) for k, v in features.items()},
                                    _value(obj.get("prediction")), _value(obj.get("label"))))
            else:
                items.append(LabelUpdate(rid, _value(obj["label"])))
        s = _typed(d["stats"], dict)
        stats = FeedStats(
            records=_typed(s["records"], int), labels=_typed(s["labels"], int),
            duplicates=_typed(s["duplicates"], int),
            bad={str(k): _typed(v, int) for k, v in _typed(s["bad"], dict).items()},
            last_bad=_typed(s.get("last_bad"), str, optional=True),
        )
        return items, _typed(d.get("error"), str, optional=True), stats
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(event, exc) from None


def alerts_payload(evaluated: bool, alerts: Sequence[Alert]) -> dict[str, Any]:
    """A tick's outcome: whether the rules were evaluated, and each alert's id and state."""
    return {"evaluated": evaluated, "alerts": [[a.id, a.state] for a in alerts]}


def _value(v: object) -> float | str | None:
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v)
    raise TypeError(f"expected a number, a string or null, got {v!r}")


def _typed(value: Any, kind: type, *, optional: bool = False) -> Any:
    """``value`` when it is a ``kind`` (an int will do for a float; None too when ``optional``);
    TypeError otherwise."""
    if value is None and optional:
        return None
    ok = isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok:
        raise TypeError(f"expected {kind.__name__}, got {value!r}"[:200])
    return value


def _bad(event: Event, exc: Exception) -> RecordingError:
    return RecordingError(f"line {event.line}: malformed {event.kind} event ({exc})")


# --------------------------------------------------------------------------- the config


def _redact(url: str) -> str:
    """``url`` without credentials and query string (tokens live there); file paths as given."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def config_json(config: Config) -> dict[str, Any]:
    """The config as a recording keeps it (no secrets, no channels: see the module docstring)."""
    endpoints = []
    for ep in config.endpoints:
        data = dataclasses.asdict(ep)
        data["headers"] = {}
        for key, value in data.items():
            if key.endswith("_url") and isinstance(value, str):
                data[key] = _redact(value)
        endpoints.append(data)
    return {
        "source": config.source,
        "monitor": dataclasses.asdict(config.monitor),
        "endpoints": endpoints,
        "rules": [dataclasses.asdict(r) for r in config.rules],
        "keys": dict(config.keys),
    }


def config_from_json(data: Any) -> Config:
    """The config of a header; TypeError or ValueError saying what is wrong."""
    if not isinstance(data, dict):
        raise TypeError("config is not an object")
    source = data.get("source")
    return Config(
        monitor=_build(MonitorConfig, data.get("monitor", {}), "monitor"),
        endpoints=tuple(_build(EndpointConfig, e, f"endpoints[{i}]")
                        for i, e in enumerate(_typed(data.get("endpoints", []), list))),
        rules=tuple(_build(Rule, r, f"rules[{i}]")
                    for i, r in enumerate(_typed(data.get("rules", []), list))),
        keys={str(k): _typed(v, str) for k, v in _typed(data.get("keys", {}), dict).items()},
        source=f"recording of {source}" if isinstance(source, str) else "recording",
    )


_T = typing.TypeVar("_T")


def _build(cls: type[_T], data: Any, where: str) -> _T:
    """A config dataclass from its ``asdict`` form, every field's type checked (lists back to
    tuples); fields the recording lacks keep their defaults, unknown ones are ignored."""
    if not isinstance(data, dict):
        raise TypeError(f"{where}: expected an object")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            kwargs[f.name] = _check(data[f.name], hints[f.name], f"{where}.{f.name}")
    return cls(**kwargs)


def _check(value: Any, hint: Any, where: str) -> Any:
    """``value`` as the type ``hint`` wants it; TypeError naming ``where`` otherwise."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        for arm in args:
            try:
                return _check(value, arm, where)
            except TypeError:
                continue
        raise TypeError(f"{where}: unexpected {value!r}"[:200])
    if origin is typing.Literal:
        if value in args:
            return value
        raise TypeError(f"{where}: expected one of {args}, got {value!r}"[:200])
    if origin is tuple:
        if not isinstance(value, list):
            raise TypeError(f"{where}: expected a list")
        return tuple(_check(v, args[0], where) for v in value)
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        if not isinstance(value, dict):
            raise TypeError(f"{where}: expected an object")
        return {str(k): _check(v, args[1], where) if args else v for k, v in value.items()}
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _build(hint, value, where)
    if hint is type(None):
        if value is None:
            return None
        raise TypeError(f"{where}: expected null")
    if isinstance(hint, type) and hint in (str, int, float, bool):
        try:
            return float(_typed(value, float)) if hint is float else _typed(value, hint)
        except TypeError:
            raise TypeError(f"{where}: expected {hint.__name__}, got {value!r}"[:200]) from None
    return value  # a type this reader does not know: trust the writer


# --------------------------------------------------------------------------- baselines


def _baseline_json(baseline: Baseline) -> dict[str, str] | None:
    if baseline is None:
        return None
    if isinstance(baseline, BaselineError):
        return {"error": str(baseline)}
    with tempfile.TemporaryDirectory(prefix="mmtui-rec-") as tmp:
        path = Path(tmp) / "profile"
        save_profile(baseline, path)
        return {"profile": base64.b64encode(path.read_bytes()).decode("ascii")}


def _baseline_from_json(name: str, data: Any) -> Baseline:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise TypeError(f"baselines.{name}: expected an object")
    if "error" in data:
        return BaselineError(str(data["error"]))
    raw = base64.b64decode(_typed(data.get("profile"), str), validate=True)
    with tempfile.TemporaryDirectory(prefix="mmtui-rec-") as tmp:
        path = Path(tmp) / f"{name}.profile"
        path.write_bytes(raw)
        try:
            return load_profile(path)
        except ProfileError as exc:
            raise ValueError(f"baselines.{name}: {str(exc).replace(str(path), 'profile')}"
                             ) from None


# --------------------------------------------------------------------------- the state store


def store_state(store: Store, config: Config, now: float) -> dict[str, Any]:
    """What of ``store`` the first evaluation reads (see :class:`~mmtui.alerts.service.
    AlertService`): alerts, rule overrides, and history for the relative rules' baselines."""
    from mmtui.alerts.service import SEED_BASELINES
    from mmtui.alerts.store import FINE

    alerts = []
    for a in store.alerts(now):
        data = dataclasses.asdict(a)
        data["ack"] = None  # people's intent, not an input of the rules
        alerts.append(data)
    relative = [r for r in config.rules if r.relative]
    history: list[list[Any]] = []
    if relative:
        since = now - min(max(r.baseline_window for r in relative), SEED_BASELINES)
        for (endpoint, model, metric), points in store.history(since, resolution=FINE).items():
            if any(r.matches_metric(metric) and r.matches_series(endpoint, model)
                   for r in relative):
                history.append([endpoint, model, metric, [list(p) for p in points]])
    return {
        "alerts": alerts,
        "overrides": [dataclasses.asdict(o) for o in store.overrides().values()],
        "history": history,
    }


def seed_store(store: Store, header: Header) -> None:
    """Put the header's state into a new store, as the recorded run found its own."""
    if header.alerts:
        store.record(header.alerts, now=header.at)
    for override in header.overrides:
        store.set_override(override)
    for (endpoint, model, metric), points in header.history.items():
        for t, value in points:
            store.add_history(t, [Observation(endpoint, model, metric, value)])
    store.flush()


def _state_from_json(data: Any) -> tuple[tuple[Alert, ...], tuple[RuleOverride, ...],
                                         dict[tuple[str, str | None, str],
                                              list[tuple[float, float]]]]:
    if not isinstance(data, dict):
        raise TypeError("state is not an object")
    alerts = tuple(_build(Alert, a, f"state.alerts[{i}]")
                   for i, a in enumerate(_typed(data.get("alerts", []), list)))
    overrides = tuple(_build(RuleOverride, o, f"state.overrides[{i}]")
                      for i, o in enumerate(_typed(data.get("overrides", []), list)))
    history: dict[tuple[str, str | None, str], list[tuple[float, float]]] = {}
    for entry in _typed(data.get("history", []), list):
        endpoint, model, metric, points = _typed(entry, list)
        key = (_typed(endpoint, str), _typed(model, str, optional=True), _typed(metric, str))
        history[key] = [(float(_typed(t, float)), float(_typed(v, float))) for t, v in points]
    return alerts, overrides, history


# --------------------------------------------------------------------------- reading


def _lines(raw: IO[bytes], problems: list[str]) -> Iterator[bytes]:
    """The complete lines of a gzip stream (several members read as one). A stream that stops
    early (truncated, corrupt, a torn last line) ends the lines, and the reason is appended to
    ``problems`` with ``{line}`` standing for the number of the last line read."""
    decompressor = zlib.decompressobj(wbits=31)
    begun = False
    """A gzip member was begun and has not ended."""
    pending = b""
    while chunk := raw.read(_CHUNK):
        while chunk:
            try:
                data = decompressor.decompress(chunk)
            except zlib.error as exc:
                problems.append(f"corrupt data after line {{line}} ({exc}): the rest is ignored")
                return
            begun, chunk = True, b""
            if decompressor.eof:  # the next gzip member, if any
                begun, chunk = False, decompressor.unused_data
                decompressor = zlib.decompressobj(wbits=31)
            pending += data
            *complete, pending = pending.split(b"\n")
            yield from complete
    if pending:
        problems.append("the line after line {line} is incomplete (the recorder stopped "
                        "mid-write): ignored")
    elif begun:
        problems.append("the recording ends after line {line} without its gzip trailer (the "
                        "recorder stopped mid-write)")


class RecordingReader:
    """Reads a recording: the header on opening, then the events, in order.

    A torn last line or a truncated gzip stream (the recorder crashed) ends the events;
    :attr:`problem` then says so. Anything else malformed is a RecordingError.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._raw: IO[bytes] = self.path.open("rb")
        except FileNotFoundError:
            raise RecordingError(f"{self.path}: no such recording") from None
        except OSError as exc:
            raise RecordingError(f"{self.path}: cannot read: {exc.strerror or exc}") from None
        if self._raw.read(2) != b"\x1f\x8b":
            self._raw.close()
            raise RecordingError(f"{self.path}: not an mmtui recording (not gzip data)")
        self._raw.seek(0)
        self._problems: list[str] = []
        self._lines = _lines(self._raw, self._problems)
        self._n = 0
        self.problem: str | None = None
        """Why the events ended early (a torn or truncated end), or None."""
        try:
            first = next(self._lines, None)
        except OSError as exc:
            self.close()
            raise RecordingError(f"{self.path}: cannot read: {exc.strerror or exc}") from None
        if first is None:
            self.close()
            raise RecordingError(f"{self.path}: not an mmtui recording (no header)")
        self._n = 1
        try:
            self.header = _header(first)
        except RecordingError as exc:
            self.close()
            raise RecordingError(f"{self.path}: {exc}") from None

    def events(self) -> Iterator[Event]:
        """The events after the header; RecordingError naming the line for a malformed one."""
        for raw in self._lines:
            self._n += 1
            try:
                obj = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                bad = self._n
                if next(self._lines, None) is None:  # the last line: torn by a crash
                    self.problem = f"line {bad} is not JSON (torn by a crash?): ignored"
                    return
                raise RecordingError(f"{self.path}: line {bad}: not JSON ({exc})") from None
            yield self._event(obj)
        if self._problems:
            self.problem = self._problems[0].format(line=self._n)

    def _event(self, obj: Any) -> Event:
        where = f"{self.path}: line {self._n}"
        if not isinstance(obj, dict):
            raise RecordingError(f"{where}: not an event object")
        kind, endpoint, at, data = (obj.get(k) for k in ("kind", "endpoint", "at", "data"))
        if kind not in KINDS:
            raise RecordingError(f"{where}: unknown event kind {kind!r}")
        if endpoint is not None and not isinstance(endpoint, str):
            raise RecordingError(f"{where}: endpoint is not a string")
        if isinstance(at, bool) or not isinstance(at, int | float):
            raise RecordingError(f"{where}: 'at' is not a number")
        if not isinstance(data, dict):
            raise RecordingError(f"{where}: 'data' is not an object")
        return Event(kind, endpoint, float(at), data, self._n)

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> RecordingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _header(raw: bytes) -> Header:
    try:
        obj = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RecordingError("not an mmtui recording (the first line is not JSON)") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise RecordingError(f"not an mmtui recording (no {FORMAT} header)")
    if obj.get("version") != VERSION:
        raise RecordingError(f"a recording of format version {obj.get('version')!r}; this "
                             f"mmtui reads version {VERSION}")
    try:
        config = config_from_json(obj.get("config"))
        baselines = {str(k): _baseline_from_json(str(k), v)
                     for k, v in _typed(obj.get("baselines", {}), dict).items()}
        alerts, overrides, history = _state_from_json(obj.get("state", {}))
        at = float(_typed(obj.get("at"), float))
    except (TypeError, ValueError) as exc:
        raise RecordingError(f"line 1: bad header ({exc})") from None
    if not config.endpoints:
        raise RecordingError("line 1: bad header (no endpoints)")
    return Header(config, baselines, alerts, overrides, history, at,
                  str(obj.get("mmtui", "?")))


def count_ticks(path: str | Path) -> int:
    """Ticks in a recording (a pass over the file without parsing the events)."""
    with Path(path).open("rb") as raw:
        return sum(1 for line in _lines(raw, []) if line.startswith(TICK_PREFIX))
