"""The SQLite state store on real files: schema, alerts, acks, notes, silences, overrides,
the event log, history and retention, and the engine picking up acks made elsewhere."""

from __future__ import annotations

import sqlite3
import threading
import tomllib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmtui.alerts import store as store_module
from mmtui.alerts.rules import Rule, RuleOverride, apply_overrides, read_rules
from mmtui.alerts.state import Ack, AlertEngine, Observation, iso_time, parse_matcher
from mmtui.alerts.store import (
    COARSE,
    FINE,
    SCHEMA_VERSION,
    EndpointStatus,
    Retention,
    Store,
    StoreError,
)
from mmtui.config import TableReader

T0 = 1_714_564_800.0  # 2024-05-01T12:00:00Z
ANA, BEN = "ana@jump1", "ben@jump1"
RULES = [
    Rule("slow", "latency_p95_ms", ">", 250.0),
    Rule("errors", "error_rate", ">", 0.05, for_=30.0),
]


def lat(endpoint: str, value: float) -> Observation:
    return Observation(endpoint, None, "latency_p95_ms", value)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    with Store(path) as s:
        yield s


def fire(store: Store, engine: AlertEngine, now: float, obs: list[Observation]) -> None:
    step = engine.evaluate(now, obs, {o.endpoint: "up" for o in obs})
    store.record(engine.alerts(), step.transitions, now=now)


@pytest.fixture
def firing(store: Store) -> AlertEngine:
    """Two firing alerts (slow on a and b) and one pending (errors on a)."""
    engine = AlertEngine(RULES)
    fire(store, engine, T0, [lat("a", 300.0), lat("b", 400.0),
                             Observation("a", None, "error_rate", 0.5)])
    return engine


def ids(store: Store) -> dict[str, str]:
    return {f"{a.rule}@{a.endpoint}": a.id for a in store.alerts(T0)}


def test_new_file_is_wal_with_a_schema_version(path: Path) -> None:
    Store(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"alerts", "events", "acks", "silences", "rule_overrides", "history"} <= tables


def test_a_version_1_file_is_migrated_with_its_alerts(path: Path) -> None:
    db = sqlite3.connect(path)
    db.executescript(store_module._SCHEMA)  # the version-1 schema, as session 1 wrote it
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO acks VALUES ('abc', 'ana', 1.0, 'kept', NULL)")
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.endpoints() == []
        assert list(store.acks()) == ["abc"]
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    assert db.execute("SELECT count(*) FROM endpoints").fetchone()[0] == 0


def test_endpoint_status_is_kept_and_goes_stale(path: Path) -> None:
    up = EndpointStatus("fraud", "up", None, T0, 2.0, {"latency_p95_ms": 12.5})
    down = EndpointStatus("chat", "down", "connection refused", T0, 2.0, {"latency_p95_ms": None})
    with Store(path) as store:
        store.record([], now=T0, endpoints=[up, down])
        assert store.endpoints(T0 + 1) == [down, up]  # by name
        assert [e.status for e in store.endpoints(T0 + 7)] == ["stale", "stale"]  # 3 intervals
        later = EndpointStatus("fraud", "error", "unparsable body", T0 + 10, 2.0, {})
        store.record([], now=T0 + 10, endpoints=[later])
        assert store.endpoints(T0 + 11)[1] == later
        assert later.to_json() == {"name": "fraud", "status": "error", "metrics": {},
                                   "error": "unparsable body", "at": iso_time(T0 + 10)}


def test_default_path_is_the_xdg_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    with Store() as s:
        assert s.path == tmp_path / "xdg" / "mmtui" / "state.db"
        assert s.path.is_file()


def test_a_newer_schema_is_refused_clearly(path: Path) -> None:
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    with pytest.raises(StoreError) as err:
        Store(path)
    assert str(err.value) == (
        f"{path}: state schema version 99 is newer than this mmtui understands "
        f"({SCHEMA_VERSION}); upgrade mmtui or use --state FILE"
    )


def test_foreign_and_broken_files_are_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "other.db"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE alerts (x)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="an SQLite file, but not an mmtui state file"):
        Store(foreign)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database, just some bytes " * 100)
    with pytest.raises(StoreError, match="junk.db: not a usable state file"):
        Store(junk)
    blocked = tmp_path / "file"
    blocked.write_text("x")
    with pytest.raises(StoreError, match="cannot create its directory"):
        Store(blocked / "state.db")


