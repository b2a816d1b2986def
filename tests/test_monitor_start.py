"""The live loop's start: the first cycle is shown before the stored history is loaded, and the
points polled meanwhile land after that history (series stay oldest first)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from mmtui.alerts.service import AlertService
from mmtui.alerts.state import Observation
from mmtui.alerts.store import Store
from mmtui.config import parse_config
from mmtui.monitor import Monitor
from mmtui.sim.server import SimServer
from mmtui.snapshot import Snapshot


async def test_first_cycle_shown_then_history_then_the_points_held_meanwhile(
    tmp_path: Path,
) -> None:
    server = SimServer(scenario="calm", seed=5)
    server.start()
    store = Store(tmp_path / "state.db")
    try:
        config = parse_config(server.config_toml(interval="0.3s"), env={})
        endpoint = config.endpoints[0].name
        now = time.time()
        old = [now - 600 + 10 * k for k in range(30)]  # ten minutes ago, every 10 s
        for t in old:
            store.add_history(t, [Observation(endpoint, None, "throughput_rps", 1.0)])
        store.flush()
        monitor = Monitor(config, alerts=AlertService(config, store=store),
                          reports_dir=tmp_path / "reports")
        seeded = monitor.seed_history
        loading: list[bool] = []

        async def seed_history(seconds: float = 86400.0) -> int:
            # The first cycle's figures were published before the history is read.
            loading.append(any(_up(s) for s in shown))
            return await seeded(seconds)

        monitor.seed_history = seed_history  # type: ignore[method-assign]
        shown: list[Snapshot] = []
        monitor.subscribe(shown.append)
        task = asyncio.create_task(monitor.run())
        try:
            for _ in range(1000):
                ring = monitor.buffers.ring(endpoint, None, "throughput_rps")
                if loading and ring is not None and len(ring.arrays()[0]) > len(old) + 2:
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("the history and two polls never reached the series")
        finally:
            task.cancel()
            async with asyncio.timeout(10):  # a monitor that ignores cancelling fails, not hangs
                await asyncio.gather(task, return_exceptions=True)
            await monitor.alerts.aclose()  # type: ignore[union-attr]
        assert loading == [True]
        times = ring.arrays()[0].tolist()
        assert times == sorted(times)  # the live points went after the history
        assert times[0] < now - 500 and times[-1] > now  # both are there
    finally:
        store.close()
        server.stop()


def _up(snapshot: Snapshot) -> bool:
    return bool(snapshot.rows) and all(r.status == "up" for r in snapshot.rows)
