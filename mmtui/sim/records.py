"""The inference log of one simulated endpoint, served by the records protocol.

The protocol (``GET <records_url>?after=<seq>&limit=<n>``, NDJSON lines with ``seq``) is
documented in :mod:`mmtui.feeds.records`. Here:

- Records arrive as a Poisson process at :meth:`Simulator.records_rate
  <mmtui.sim.simulator.Simulator.records_rate>`: the logged model's successful requests,
  sampled. Each is a line ``{"seq", "id", "ts", "features", "prediction"}`` drawn by the data
  set's generator (:mod:`mmtui.sim.datasets`) under the scenario's drift and concept strengths at
  its ``ts``; ``ts`` is the simulator's clock.
- Its label follows as a line ``{"seq", "id", "label"}`` after a delay drawn uniformly from the
  endpoint's ``label_delay`` (20–40 s by default).
- Lines get consecutive ``seq`` numbers from 1, in order of (tick, records before labels, record
  number). A request at tick ``k`` sees the lines of the ticks before ``k``, as a metrics scrape
  sees the requests before it.
- Determinism: ticks are grouped in blocks of :data:`BLOCK` ticks and each block is drawn with
  its own generator seeded by (seed, endpoint, block), so the body served at a tick depends only
  on seed, scenario, epoch and tick, never on when or how often the log was read.
- Memory: the last ``capacity`` lines are kept, none older than ``horizon`` seconds; records
  wait for their label for at most the longest delay. ``after`` older than the oldest kept line
  reads from the oldest kept line (what fell out is lost, as with a real bounded log).
- The log lives beside the model server: it keeps its records and ``seq`` numbers while the
  scenario has the server down (requests to it are dropped then, like the metrics').
"""

from __future__ import annotations

import json
import math
import threading
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mmtui.sim.datasets import LABEL, PREDICTION, Column, Dataset, Rows
from mmtui.sim.simulator import Simulator

CONTENT_TYPE = "application/x-ndjson"
BLOCK = 50
"""Ticks drawn with one generator (5 s at the default step)."""
DEFAULT_LIMIT = 1000
_STREAM = 0x7265_636F
"""Mixed into the seed of every records generator ("reco"), apart from the traffic's."""
_encode = json.JSONEncoder(separators=(",", ":")).encode

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
Scalar = float | int | str


class BadRequest(ValueError):
    """A query parameter is malformed; the server answers 400 with this message."""


@dataclass(frozen=True, slots=True)
class _Chunk:
    """The records of one block, with the ticks their lines are due."""

    first: int
    """Number of its first record (record numbers count from 0 over the stream's life)."""
    tick: IntArray
    label_tick: IntArray
    ts: list[float]
    features: list[tuple[str, list[Scalar]]]
    prediction: list[Scalar]
    label: list[Scalar]
    end: int
    """The block's end tick (exclusive)."""
    last_due: int
    """The last tick one of its lines is due (its end when it has no records)."""


def python_values(column: Column, decimals: int | None) -> list[Scalar]:
    """A column as JSON-ready values: ints for ``decimals == 0``, floats rounded, else text."""
    if decimals is None:
        return [str(v) for v in column.tolist()]
    if decimals == 0:
        return [int(v) for v in np.rint(column).astype(np.int64).tolist()]
    return [float(v) for v in (np.round(column.astype(np.float64), decimals) + 0.0).tolist()]