def test_alerts_round_trip(store: Store, firing: AlertEngine) -> None:
    assert store.alerts(T0) == list(firing.alerts())
    assert [a.to_json() for a in store.alerts(T0)] == [a.to_json() for a in firing.alerts()]
    assert [(a.rule, a.endpoint, a.state) for a in store.alerts(T0)] == [
        ("slow", "a", "firing"), ("slow", "b", "firing"), ("errors", "a", "pending"),
    ]


def test_transitions_are_logged_and_dropped_pending_alerts_deleted(
    store: Store, firing: AlertEngine
) -> None:
    fire(store, firing, T0 + 2, [lat("a", 300.0), lat("b", 400.0)])  # errors@a: pending → gone
    events = store.events()
    assert [(e.kind, e.detail["from"], e.detail["to"], e.detail["endpoint"]) for e in events] == [
        ("transition", "inactive", "firing", "a"),
        ("transition", "inactive", "firing", "b"),
        ("transition", "inactive", "pending", "a"),
        ("transition", "pending", "inactive", "a"),
    ]
    assert all(e.who is None for e in events)
    assert [a.rule for a in store.alerts(T0)] == ["slow", "slow"]


def test_ack_by_unique_prefix_and_clear_errors(store: Store, firing: AlertEngine) -> None:
    a_id = ids(store)["slow@a"]
    alert = store.ack(a_id[:6], ANA, note="looking", until=T0 + 600, now=T0 + 1)
    assert alert.acknowledged and alert.ack == Ack(ANA, T0 + 1, "looking", T0 + 600)
    assert alert.to_json()["acked_by"] == ANA
    assert store.acks(T0 + 2) == {alert.fingerprint: alert.ack}
    assert store.acks(T0 + 600) == {}
    with pytest.raises(StoreError, match="^no alert with id 'ffffffff'$"):
        store.ack("ffffffff", ANA)
    with pytest.raises(StoreError, match="is not an alert id"):
        store.ack("slow@a", ANA)
    with pytest.raises(StoreError, match="ack's expiry must be in the future"):
        store.ack(a_id, ANA, until=T0, now=T0 + 1)


def test_an_ambiguous_prefix_is_an_error(store: Store) -> None:
    engine = AlertEngine(RULES)
    fire(store, engine, T0, [lat(f"ep{i}", 300.0) for i in range(40)])
    (shared, n), = Counter(a.id[0] for a in store.alerts(T0)).most_common(1)
    assert n > 1  # 40 ids, 16 first digits
    with pytest.raises(StoreError, match="is ambiguous: it matches"):
        store.ack(shared, ANA)


def test_ack_of_a_resolved_alert_is_refused_and_resolving_clears_acks(
    store: Store, firing: AlertEngine
) -> None:
    a_id = ids(store)["slow@a"]
    store.ack(a_id, ANA, now=T0 + 1)
    version = store.control_version()
    fire(store, firing, T0 + 2, [lat("a", 100.0), lat("b", 400.0)])
    assert store.acks(T0 + 3) == {}
    assert store.control_version() > version
    cleared = [e for e in store.events(a_id) if e.kind == "ack_cleared"]
    assert [e.detail for e in cleared] == [{"because": "resolved"}]
    with pytest.raises(StoreError, match=f"alert {a_id} is resolved: nothing to acknowledge"):
        store.ack(a_id, ANA, now=T0 + 3)


def test_unack_and_notes(store: Store, firing: AlertEngine) -> None:
    a_id = ids(store)["slow@a"]
    store.ack(a_id, ANA, now=T0 + 1)
    assert not store.unack(a_id, BEN, now=T0 + 2).acknowledged
    with pytest.raises(StoreError, match=f"alert {a_id} is not acknowledged"):
        store.unack(a_id, BEN, now=T0 + 3)
    event = store.note(a_id, BEN, "rolled back v42", now=T0 + 4)
    with pytest.raises(StoreError, match="must not be empty"):
        store.note(a_id, BEN, "  ")
    history = store.events(a_id)
    assert [(e.kind, e.who) for e in history] == [
        ("transition", None), ("ack", ANA), ("unack", BEN), ("note", BEN)
    ]
    assert history[-1] == event
    assert event.to_json() == {"id": event.id, "at": "2024-05-01T12:00:04Z", "kind": "note",
                               "alert": a_id, "who": BEN, "detail": {"text": "rolled back v42"}}
    assert [e.kind for e in store.events(a_id, limit=2)] == ["unack", "note"]
    assert store.events(after=history[-2].id) == [event]


