"""The simulator's inference records: deterministic, the records protocol over real HTTP, and
drift and concept shifts that the real stats core sees against baselines from the shipped CSVs."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import httpx
import numpy as np
import pytest

from mmtui.config import parse_config
from mmtui.feeds.records import HttpRecordsFeed, LabelUpdate, Record, RecordsParser, Value
from mmtui.sim import EndpointSpec, SimServer, Simulator
from mmtui.sim.datasets import DATASETS, FRAUD, SENTIMENT, WATCH_TIME, Dataset, validation_path
from mmtui.sim.models import FLEET, ModelSpec, RecordsSpec
from mmtui.sim.records import RecordStream
from mmtui.sim.sample_data import build_baseline, main, validation_rows
from mmtui.sim.scenarios import Incident, Scenario
from mmtui.stats.drift import compute_drift
from mmtui.stats.profile import Profile
from mmtui.stats.quality import classification_metrics, regression_metrics
from mmtui.stats.window import RecordWindow

T0 = 1_700_000_000.0
TICKS_PER_S = 10
ENDPOINT_DATA = {"fraud-scorer": FRAUD, "sentiment": SENTIMENT, "recsys-ranker": WATCH_TIME}


@cache
def baseline(dataset: Dataset) -> Profile:
    return build_baseline(dataset)


@cache
def log(scenario: str, name: str, seconds: float) -> tuple[list[Record], dict[str, Value]]:
    """Every record and label of ``name`` issued in the first ``seconds`` (seed 0)."""
    stream = RecordStream(Simulator(scenario, seed=0, epoch=T0), name)
    body = b"".join(stream.lines(round(seconds * TICKS_PER_S), None, 10**6))
    parser = RecordsParser()
    items = parser.parse(body).items
    assert parser.stats.bad == {}
    labels = {i.id: i.label for i in items if isinstance(i, LabelUpdate)}
    return [i for i in items if isinstance(i, Record)], labels


def window(name: str, scenario: str, start: float, end: float) -> RecordWindow:
    """The records with ``ts`` in ``[start, end)`` seconds, with their labels joined."""
    records, labels = log(scenario, name, 240.0)
    chosen = [r for r in records if T0 + start <= r.ts < T0 + end]
    w = RecordWindow(100_000, profile=baseline(ENDPOINT_DATA[name]))
    w.add(chosen)
    w.add([LabelUpdate(r.id, labels[r.id]) for r in chosen if r.id in labels])
    assert len(w) == len(chosen) >= 250
    return w


def quality(w: RecordWindow, task: str | None) -> dict[str, float]:
    y_true, y_pred = w.labeled()
    if task == "regression":
        return regression_metrics(y_true, y_pred)
    return classification_metrics(y_true, y_pred)


# ----------------------------------------------------------------------------- determinism


def test_the_log_at_a_tick_does_not_depend_on_when_it_was_read() -> None:
    once = RecordStream(Simulator("incident", seed=3, epoch=T0), "fraud-scorer")
    whole = once.lines(900, None, 10**6)
    polled = RecordStream(Simulator("incident", seed=3, epoch=T0), "fraud-scorer")
    pieces: list[bytes] = []
    after = None
    for tick in (-250, 5, 6, 120, 121, 480, 900, 900):
        while page := polled.lines(tick, after, 37):
            pieces += page
            after = json.loads(page[-1])["seq"]
    assert pieces == whole
    other = RecordStream(Simulator("incident", seed=4, epoch=T0), "fraud-scorer")
    assert other.lines(900, None, 10**6) != whole


def test_lines_follow_the_records_protocol() -> None:
    now = 120.0
    stream = RecordStream(Simulator("calm", seed=0, epoch=T0), "sentiment")
    lines = stream.lines(round(now * TICKS_PER_S), None, 10**6)
    objs = [json.loads(line) for line in lines]
    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in lines)
    assert [o["seq"] for o in objs] == list(range(1, len(objs) + 1))
    records = {o["id"]: o for o in objs if "features" in o}
    labels = {o["id"]: o for o in objs if "features" not in o}
    assert all(set(o) == {"seq", "id", "ts", "features", "prediction"} for o in records.values())
    assert all(set(o) == {"seq", "id", "label"} for o in labels.values())
    assert len(records) + len(labels) == len(objs), "ids are unique per record"
    rate = len(records) / (now + 30.0)  # records start with the 30 s warm-up
    assert 8 < rate < 16, "about the model's 12 rps, every request logged"
    truth = validation_rows(SENTIMENT, 10)
    for o in records.values():
        assert T0 - 30.0 <= o["ts"] < T0 + now
        assert set(o["features"]) == set(truth.features)
        assert o["prediction"] in ("negative", "neutral", "positive")
        assert o["id"].startswith("msg-")
    for rid, o in labels.items():
        assert records[rid]["seq"] < o["seq"], "a label follows its record"
        assert records[rid]["ts"] < T0 + now - 20.0, "labels come 20-40 s late"
    overdue = [rid for rid, o in records.items() if o["ts"] < T0 + now - 40.1]
    assert overdue and all(rid in labels for rid in overdue)


def test_the_buffer_is_bounded_and_after_reads_from_what_is_kept() -> None:
    sim = Simulator("calm", seed=0, epoch=T0)
    small = RecordStream(sim, "fraud-scorer", capacity=500)
    lines = small.lines(3000, None, 10**6)
    assert len(lines) == 500
    first, last = json.loads(lines[0])["seq"], json.loads(lines[-1])["seq"]
    assert last - first == 499 and last > 5000
    assert small.lines(3000, first + 9, 5) == lines[10:15]
    assert small.lines(3000, 1, 3) == lines[:3], "a cursor that fell behind: from the oldest kept"
    assert small.lines(3000, last + 1000, 3) == lines[:3], "a cursor from another life"
    assert small.lines(3000, last, 10) == []
    recent = RecordStream(sim, "fraud-scorer", horizon=30.0)
    ts = [json.loads(line).get("ts") for line in recent.lines(3000, None, 10**6)]
    kept = [t for t in ts if t is not None]
    assert kept and min(kept) >= T0 + 300.0 - 30.0 - 0.1


# ----------------------------------------------------------------------------- over HTTP


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served() -> Iterator[tuple[SimServer, FakeClock]]:
    clock = FakeClock(T0)
    with SimServer("calm", seed=0, clock=clock) as server:
        yield server, clock


async def test_the_feed_pages_through_and_joins_late_labels(
    served: tuple[SimServer, FakeClock],
) -> None:
    server, clock = served
    listing = {e["name"]: e for e in server.endpoints}
    url = listing["fraud-scorer"]["records_url"]
    assert url == server.url + "models/fraud-scorer/records"
    clock.now = T0 + 20.0
    everything = httpx.get(url, params={"limit": 100_000}, timeout=5)
    assert everything.headers["content-type"] == "application/x-ndjson"
    total = everything.text.count("\n")
    assert total > 500
    feed = HttpRecordsFeed(url, limit=100, max_pages=100)
    w = RecordWindow(20_000, profile=baseline(FRAUD))
    async with httpx.AsyncClient() as client:
        first = await feed.poll(client)
        assert len(first) == total, "paged through 100 lines at a time"
        assert feed.cursor == json.loads(everything.text.splitlines()[-1])["seq"]
        joined = w.add(first)
        assert await feed.poll(client) == []
        clock.now = T0 + 60.0
        more = await feed.poll(client)
    late = [i for i in more if isinstance(i, LabelUpdate)]
    assert late and any(isinstance(i, Record) for i in more)
    joined += w.add(more)
    assert w.labels_joined == feed.stats.labels == len(joined)
    assert w.labels_unmatched == 0 and feed.stats.bad == {} and feed.stats.duplicates == 0
    y_true, y_pred = w.labeled()
    assert len(y_true) == feed.stats.labels > 500
    assert set(y_true.tolist()) == {"0", "1"}
    for bad in ("after=-1", "limit=0", "limit=lots"):
        r = httpx.get(f"{url}?{bad}", timeout=5)
        assert r.status_code == 400 and bad.split("=")[0] in r.json()["error"]
    assert httpx.get(server.url + "models/chat-llm/records", timeout=5).status_code == 404


def test_the_config_carries_records_url_and_a_csv_baseline(
    served: tuple[SimServer, FakeClock],
) -> None:
    server, _ = served
    text = server.config_toml()
    endpoints = {e["name"]: e for e in tomllib.loads(text)["endpoints"]}
    for name, dataset in ENDPOINT_DATA.items():
        assert endpoints[name]["records_url"] == server.url + f"models/{name}/records"
        assert Path(endpoints[name]["baseline"]) == validation_path(dataset)
        assert (endpoints[name]["target"], endpoints[name]["prediction"]) == (
            "label", "prediction")
        assert endpoints[name]["window_age"] == "60s"
    assert [n for n, e in endpoints.items() if "records_url" in e] == [
        ep.name for ep in FLEET if ep.records is not None]
    assert not any("baseline" in e for n, e in endpoints.items() if n not in ENDPOINT_DATA)
    cfg = parse_config(text, source="<sim>", env={})
    fraud = next(e for e in cfg.endpoints if e.name == "fraud-scorer")
    assert fraud.baseline is not None and Path(fraud.baseline).is_file()
    assert (fraud.target, fraud.prediction, fraud.window_age) == ("label", "prediction", 60.0)


# ----------------------------------------------------------------------------- statistics


def test_baselines_from_the_shipped_csvs() -> None:
    fraud, sentiment, watch = (baseline(d) for d in DATASETS)
    assert (fraud.target, fraud.prediction, fraud.n_rows) == ("label", "prediction", 4000)
    assert [p.task for p in (fraud, sentiment, watch)] == [d.task for d in DATASETS] == [
        "classification", "classification", "regression"]
    assert list(fraud.features) == list(validation_rows(FRAUD, 10).features)
    assert {n: f.kind for n, f in fraud.features.items()} == {
        **dict.fromkeys(("amount", "account_age_days", "txn_hour", "distance_km", "n_txn_24h",
                         "merchant_risk"), "numeric"),
        **dict.fromkeys(("merchant_category", "country", "channel", "card_type"), "categorical"),
    }
    assert 0.93 <= fraud.quality["accuracy"] <= 0.97
    assert 0.87 <= sentiment.quality["accuracy"] <= 0.93


@pytest.mark.parametrize("name", list(ENDPOINT_DATA))
def test_calm_records_match_the_baseline(name: str) -> None:
    profile = baseline(ENDPOINT_DATA[name])
    w = window(name, "calm", 0.0, 180.0)
    result = compute_drift(profile, w.table())
    assert result.drifted_features == [], [(f.name, f.p_value) for f in result.features]
    live = quality(w, profile.task)
    if profile.task == "regression":
        assert live["mae"] == pytest.approx(profile.quality["mae"], rel=0.1)
    else:
        assert live["accuracy"] == pytest.approx(profile.quality["accuracy"], abs=0.03)


@pytest.mark.parametrize("dataset", DATASETS, ids=lambda d: d.name)
def test_calm_windows_are_flagged_only_by_chance(dataset: Dataset) -> None:
    """At alpha 0.05 (BH) about one calm window in twenty has a feature flagged by chance; if
    live traffic and the shipped validation data differed, most would be."""
    profile = baseline(dataset)
    rng = np.random.default_rng(11)
    zeros = np.zeros(1000)
    flagged = sum(
        bool(compute_drift(profile, dataset.generate(rng, zeros, zeros).features)
             .drifted_features)
        for _ in range(40)
    )
    assert flagged <= 6


def test_incident_drift_is_flagged_on_the_drifted_features_only() -> None:
    fraud = window("fraud-scorer", "incident", 25.0, 95.0)
    assert compute_drift(baseline(FRAUD), fraud.table()).drifted_features == [
        "amount", "merchant_category", "channel"]
    assert FRAUD.drifted == ("amount", "merchant_category", "channel")
    sentiment = window("sentiment", "incident", 65.0, 135.0)
    assert compute_drift(baseline(SENTIMENT), sentiment.table()).drifted_features == [
        "n_chars", "language"]
    after = window("fraud-scorer", "incident", 110.0, 180.0)
    assert compute_drift(baseline(FRAUD), after.table()).drifted_features == [], (
        "a concept shift leaves the inputs alone")


def test_incident_concept_shift_lowers_quality() -> None:
    profile = baseline(FRAUD)
    shifted = quality(window("fraud-scorer", "incident", 115.0, 165.0), profile.task)
    assert shifted["accuracy"] < profile.quality["accuracy"] - 0.15
    calm = quality(window("fraud-scorer", "incident", 0.0, 20.0), profile.task)
    assert calm["accuracy"] > profile.quality["accuracy"] - 0.03
    watch = baseline(WATCH_TIME)
    slipped = quality(window("recsys-ranker", "incident", 35.0, 85.0), watch.task)
    assert slipped["mae"] > 1.25 * watch.quality["mae"]


def test_scenarios_and_specs_are_checked() -> None:
    with pytest.raises(ValueError, match="serves no inference records"):
        Simulator(Scenario("s", "drift", (Incident("drift", "chat-llm", 1.0, 5.0),)))
    with pytest.raises(ValueError, match="magnitude is a fraction"):
        Incident("concept", "fraud-scorer", 1.0, 5.0, 2.0)
    with pytest.raises(ValueError, match="sample"):
        RecordsSpec(FRAUD, "m", sample=0.0)
    with pytest.raises(KeyError):
        RecordStream(Simulator(), "chat-llm")
    spec = ModelSpec("m", rps=1.0, latency_ms=1.0, queue_ms=1.0)
    with pytest.raises(ValueError, match="unknown model 'x'"):
        EndpointSpec("e", "triton", (spec,), records=RecordsSpec(FRAUD, "x", sample=1.0))


# ----------------------------------------------------------------------------- sample data


def test_sample_data_regenerates_byte_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path)]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / d.file_name) for d in DATASETS]
    for dataset in DATASETS:
        shipped = validation_path(dataset).read_bytes()
        assert (tmp_path / dataset.file_name).read_bytes() == shipped, dataset.name
        assert len(shipped) < 400_000
        assert shipped.count(b"\n") == 4001
    assert main(["--help"]) == 2