class RecordStream:
    """The records of endpoint ``name`` of ``sim``, as lines with ``seq`` numbers.

    Thread-safe: :meth:`serve` may be called from several request threads.

    Parameters
    ----------
    sim
        The simulator: seed, scenario, clock, and the records rate.
    name
        An endpoint whose spec has ``records``.
    capacity
        Most lines kept.
    horizon
        Seconds of lines kept.
    """

    def __init__(
        self, sim: Simulator, name: str, *, capacity: int = 10_000, horizon: float = 600.0
    ) -> None:
        spec = sim.spec(name)
        if spec.records is None:
            raise KeyError(f"endpoint {name!r} serves no inference records")
        if capacity < 1 or horizon <= 0:
            raise ValueError("capacity must be >= 1 and horizon > 0")
        self._sim = sim
        self._name = name
        self._index = [ep.name for ep in sim.endpoints].index(name)
        self._dataset: Dataset = spec.records.dataset
        low, high = spec.records.label_delay
        self._delay = (low / sim.clock.step, high / sim.clock.step)
        self._capacity = capacity
        self._horizon = max(1, round(horizon / sim.clock.step))
        self._run = f"{int(sim.clock.epoch) % 0x1000000:06x}"
        """Part of every id, so a restarted simulator never reissues an earlier run's ids."""
        self._lock = threading.Lock()
        self._emitted = sim.first_tick
        """Every line due before this tick has its ``seq``."""
        self._next_block = math.floor(sim.first_tick / BLOCK)
        self._records = 0
        self._chunks: list[_Chunk] = []
        self._seq = 0
        self._lines: list[bytes] = []
        self._line_ticks: list[int] = []

    def serve(self, tick: int, query: Mapping[str, str]) -> tuple[str, bytes]:
        """The records route (a :data:`~mmtui.sim.server.RecordsProvider`): ``after`` and
        ``limit`` from the query; :class:`BadRequest` when either is malformed."""
        after = _integer(query, "after", minimum=0)
        limit = _integer(query, "limit", minimum=1)
        lines = self.lines(tick, after, DEFAULT_LIMIT if limit is None else limit)
        return CONTENT_TYPE, b"".join(lines)

    def lines(self, tick: int, after: int | None = None, limit: int = DEFAULT_LIMIT) -> list[bytes]:
        """The lines with ``seq > after`` seen at ``tick``, oldest first, at most ``limit``.

        ``after`` None, or beyond the last ``seq`` issued, reads from the oldest line kept.
        """
        with self._lock:
            self._advance(tick)
            first = self._seq - len(self._lines) + 1
            start = 0 if after is None or after > self._seq else max(0, after + 1 - first)
            return self._lines[start : start + limit]

    def _advance(self, tick: int) -> None:
        """Issue every line due before ``tick`` (no-op for a tick already past)."""
        keep_from = tick - self._horizon
        while self._emitted < tick:
            upto = min(tick, (math.floor(self._emitted / BLOCK) + 1) * BLOCK)
            while self._next_block * BLOCK < upto:
                self._chunks.append(self._draw(self._next_block))
                self._next_block += 1
            self._emit(self._emitted, upto, keep_from)
            self._emitted = upto
            self._chunks = [c for c in self._chunks if c.end > upto or c.last_due >= upto]
        cut = max(len(self._lines) - self._capacity, bisect_left(self._line_ticks, keep_from))
        if cut > 0:
            del self._lines[:cut], self._line_ticks[:cut]

    def _draw(self, block: int) -> _Chunk:
        """The records of the ticks of ``block`` (from the stream's first tick on)."""
        sim = self._sim
        step = sim.clock.step
        start = max(block * BLOCK, sim.first_tick)
        ticks = np.arange(start, (block + 1) * BLOCK, dtype=np.int64)
        rng = np.random.default_rng([sim.seed, self._index, _STREAM, block + 2**31])
        counts = rng.poisson(sim.records_rate(self._name, ticks.astype(np.float64) * step) * step)
        tick = np.repeat(ticks, counts)
        moment = tick + rng.random(tick.size)
        drift, concept = sim.scenario.shift(self._name, moment * step)
        rows = self._dataset.generate(rng, drift, concept)
        delay = np.ceil(rng.uniform(*self._delay, size=tick.size)).astype(np.int64)
        label_tick = tick + np.maximum(delay, 1)
        first, self._records = self._records, self._records + tick.size
        end = int(ticks[-1]) + 1
        return _Chunk(
            first=first,
            tick=tick,
            label_tick=label_tick,
            ts=np.round(sim.clock.epoch + moment * step, 3).tolist(),
            features=self._columns(rows),
            prediction=python_values(rows.prediction, self._dataset.decimals.get(PREDICTION)),
            label=python_values(rows.label, self._dataset.decimals.get(LABEL)),
            end=end,
            last_due=int(label_tick.max()) if tick.size else end,
        )

    def _columns(self, rows: Rows) -> list[tuple[str, list[Scalar]]]:
        decimals = self._dataset.decimals
        return [(name, python_values(col, decimals.get(name)))
                for name, col in rows.features.items()]

    def _emit(self, start: int, upto: int, keep_from: int) -> None:
        """Give ``seq`` numbers to the lines due in ticks ``[start, upto)``; keep the lines of
        ticks from ``keep_from`` on."""
        due: list[tuple[int, int, int, _Chunk, int]] = []
        for chunk in self._chunks:
            for kind, ticks in ((0, chunk.tick), (1, chunk.label_tick)):
                for i in np.flatnonzero((ticks >= start) & (ticks < upto)).tolist():
                    due.append((int(ticks[i]), kind, chunk.first + i, chunk, i))
        due.sort(key=lambda d: (d[0], d[1], d[2]))
        for tick, kind, number, chunk, i in due:
            self._seq += 1
            if tick < keep_from:
                continue
            rid = f"{self._dataset.id_prefix}-{self._run}-{number}"
            if kind == 0:
                line = {
                    "seq": self._seq,
                    "id": rid,
                    "ts": chunk.ts[i],
                    "features": {name: values[i] for name, values in chunk.features},
                    "prediction": chunk.prediction[i],
                }
            else:
                line = {"seq": self._seq, "id": rid, "label": chunk.label[i]}
            self._lines.append(_encode(line).encode() + b"\n")
            self._line_ticks.append(tick)


def _integer(query: Mapping[str, str], name: str, *, minimum: int) -> int | None:
    text = query.get(name)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise BadRequest(f"query parameter {name!r}: expected an integer >= {minimum}, "
                         f"got {text[:40]!r}")
    return value