def test_engine_picks_up_an_ack_made_by_another_connection(
    store: Store, firing: AlertEngine, path: Path
) -> None:
    seen = store.control_version()
    with Store(path) as other:  # another process: the CLI
        other.ack(ids(other)["slow@b"], BEN, note="mine", now=T0 + 1)
    assert store.control_version() != seen
    firing.set_acks(store.acks(T0 + 2))
    step = firing.reconcile(T0 + 2)
    assert [(a.kind, a.alert.endpoint, a.reason) for a in step.actions] == [
        ("acknowledged", "b", "acknowledged by ben@jump1")
    ]


def test_silences_add_list_expire(store: Store) -> None:
    matchers = [parse_matcher("endpoint=~fraud-.*"), parse_matcher("severity!=info")]
    s = store.add_silence(matchers, ends_at=T0 + 3600, created_by=ANA, reason="deploy", now=T0)
    assert store.silences(T0 + 1) == [s]
    assert s.matches({"endpoint": "fraud-scorer", "severity": "critical"})
    assert s.to_json() == {"id": s.id[:8], "matchers": ['endpoint=~"fraud-.*"',
                                                        'severity!="info"'],
                           "starts_at": "2024-05-01T12:00:00Z",
                           "ends_at": "2024-05-01T13:00:00Z", "created_by": ANA,
                           "reason": "deploy"}
    version = store.control_version()
    expired = store.expire_silence(s.id[:5], BEN, now=T0 + 60)
    assert expired.ends_at == T0 + 60 and not expired.active(T0 + 60)
    assert store.silences(T0 + 61) == []
    assert store.silences(T0 + 61, include_expired=True) == [expired]
    assert store.control_version() > version
    assert [(e.kind, e.who) for e in store.events()] == [("silence", ANA),
                                                         ("silence_expired", BEN)]
    with pytest.raises(StoreError, match="no active silence with id"):
        store.expire_silence(s.id, BEN, now=T0 + 61)


def test_bad_silences_are_refused(store: Store) -> None:
    m = [parse_matcher("endpoint=a")]
    with pytest.raises(StoreError, match="needs a reason"):
        store.add_silence(m, ends_at=T0 + 60, created_by=ANA, reason="", now=T0)
    with pytest.raises(StoreError, match="must end in the future"):
        store.add_silence(m, ends_at=T0 - 1, created_by=ANA, reason="x", now=T0)
    with pytest.raises(StoreError, match="at least one matcher"):
        store.add_silence([], ends_at=T0 + 60, created_by=ANA, reason="x", now=T0)


def test_a_future_silence_can_be_expired_before_it_starts(store: Store) -> None:
    s = store.add_silence([parse_matcher("endpoint=a")], starts_at=T0 + 100, ends_at=T0 + 200,
                          created_by=ANA, reason="maintenance", now=T0)
    assert not s.active(T0) and s.active(T0 + 100)
    expired = store.expire_silence(s.id, ANA, now=T0 + 10)
    assert (expired.starts_at, expired.ends_at) == (T0 + 10, T0 + 10)


def test_rule_overrides(store: Store) -> None:
    store.set_override(RuleOverride("slow", threshold=300.0, by=ANA), now=T0)
    store.set_override(RuleOverride("errors", enabled=False, for_=60.0, by=BEN), now=T0 + 1)
    overrides = store.overrides()
    assert overrides["slow"] == RuleOverride("slow", None, 300.0, None, ANA, T0)
    rules, problems = apply_overrides(RULES, overrides)
    assert (rules[0].threshold, rules[1].enabled, rules[1].for_, problems) == (300.0, False,
                                                                               60.0, [])
    assert store.clear_override("slow", ANA, now=T0 + 2)
    assert not store.clear_override("slow", ANA, now=T0 + 3)
    assert list(store.overrides()) == ["errors"]
    assert [e.detail for e in store.events()] == [
        {"rule": "slow", "enabled": None, "threshold": 300.0, "for": None},
        {"rule": "errors", "enabled": False, "threshold": None, "for": 60.0},
        {"rule": "slow", "cleared": True},
    ]


def test_rule_changes_are_logged_once(store: Store) -> None:
    assert store.note_rules(RULES, ANA, now=T0)
    assert not store.note_rules(RULES, ANA, now=T0 + 1)
    changed = [Rule("slow", "latency_p95_ms", ">", 300.0), Rule("down", kind="nodata")]
    assert store.note_rules(changed, None, now=T0 + 2)
    assert [e.detail for e in store.events()] == [
        {"added": ["errors", "slow"], "removed": [], "changed": []},
        {"added": ["down"], "removed": ["errors"], "changed": ["slow"]},
    ]


