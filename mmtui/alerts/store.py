"""Durable alert state in SQLite (WAL): alerts, the event log, acks, silences, rule overrides and
downsampled metric history. Shared safely by several mmtui processes on one host.

Tables
    ``alerts``: the current state of every alert by fingerprint (resolved ones until pruned).
    ``events``: append-only log of transitions, acks, unacks, notes, silences, rule changes and
    overrides, and notification results, each with ``at`` and ``who`` (None for mmtui itself).
    ``acks``, ``silences``, ``rule_overrides``: what people decided.
    ``history``: per-series means in 10 s and 5 min buckets, so a restart shows the last day
    (open buckets are summed in memory and written when they close).

Concurrency and durability
    Every read-modify-write runs in ``BEGIN IMMEDIATE`` with a busy timeout, so two processes
    never lose or duplicate each other's writes and never see "database is locked" under normal
    contention. Acks, unacks, notes, silences and overrides commit with ``synchronous=FULL``:
    once the call returns the change survives ``kill -9`` and power loss. Everything else
    commits with ``synchronous=NORMAL`` (survives ``kill -9``). The schema version is
    ``PRAGMA user_version``; a newer one is refused with a clear ``StoreError``.

Threads
    One ``Store`` holds one connection opened with ``check_same_thread=False`` behind a lock:
    it may be called from any thread, and concurrent calls wait for each other. SQLite work is
    blocking I/O: from asyncio code, call it through ``asyncio.to_thread``, never on the loop.
    How the Monitor drives it each tick: see :mod:`mmtui.alerts`.

Alert ids on the command line are unique prefixes of the fingerprint (``Alert.id`` shows 8).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, cast

from mmtui.alerts.rules import Rule, RuleOverride, Severity
from mmtui.alerts.state import (
    ID_LENGTH,
    Ack,
    Alert,
    Matcher,
    Observation,
    SeriesKey,
    Silence,
    State,
    Transition,
    iso_time,
    parse_matcher,
    sort_key,
)
from mmtui.paths import default_state_file, ensure_dir

SCHEMA_VERSION: Final = 2
FINE: Final = 10
"""Seconds per fine history bucket."""
COARSE: Final = 300
"""Seconds per coarse history bucket."""

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value);
INSERT INTO meta VALUES ('control_version', 0), ('rules', '{}');
CREATE TABLE alerts (
    fingerprint TEXT PRIMARY KEY, rule TEXT NOT NULL, endpoint TEXT NOT NULL, model TEXT,
    feature TEXT, metric TEXT NOT NULL, severity TEXT NOT NULL, state TEXT NOT NULL,
    since REAL NOT NULL, active_at REAL NOT NULL, value REAL, threshold REAL,
    labels TEXT NOT NULL, annotations TEXT NOT NULL, compliance INTEGER NOT NULL,
    silenced_by TEXT NOT NULL, inhibited INTEGER NOT NULL, flapping INTEGER NOT NULL,
    notified INTEGER NOT NULL, fired_at REAL, updated_at REAL NOT NULL
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, kind TEXT NOT NULL,
    fingerprint TEXT, who TEXT, detail TEXT NOT NULL
);
CREATE INDEX events_by_alert ON events (fingerprint, id);
CREATE TABLE acks (
    fingerprint TEXT PRIMARY KEY, by TEXT NOT NULL, at REAL NOT NULL, note TEXT, until REAL
);
CREATE TABLE silences (
    id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts_at REAL NOT NULL, ends_at REAL NOT NULL,
    created_by TEXT NOT NULL, reason TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE rule_overrides (
    rule TEXT PRIMARY KEY, enabled INTEGER, threshold REAL, for_s REAL, by TEXT, at REAL
);
CREATE TABLE history (
    res INTEGER NOT NULL, bucket INTEGER NOT NULL, endpoint TEXT NOT NULL, model TEXT NOT NULL,
    metric TEXT NOT NULL, n INTEGER NOT NULL, total REAL NOT NULL,
    PRIMARY KEY (res, bucket, endpoint, model, metric)
) WITHOUT ROWID;
"""

