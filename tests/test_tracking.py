"""Records tracking: a real records feed (the simulator on 127.0.0.1) → window → drift, quality."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mmtui.config import EndpointConfig, parse_config
from mmtui.sim.server import SimServer
from mmtui.tracking import BaselineError, RecordsTracker, load_baseline, records_metrics

EPOCH = 1_800_000_000.0


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock(EPOCH)


@pytest.fixture
def incident(clock: Clock) -> Iterator[SimServer]:
    with SimServer(scenario="incident", seed=5, clock=clock) as server:
        yield server


def fraud_endpoint(server: SimServer) -> EndpointConfig:
    config = parse_config(server.config_toml(), env={})
    (ep,) = [e for e in config.endpoints if e.name == "fraud-scorer"]
    assert ep.records_url and ep.baseline
    return ep


async def feed_until(tracker: RecordsTracker, clock: Clock, until: float) -> None:
    async with httpx.AsyncClient() as client:
        while clock.t < until:
            clock.t += 5.0
            await tracker.poll(client)


async def test_drift_metrics_and_histograms_from_a_live_feed(
    incident: SimServer, clock: Clock
) -> None:
    ep = fraud_endpoint(incident)
    tracker = RecordsTracker(ep, load_baseline(ep), clock=clock)
    await feed_until(tracker, clock, EPOCH + 15)  # before the drift window (20-100 s)
    calm = tracker.evaluate()
    assert calm.status == "ok" and calm.records > 0 and calm.drift is not None
    await feed_until(tracker, clock, EPOCH + 90)
    drifted = tracker.evaluate()
    assert drifted.drift is not None
    assert "amount" in drifted.drift.drifted_features
    metrics = records_metrics(drifted)
    assert metrics["drift_share"] == drifted.drift.drift_share > 0
    amount = next(f for f in drifted.drift.features if f.name == "amount")
    assert metrics["drift.amount"] == amount.scores["js"]  # the score: JS distance, 0..1
    assert 0.0 < metrics["drift.amount"] < 1.0
    assert 0.0 <= metrics["accuracy"] <= 1.0  # labels arrived late and were joined

    hist = tracker.histogram("amount", bins=10)
    assert hist is not None and hist.kind == "numeric" and len(hist.bins) == 10
    assert sum(hist.reference) == pytest.approx(1.0) and sum(hist.current) == pytest.approx(1.0)
    assert hist.n_current == drifted.records
    cat = tracker.histogram("merchant_category")
    assert cat is not None and cat.kind == "categorical"
    assert tracker.histogram("no_such_feature") is None


def test_baseline_errors_name_the_file(tmp_path: Path) -> None:
    missing = EndpointConfig(name="e", metrics_url="http://127.0.0.1:1/m", preset="vllm",
                             records_url="http://127.0.0.1:1/r", baseline=str(tmp_path / "x.csv"))
    with pytest.raises(BaselineError, match="x.csv"):
        load_baseline(missing)
    bad = tmp_path / "p.npz"
    bad.write_bytes(b"not a profile")
    with pytest.raises(BaselineError, match="p.npz"):
        load_baseline(EndpointConfig(name="e", metrics_url="http://127.0.0.1:1/m",
                                     preset="vllm", baseline=str(bad)))


async def test_unreachable_feed_is_a_visible_error(clock: Clock) -> None:
    ep = EndpointConfig(name="e", metrics_url="http://127.0.0.1:9/m", preset="vllm",
                        records_url="http://127.0.0.1:9/records", timeout=1.0)
    tracker = RecordsTracker(ep, None, clock=clock)
    async with httpx.AsyncClient() as client:
        assert await tracker.poll(client) == 0
    view = tracker.evaluate()
    assert view.status == "error" and view.error and "127.0.0.1:9" in view.error