def test_notification_results_go_to_the_log(store: Store, firing: AlertEngine) -> None:
    fp = firing.alerts()[0].fingerprint
    event = store.log_event("notification", fingerprint=fp,
                            detail={"channel": "slack", "ok": False, "error": "HTTP 500"},
                            now=T0)
    assert store.events(fp[:8])[-1] == event


def test_history_buckets_and_means(store: Store) -> None:
    for i in range(30):  # one value every 2 s for 60 s
        store.add_history(T0 + 2 * i, [lat("a", float(i)), Observation("a", "m", "f1", 0.5),
                                       Observation("a", None, "error_rate", None)])
    fine = store.history(T0, resolution=FINE)
    assert set(fine) == {("a", None, "latency_p95_ms"), ("a", "m", "f1")}
    assert fine[("a", None, "latency_p95_ms")][:2] == [(T0, 2.0), (T0 + 10, 7.0)]
    assert len(fine[("a", None, "latency_p95_ms")]) == 5  # the bucket at T0 + 50 is open
    assert store.history(T0 - 300, resolution=COARSE) == {}
    store.flush()
    assert len(store.history(T0, resolution=FINE)[("a", None, "latency_p95_ms")]) == 6
    store.add_history(T0 + 59, [lat("a", 29.0)])  # into a bucket that flush() wrote
    store.flush()
    assert store.history(T0 + 50, resolution=FINE)[("a", None, "latency_p95_ms")] == [
        (T0 + 50, (25 + 26 + 27 + 28 + 29 + 29) / 6)
    ]
    coarse = store.history(T0 - 300, resolution=COARSE)
    assert coarse[("a", None, "latency_p95_ms")] == [(T0, (sum(range(30)) + 29) / 31)]
    assert store.history(T0 + 30, resolution=FINE, until=T0 + 40)[("a", "m", "f1")] == [
        (T0 + 30, 0.5), (T0 + 40, 0.5)
    ]
    with pytest.raises(ValueError, match="resolution"):
        store.history(T0, resolution=60)


def test_prune_keeps_what_retention_says(store: Store, firing: AlertEngine) -> None:
    store.add_history(T0, [lat("a", 1.0)])
    store.add_history(T0 + 7200, [lat("a", 2.0)])
    store.flush()
    a_id, b_id = ids(store)["slow@a"], ids(store)["slow@b"]
    store.ack(a_id, ANA, until=T0 + 100, now=T0 + 1)
    store.ack(b_id, ANA, now=T0 + 1)
    fire(store, firing, T0 + 2, [lat("b", 400.0)])  # slow@a resolves
    store.add_silence([parse_matcher("endpoint=a")], ends_at=T0 + 10, created_by=ANA,
                      reason="x", now=T0)
    removed = store.prune(T0 + 7200, Retention(fine_history=3600, coarse_history=86400,
                                               resolved_alerts=3600, expired_silences=3600))
    assert removed == {"history": 1, "alerts": 1, "acks": 0, "silences": 1, "events": 0}
    assert store.history(0, resolution=FINE) == {("a", None, "latency_p95_ms"): [(T0 + 7200,
                                                                                   2.0)]}
    assert [a.rule + "@" + a.endpoint for a in store.alerts(T0 + 7200)] == ["slow@b"]
    store.ack(b_id, ANA, until=T0 + 7300, now=T0 + 7201)
    assert store.prune(T0 + 7300)["acks"] == 1
    assert store.events()[-1].kind == "ack_expired"
    assert store.prune(T0 + 7300, Retention(events=0))["events"] > 0


def test_history_survives_close_and_reopen(path: Path) -> None:
    with Store(path) as s:
        s.add_history(T0, [lat("a", 5.0)])
    with Store(path) as s:
        assert s.history(T0, resolution=COARSE) == {("a", None, "latency_p95_ms"): [(T0, 5.0)]}