_MIGRATIONS: Final = {
    # version 2: each endpoint's last status, so that `mmtui alerts list` can report it
    2: """
CREATE TABLE endpoints (
    name TEXT PRIMARY KEY, status TEXT NOT NULL, error TEXT, at REAL NOT NULL,
    interval REAL NOT NULL, metrics TEXT NOT NULL
);
""",
}
"""Statements that take a state file from the previous schema version to the key's."""

STALE_INTERVALS: Final = 3.0
"""An endpoint status not updated for this many poll intervals is reported as ``stale``: the
monitor that wrote it is not running."""

_ALERT_COLUMNS = (
    "fingerprint, rule, endpoint, model, feature, metric, severity, state, since, active_at, "
    "value, threshold, labels, annotations, compliance, silenced_by, inhibited, flapping, "
    "notified, fired_at, updated_at"
)


class StoreError(Exception):
    """A state-store problem, as one line naming the file or the item."""


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of the append-only event log."""

    id: int
    at: float
    kind: str
    """transition, ack, unack, ack_expired, ack_cleared, note, silence, silence_expired,
    rule_change, rule_override, notification (or a kind a later module adds)."""
    fingerprint: str | None
    who: str | None
    detail: Mapping[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "at": iso_time(self.at),
            "kind": self.kind,
            "alert": None if self.fingerprint is None else self.fingerprint[:ID_LENGTH],
            "who": self.who,
            "detail": dict(self.detail),
        }


@dataclass(frozen=True, slots=True)
class EndpointStatus:
    """An endpoint's status as the monitor last recorded it."""

    name: str
    status: str
    error: str | None
    at: float
    interval: float
    metrics: Mapping[str, float | None]

    def to_json(self) -> dict[str, object]:
        """The ``endpoints`` entry of DESIGN.md's ``alerts list`` document (plus its time)."""
        return {"name": self.name, "status": self.status, "metrics": dict(self.metrics),
                "error": self.error, "at": iso_time(self.at)}


@dataclass(frozen=True, slots=True)
class Retention:
    """How long :meth:`Store.prune` keeps things, in seconds (None: forever)."""

    fine_history: float = 3600.0
    coarse_history: float = 2 * 86400.0
    resolved_alerts: float = 86400.0
    expired_silences: float = 7 * 86400.0
    events: float | None = None


class Store:
    """The SQLite state file; see the module docstring.

    Parameters
    ----------
    path
        The state file; None means ``mmtui.paths.default_state_file()`` (the XDG state dir).
        Missing parent directories are created.
    busy_timeout
        Seconds to wait for another process's write transaction before giving up.
    """

    def __init__(self, path: str | Path | None = None, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path) if path is not None else default_state_file()
        self._lock = threading.RLock()
        self._open_buckets: dict[tuple[int, int, str, str, str], list[float]] = {}
        self._history_due = math.inf
        self._written: dict[str, tuple[object, ...]] = {}
        try:
            ensure_dir(self.path.parent)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot create its directory: {exc}") from None
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the state file: {exc}") from None
        try:
            self._setup()
        except BaseException:
            self._conn.close()
            raise

    def _setup(self) -> None:
        with self._errors():
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: state schema version {version} is newer than this mmtui "
                    f"understands ({SCHEMA_VERSION}); upgrade mmtui or use --state FILE"
                )
            if version == 0:
                if db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                    raise StoreError(f"{self.path}: an SQLite file, but not an mmtui state file")
                _run_script(db, _SCHEMA)
                version = 1
            for step in range(version + 1, SCHEMA_VERSION + 1):
                _run_script(db, _MIGRATIONS[step])
            if version != SCHEMA_VERSION:
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        """Write the open history buckets and close the file."""
        with self._lock:
            try:
                self.flush()
            finally:
                self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions --------------------------------------------------------------------------

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreError(
                    f"{self.path}: busy: another process held it longer than the timeout"
                ) from None
            raise StoreError(f"{self.path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable state file: {exc}") from None

    @contextmanager
    def _write(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction; ``durable`` commits with synchronous=FULL."""
        with self._lock, self._errors():
            db = self._conn
            if durable:
                db.execute("PRAGMA synchronous=FULL")
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            finally:
                if durable:
                    db.execute("PRAGMA synchronous=NORMAL")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._errors():
            yield self._conn

    def control_version(self) -> int:
        """A counter bumped by every ack, unack, silence and override change, in any process."""
        with self._read() as db:
            return int(db.execute("SELECT value FROM meta WHERE key='control_version'")
                       .fetchone()[0])

    # -- alerts --------------------------------------------------------------------------------

    def record(
        self, alerts: Iterable[Alert], transitions: Sequence[Transition] = (), *,
        now: float | None = None, endpoints: Sequence[EndpointStatus] = (),
    ) -> None:
        """Save the engine's alerts and log its transitions; a resolved alert loses its ack.
        ``endpoints``: the endpoints' status at this tick, kept for :meth:`endpoints`.

        Rows this Store wrote unchanged last time are not written again.
        """
        now = _now(now)
        current = {a.fingerprint: _alert_row(a) for a in alerts}
        rows = [(*row, now) for fp, row in current.items() if self._written.get(fp) != row]
        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO endpoints (name, status, error, at, interval, metrics) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(e.name, e.status, e.error, e.at, e.interval,
                  json.dumps({k: _finite(v) for k, v in e.metrics.items()}))
                 for e in endpoints],
            )
            db.executemany(
                f"INSERT OR REPLACE INTO alerts ({_ALERT_COLUMNS}) "
                f"VALUES ({', '.join('?' * 21)})",
                rows,
            )
            for t in transitions:
                detail = {"from": t.old, "to": t.new, "rule": t.rule, "endpoint": t.endpoint,
                          "value": _finite(t.value), "threshold": _finite(t.threshold)}
                _log(db, t.at, "transition", t.fingerprint, None, detail)
                if t.new == "inactive":
                    db.execute("DELETE FROM alerts WHERE fingerprint=?", (t.fingerprint,))
                if t.new in ("inactive", "resolved") and db.execute(
                    "DELETE FROM acks WHERE fingerprint=?", (t.fingerprint,)
                ).rowcount:
                    _log(db, t.at, "ack_cleared", t.fingerprint, None, {"because": t.new})
                    _bump(db)
        self._written = current

    def endpoints(self, now: float | None = None) -> list[EndpointStatus]:
        """Every endpoint's last recorded status, by name; ``stale`` when the monitor stopped
        updating it (:data:`STALE_INTERVALS`)."""
        now = _now(now)
        with self._read() as db:
            rows = db.execute(
                "SELECT name, status, error, at, interval, metrics FROM endpoints ORDER BY name"
            ).fetchall()
        out = []
        for name, status, error, at, interval, metrics in rows:
            if now - at > STALE_INTERVALS * max(interval, 1.0):
                status = "stale"
            out.append(EndpointStatus(name, status, error, at, interval, json.loads(metrics)))
        return out

    def alerts(self, now: float | None = None) -> list[Alert]:
        """Every stored alert with its current ack, most urgent first."""
        now = _now(now)
        with self._read() as db:
            acks = _acks(db)
            rows = db.execute(f"SELECT {_ALERT_COLUMNS} FROM alerts").fetchall()
        return sorted((_alert_from_row(r, acks, now) for r in rows), key=sort_key)

    def alert(self, ref: str, now: float | None = None) -> Alert:
        """The alert whose id starts with ``ref``; ``StoreError`` if none or several."""
        now = _now(now)
        with self._read() as db:
            fp = _resolve(db, ref)
            row = db.execute(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE fingerprint=?",
                             (fp,)).fetchone()
            return _alert_from_row(row, _acks(db), now)

    # -- acks and notes ------------------------------------------------------------------------

    def ack(
        self, ref: str, who: str, *, note: str | None = None, until: float | None = None,
        now: float | None = None,
    ) -> Alert:
        """Acknowledge a pending or firing alert (again: replaces the ack); durable on return."""
        now = _now(now)
        if until is not None and until <= now:
            raise StoreError("an ack's expiry must be in the future")
        with self._write(durable=True) as db:
            fp = _resolve(db, ref)
            _require_active(db, fp, "acknowledge")
            db.execute("INSERT OR REPLACE INTO acks VALUES (?, ?, ?, ?, ?)",
                       (fp, who, now, note, until))
            _log(db, now, "ack", fp, who, {"note": note, "until": until})
            _bump(db)
        return self.alert(fp, now)

    def unack(self, ref: str, who: str, *, now: float | None = None) -> Alert:
        """Withdraw the ack of an alert; durable on return."""
        now = _now(now)
        with self._write(durable=True) as db:
            fp = _resolve(db, ref)
            if not db.execute("DELETE FROM acks WHERE fingerprint=?", (fp,)).rowcount:
                raise StoreError(f"alert {fp[:ID_LENGTH]} is not acknowledged")
            _log(db, now, "unack", fp, who, {})
            _bump(db)
        return self.alert(fp, now)

    def note(self, ref: str, who: str, text: str, *, now: float | None = None) -> Event:
        """Add a note to an alert's history; durable on return."""
        now = _now(now)
        if not text.strip():
            raise StoreError("a note must not be empty")
        with self._write(durable=True) as db:
            fp = _resolve(db, ref)
            event_id = _log(db, now, "note", fp, who, {"text": text})
        return Event(event_id, now, "note", fp, who, {"text": text})

    def acks(self, now: float | None = None) -> dict[str, Ack]:
        """Unexpired acks by fingerprint, for ``AlertEngine.set_acks``."""
        now = _now(now)
        with self._read() as db:
            return {fp: a for fp, a in _acks(db).items() if a.active(now)}

    # -- silences ------------------------------------------------------------------------------

    def add_silence(
        self, matchers: Sequence[Matcher], *, ends_at: float, created_by: str, reason: str,
        starts_at: float | None = None, now: float | None = None,
    ) -> Silence:
        """Create a silence (starting now unless ``starts_at``); durable on return."""
        now = _now(now)
        start = now if starts_at is None else starts_at
        if not ends_at > max(start, now):
            raise StoreError("a silence must end in the future and after it starts")
        try:
            silence = Silence(uuid.uuid4().hex, tuple(matchers), start, ends_at, created_by,
                              reason, now)
        except ValueError as exc:
            raise StoreError(str(exc)) from None
        with self._write(durable=True) as db:
            db.execute(
                "INSERT INTO silences VALUES (?, ?, ?, ?, ?, ?, ?)",
                (silence.id, json.dumps([str(m) for m in silence.matchers]), silence.starts_at,
                 silence.ends_at, created_by, reason, now),
            )
            _log(db, now, "silence", None, created_by, silence.to_json())
            _bump(db)
        return silence

    def expire_silence(self, ref: str, who: str, *, now: float | None = None) -> Silence:
        """End a silence now; durable on return."""
        now = _now(now)
        with self._write(durable=True) as db:
            rows = db.execute("SELECT * FROM silences WHERE id LIKE ? AND ends_at > ?",
                              (_prefix(ref, "silence") + "%", now)).fetchall()
            if len(rows) != 1:
                what = "no active silence" if not rows else "several active silences"
                raise StoreError(f"{what} with id {ref!r}")
            old = _silence_from_row(rows[0])
            silence = dataclasses.replace(old, starts_at=min(old.starts_at, now), ends_at=now)
            db.execute("UPDATE silences SET starts_at=?, ends_at=? WHERE id=?",
                       (silence.starts_at, silence.ends_at, silence.id))
            _log(db, now, "silence_expired", None, who, {"id": silence.short_id})
            _bump(db)
        return silence

    def silences(self, now: float | None = None, *, include_expired: bool = False
                 ) -> list[Silence]:
        """Silences not yet ended (pending ones included), or all of them."""
        now = _now(now)
        with self._read() as db:
            rows = db.execute("SELECT * FROM silences ORDER BY created_at").fetchall()
        out = [_silence_from_row(r) for r in rows]
        return out if include_expired else [s for s in out if s.ends_at > now]

    # -- rules ---------------------------------------------------------------------------------

    def set_override(self, override: RuleOverride, *, now: float | None = None) -> None:
        """Store a run-time edit of a rule (replacing any earlier one); durable on return."""
        now = _now(now) if override.at is None else override.at
        with self._write(durable=True) as db:
            db.execute("INSERT OR REPLACE INTO rule_overrides VALUES (?, ?, ?, ?, ?, ?)",
                       (override.rule, override.enabled, override.threshold, override.for_,
                        override.by, now))
            detail = {"rule": override.rule, "enabled": override.enabled,
                      "threshold": override.threshold, "for": override.for_}
            _log(db, now, "rule_override", None, override.by, detail)
            _bump(db)

    def clear_override(self, rule: str, who: str, *, now: float | None = None) -> bool:
        """Drop the override of ``rule``; False if it had none."""
        now = _now(now)
        with self._write(durable=True) as db:
            if not db.execute("DELETE FROM rule_overrides WHERE rule=?", (rule,)).rowcount:
                return False
            _log(db, now, "rule_override", None, who, {"rule": rule, "cleared": True})
            _bump(db)
        return True

    def overrides(self) -> dict[str, RuleOverride]:
        with self._read() as db:
            rows = db.execute("SELECT * FROM rule_overrides").fetchall()
        return {
            r[0]: RuleOverride(r[0], None if r[1] is None else bool(r[1]), r[2], r[3], r[4], r[5])
            for r in rows
        }

    def note_rules(self, rules: Sequence[Rule], who: str | None = None, *,
                   now: float | None = None) -> bool:
        """Log a ``rule_change`` event if the rule set differs from the one last noted."""
        now = _now(now)
        digests = {r.name: _digest(r) for r in rules}
        with self._write() as db:
            before = json.loads(db.execute("SELECT value FROM meta WHERE key='rules'")
                                .fetchone()[0])
            if before == digests:
                return False
            detail = {
                "added": sorted(digests.keys() - before.keys()),
                "removed": sorted(before.keys() - digests.keys()),
                "changed": sorted(k for k in digests.keys() & before.keys()
                                  if digests[k] != before[k]),
            }
            db.execute("UPDATE meta SET value=? WHERE key='rules'", (json.dumps(digests),))
            _log(db, now, "rule_change", None, who, detail)
        return True

    # -- the event log -------------------------------------------------------------------------

    def log_event(
        self, kind: str, *, who: str | None = None, fingerprint: str | None = None,
        detail: Mapping[str, object] | None = None, now: float | None = None,
    ) -> Event:
        """Append an event, e.g. ``notification`` with {"channel", "ok", "error"}."""
        now = _now(now)
        payload = dict(detail or {})
        with self._write() as db:
            event_id = _log(db, now, kind, fingerprint, who, payload)
        return Event(event_id, now, kind, fingerprint, who, payload)

    def events(self, ref: str | None = None, *, after: int = 0, limit: int | None = None
               ) -> list[Event]:
        """Events oldest first: all of them, or one alert's (``ref`` an id prefix)."""
        with self._read() as db:
            where, args = "id > ?", [cast(object, after)]
            if ref is not None:
                where += " AND fingerprint = ?"
                args.append(_resolve(db, ref))
            newest = f"ORDER BY id DESC LIMIT {int(limit)}" if limit is not None else ""
            rows = db.execute(
                f"SELECT * FROM (SELECT id, at, kind, fingerprint, who, detail FROM events "
                f"WHERE {where} {newest}) ORDER BY id", args
            ).fetchall()
        return [Event(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    # -- metric history ------------------------------------------------------------------------

    def add_history(self, at: float, observations: Iterable[Observation]) -> None:
        """Fold this tick's values into the 10 s and 5 min buckets (None and NaN skipped).

        Open buckets are summed in memory and written when they close (or by :meth:`flush`
        and :meth:`close`): one write per series per bucket instead of one per tick. A crash
        loses the open buckets only: at most 10 s of fine and 5 min of coarse history.
        """
        values = [o for o in observations if o.value is not None and math.isfinite(o.value)]
        with self._lock:
            for res in (FINE, COARSE):
                bucket = int(at // res) * res
                self._history_due = min(self._history_due, bucket + res)
                for o in values:
                    key = (res, bucket, o.endpoint, o.model or "", o.metric)
                    acc = self._open_buckets.get(key)
                    if acc is None:
                        self._open_buckets[key] = [1.0, cast(float, o.value)]
                    else:
                        acc[0] += 1.0
                        acc[1] += cast(float, o.value)
            if at >= self._history_due:
                self._write_buckets(at)

    def flush(self) -> None:
        """Write the open history buckets now (they keep accumulating afterwards)."""
        self._write_buckets(None)

    def _write_buckets(self, before: float | None) -> None:
        with self._lock:
            done = [k for k in self._open_buckets if before is None or k[1] + k[0] <= before]
            rows = [(*k, int(self._open_buckets[k][0]), self._open_buckets[k][1]) for k in done]
            if rows:
                with self._write() as db:
                    db.executemany(
                        "INSERT INTO history VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE "
                        "SET n = n + excluded.n, total = total + excluded.total",
                        rows,
                    )
            for k in done:
                del self._open_buckets[k]
            self._history_due = min((k[1] + k[0] for k in self._open_buckets), default=math.inf)

    def history(
        self, since: float, *, resolution: int = COARSE, until: float | None = None
    ) -> dict[SeriesKey, list[tuple[float, float]]]:
        """Bucket means per series from ``since``: ``{(endpoint, model, metric): [(t, mean)]}``,
        oldest first; ``t`` is the bucket's start. Written buckets only (see :meth:`flush`)."""
        if resolution not in (FINE, COARSE):
            raise ValueError(f"resolution must be {FINE} or {COARSE} seconds")
        hi = math.inf if until is None else until
        with self._read() as db:
            rows = db.execute(
                "SELECT bucket, endpoint, model, metric, total / n FROM history "
                "WHERE res = ? AND bucket >= ? AND bucket <= ? ORDER BY bucket",
                (resolution, math.floor(since / resolution) * resolution, hi),
            ).fetchall()
        out: dict[SeriesKey, list[tuple[float, float]]] = {}
        for bucket, endpoint, model, metric, mean in rows:
            out.setdefault((endpoint, model or None, metric), []).append((float(bucket), mean))
        return out

    # -- retention -----------------------------------------------------------------------------

    def prune(self, now: float | None = None, retention: Retention | None = None
              ) -> dict[str, int]:
        """Drop what ``retention`` no longer keeps; expired acks are logged as ``ack_expired``.

        Returns the rows removed per kind.
        """
        now = _now(now)
        keep = retention or Retention()
        out: dict[str, int] = {}
        with self._write() as db:
            out["history"] = sum(
                db.execute("DELETE FROM history WHERE res = ? AND bucket < ?",
                           (res, now - age)).rowcount
                for res, age in ((FINE, keep.fine_history), (COARSE, keep.coarse_history))
            )
            out["alerts"] = db.execute(
                "DELETE FROM alerts WHERE state = 'resolved' AND since < ?",
                (now - keep.resolved_alerts,),
            ).rowcount
            expired = db.execute("SELECT fingerprint FROM acks WHERE until <= ?",
                                 (now,)).fetchall()
            for (fp,) in expired:
                _log(db, now, "ack_expired", fp, None, {})
            out["acks"] = db.execute(
                "DELETE FROM acks WHERE until <= ? OR fingerprint NOT IN "
                "(SELECT fingerprint FROM alerts)", (now,)
            ).rowcount
            out["silences"] = db.execute("DELETE FROM silences WHERE ends_at < ?",
                                         (now - keep.expired_silences,)).rowcount
            out["events"] = 0 if keep.events is None else db.execute(
                "DELETE FROM events WHERE at < ?", (now - keep.events,)
            ).rowcount
            if out["acks"] or out["silences"]:
                _bump(db)
        return out


# --------------------------------------------------------------------------- helpers


def _run_script(db: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _log(db: sqlite3.Connection, at: float, kind: str, fp: str | None, who: str | None,
         detail: Mapping[str, object]) -> int:
    cur = db.execute("INSERT INTO events (at, kind, fingerprint, who, detail) VALUES (?,?,?,?,?)",
                     (at, kind, fp, who, json.dumps(detail, ensure_ascii=False)))
    return int(cur.lastrowid or 0)


def _bump(db: sqlite3.Connection) -> None:
    db.execute("UPDATE meta SET value = value + 1 WHERE key='control_version'")


def _prefix(ref: str, what: str) -> str:
    ref = ref.strip().lower()
    if not ref or any(c not in "0123456789abcdef" for c in ref):
        raise StoreError(f"{ref!r} is not {what} id (expected hex digits, e.g. 3f2a9c01)")
    return ref


def _resolve(db: sqlite3.Connection, ref: str) -> str:
    rows = db.execute("SELECT fingerprint FROM alerts WHERE fingerprint LIKE ? LIMIT 6",
                      (_prefix(ref, "an alert") + "%",)).fetchall()
    if not rows:
        raise StoreError(f"no alert with id {ref!r}")
    if len(rows) > 1:
        ids = ", ".join(r[0][:ID_LENGTH + 4] for r in rows[:5])
        raise StoreError(f"alert id {ref!r} is ambiguous: it matches {ids}")
    return str(rows[0][0])


def _require_active(db: sqlite3.Connection, fp: str, verb: str) -> None:
    state = db.execute("SELECT state FROM alerts WHERE fingerprint=?", (fp,)).fetchone()[0]
    if state not in ("pending", "firing"):
        raise StoreError(f"alert {fp[:ID_LENGTH]} is {state}: nothing to {verb}")


def _acks(db: sqlite3.Connection) -> dict[str, Ack]:
    rows = db.execute("SELECT fingerprint, by, at, note, until FROM acks").fetchall()
    return {r[0]: Ack(r[1], r[2], r[3], r[4]) for r in rows}


def _alert_row(a: Alert) -> tuple[object, ...]:
    """The row of ``a`` but for ``updated_at``."""
    return (
        a.fingerprint, a.rule, a.endpoint, a.model, a.feature, a.metric, a.severity, a.state,
        a.since, a.active_at, _finite(a.value), _finite(a.threshold),
        json.dumps(dict(a.labels), ensure_ascii=False),
        json.dumps(dict(a.annotations), ensure_ascii=False), a.compliance,
        json.dumps(list(a.silenced_by)), a.inhibited, a.flapping, a.notified, a.fired_at,
    )


def _alert_from_row(row: Sequence[object], acks: Mapping[str, Ack], now: float) -> Alert:
    (fp, rule, endpoint, model, feature, metric, severity, state, since, active_at, value,
     threshold, labels, annotations, compliance, silenced_by, inhibited, flapping, notified,
     fired_at, _) = row
    ack = acks.get(str(fp))
    if ack is not None and not (ack.active(now) and ack.at >= cast(float, active_at)
                                and state in ("pending", "firing")):
        ack = None
    return Alert(
        fingerprint=str(fp), rule=str(rule), endpoint=str(endpoint),
        model=cast("str | None", model), feature=cast("str | None", feature),
        metric=str(metric), severity=cast(Severity, severity), state=cast(State, state),
        since=cast(float, since), active_at=cast(float, active_at),
        value=cast("float | None", value), threshold=cast("float | None", threshold),
        labels=json.loads(str(labels)), annotations=json.loads(str(annotations)),
        compliance=bool(compliance), ack=ack, silenced_by=tuple(json.loads(str(silenced_by))),
        inhibited=bool(inhibited), flapping=bool(flapping), notified=bool(notified),
        fired_at=cast("float | None", fired_at),
    )


def _silence_from_row(row: Sequence[object]) -> Silence:
    sid, matchers, starts_at, ends_at, created_by, reason, created_at = row
    return Silence(
        str(sid), tuple(parse_matcher(m) for m in json.loads(str(matchers))),
        cast(float, starts_at), cast(float, ends_at), str(created_by), str(reason),
        cast(float, created_at),
    )


def _digest(rule: Rule) -> str:
    data = json.dumps(dataclasses.asdict(rule), sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()[:12]