def test_a_store_works_from_another_thread(store: Store, firing: AlertEngine) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            fire(store, firing, T0 + 1, [lat("a", 300.0), lat("b", 400.0)])
            store.add_history(T0 + 1, [lat("a", 300.0)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    store.ack(ids(store)["slow@a"], ANA, now=T0 + 1)
    for t in threads:
        t.join()
    store.flush()
    assert errors == []
    assert store.history(T0, resolution=FINE)[("a", None, "latency_p95_ms")] == [(T0, 300.0)]


SAMPLE_RULES = Path(__file__).resolve().parents[1] / "sample_data" / "rules.toml"


def sample_rules() -> tuple[Rule, ...]:
    data = tomllib.loads(SAMPLE_RULES.read_text())
    return read_rules([TableReader("rules.toml", f"rules[{i}]", t, {})
                       for i, t in enumerate(data["rules"])])


def scripted(k: int) -> tuple[list[Observation], dict[str, str]]:
    """A latency spike on chat-llm (120–160 s), an error burst on fraud-scorer (20–60 s),
    image-classifier down (60–100 s)."""
    p95 = 46_000.0 if 120 <= k < 160 else 11_000.0
    errors = 0.25 if 20 <= k < 60 else 0.001
    obs = [Observation("chat-llm", None, "latency_p95_ms", p95),
           Observation("chat-llm", None, "error_rate", 0.001),
           Observation("fraud-scorer", None, "error_rate", errors),
           Observation("fraud-scorer", None, "accuracy", 0.93)]
    down = 60 <= k < 100
    if not down:
        obs.append(Observation("image-classifier", None, "error_rate", 0.0))
    statuses = {"chat-llm": "up", "fraud-scorer": "up",
                "image-classifier": "down" if down else "up"}
    return obs, statuses


def test_sample_rules_drive_a_scripted_incident_through_the_store(path: Path) -> None:
    rules = sample_rules()
    store, cli = Store(path), Store(path)  # the monitor, and a shell next to it
    engine = AlertEngine(rules)
    store.note_rules(rules, None, now=T0)
    cli.add_silence([parse_matcher("alertname=error rate elevated")], ends_at=T0 + 3600,
                    created_by=BEN, reason="known noisy", now=T0)
    seen, sent = -1, []
    for k in range(0, 200, 2):
        now = T0 + k
        if store.control_version() != seen:
            seen = store.control_version()
            engine.set_acks(store.acks(now))
            engine.set_silences(store.silences(now))
        obs, statuses = scripted(k)
        step = engine.evaluate(now, obs, statuses)
        store.record(engine.alerts(), step.transitions, now=now)
        store.add_history(now, obs)
        sent += [(k, a.kind, a.alert.rule, a.alert.endpoint) for a in step.actions]
        if k == 32:
            (firing,) = [a for a in cli.alerts(now) if a.state == "firing"]
            cli.ack(firing.id, ANA, note="rolling back", now=now + 1)
    assert sent == [
        (30, "firing", "error rate", "fraud-scorer"),
        (34, "acknowledged", "error rate", "fraud-scorer"),
        (80, "firing", "endpoint down", "image-classifier"),
        (88, "resolved", "error rate", "fraud-scorer"),  # 30 s after the last bad tick
        (100, "resolved", "endpoint down", "image-classifier"),
        (136, "firing", "p95 latency vs baseline", "chat-llm"),
        (140, "firing", "LLM p95 latency", "chat-llm"),
        (160, "resolved", "LLM p95 latency", "chat-llm"),
        (160, "resolved", "p95 latency vs baseline", "chat-llm"),
    ]
    final = {(a.rule, a.endpoint): a for a in cli.alerts(T0 + 200)}
    assert {k: a.state for k, a in final.items()} == {
        ("error rate", "fraud-scorer"): "resolved",
        ("error rate elevated", "fraud-scorer"): "resolved",
        ("endpoint down", "image-classifier"): "resolved",
        ("p95 latency vs baseline", "chat-llm"): "resolved",
        ("LLM p95 latency", "chat-llm"): "resolved",
    }
    elevated = final[("error rate elevated", "fraud-scorer")]
    assert not elevated.notified and elevated.silenced_by
    relative = final[("p95 latency vs baseline", "chat-llm")]
    assert relative.threshold == pytest.approx(33_000.0)  # 3 × the 11 s baseline
    log = [(e.kind, e.who, e.detail.get("to")) for e in cli.events(final[("error rate",
                                                                           "fraud-scorer")].id)]
    assert log == [("transition", None, "pending"), ("transition", None, "firing"),
                   ("ack", ANA, None), ("transition", None, "resolved"),
                   ("ack_cleared", None, None)]
    assert [e.kind for e in cli.events()][:2] == ["rule_change", "silence"]
    store.close()
    assert ("chat-llm", None, "latency_p95_ms") in cli.history(T0, resolution=FINE)
    cli.close()
