"""Writing Prometheus text 0.0.4 the way each real client library writes it.

Three libraries, three number styles, copied from their source:

* Python ``prometheus_client`` (vLLM): ``floatToGoString``: ``repr`` of a float, switching to
  Go-style exponents sooner (``1.7710424574207425e+09``, even ``1.372014592e+010``).
* Java ``simpleclient`` (TorchServe): ``Double.toString``: ``3.0``, ``290371.129``, and
  ``1.2345678E7`` from ten million on.
* ``prometheus-cpp`` as Triton ships it: 16 significant digits, so integral counters print
  without a decimal point (``161``), and NaN prints as ``Nan``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence

import numpy as np

from mmtui.sim.models import FloatArray, IntArray

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = Sequence[tuple[str, str]]


def go_float(value: float) -> str:
    """A number as Python's prometheus_client writes it (``floatToGoString``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    s = repr(float(value))
    dot = s.find(".")
    if value > 0 and dot > 6:
        mantissa = f"{s[0]}.{s[1:dot]}{s[dot + 1:]}".rstrip("0.")
        return f"{mantissa}e+0{dot - 1}"
    return s


def java_double(value: float) -> str:
    """A number as Java's simpleclient writes it (``Double.toString``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    value = float(value)
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(value)
    for digits in range(17):
        text = f"{value:.{digits}e}"
        if float(text) == value:
            break
    mantissa, exponent = text.split("e")
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}E{int(exponent)}"


def cpp_double(value: float) -> str:
    """A number as Triton's prometheus-cpp writes it."""
    if math.isnan(value):
        return "Nan"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.16g}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Exposition:
    """Builds one scrape's text, family by family."""

    def __init__(self, number: Callable[[float], str], *, trailing_comma: bool = False) -> None:
        self._number = number
        self._comma = "," if trailing_comma else ""
        self._lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self._lines.append(f"# HELP {name} {help_text}")
        self._lines.append(f"# TYPE {name} {kind}")

    def sample(self, name: str, labels: Labels, value: float | str) -> None:
        text = value if isinstance(value, str) else self._number(value)
        if labels:
            body = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
            self._lines.append(f"{name}{{{body}{self._comma}}} {text}")
        else:
            self._lines.append(f"{name} {text}")

    def text(self) -> str:
        return "\n".join(self._lines) + "\n"


class Hist:
    """A cumulative histogram over fixed bucket bounds, fed whole arrays at a time.

    The ``_sum`` is kept as an integer count of ``1/scale`` units, so it is exact and the same
    however the observations were split into calls.
    """

    __slots__ = ("bounds", "counts", "scale", "_units")

    def __init__(self, bounds: Sequence[float], scale: float = 1e9) -> None:
        self.bounds = np.asarray(bounds, dtype=np.float64)
        self.counts = np.zeros(self.bounds.size + 1)
        """Observations per bucket (not cumulative); the last is above every bound."""
        self.scale = scale
        self._units = 0

    def observe(self, values: FloatArray, weights: FloatArray | None = None) -> None:
        """Observe every value (``weights[i]`` times each, when given: whole numbers)."""
        if values.size == 0:
            return
        # Prometheus buckets are upper-inclusive: v lands in the first bound with v <= le.
        where = np.searchsorted(self.bounds, values, side="left")
        self.counts += np.bincount(where, weights=weights, minlength=self.counts.size)
        units = np.rint(values * self.scale).astype(np.int64)
        if weights is not None:
            units = units * weights.astype(np.int64)
        self._units += int(units.sum())

    @property
    def count(self) -> float:
        return float(self.counts.sum())

    @property
    def total(self) -> float:
        """The ``_sum``."""
        return self._units / self.scale

    def cumulative(self) -> list[tuple[float, float]]:
        """``(le, cumulative count)`` per bucket, ending with ``(+inf, count)``."""
        running = np.cumsum(self.counts)
        les = [*self.bounds.tolist(), math.inf]
        return list(zip(les, running.tolist(), strict=True))


class Window:
    """Observations of the last ``span`` ticks, for summary quantiles over a sliding window."""

    def __init__(self, span: int, width: int) -> None:
        self.span = span
        self.width = width
        self._chunks: deque[tuple[IntArray, FloatArray]] = deque()

    def add(self, ticks: IntArray, rows: FloatArray) -> None:
        """Add observations: ``rows`` is ``(len(ticks), width)``, ``ticks`` ascending."""
        if ticks.size:
            self._chunks.append((ticks, rows))

    def prune(self, upto: int) -> None:
        """Forget what is older than the window ending at ``upto``."""
        low = upto - self.span
        while self._chunks and self._chunks[0][0][-1] < low:
            self._chunks.popleft()

    def quantiles(self, qs: Sequence[float], upto: int) -> FloatArray:
        """``(width, len(qs))`` quantiles of the window ending at ``upto``; NaN when empty."""
        if not self._chunks:
            return np.full((self.width, len(qs)), np.nan)
        ticks = np.concatenate([c[0] for c in self._chunks])
        rows = np.concatenate([c[1] for c in self._chunks])[ticks >= upto - self.span]
        if rows.shape[0] == 0:
            return np.full((self.width, len(qs)), np.nan)
        # Like CKMS, report observed values rather than interpolating between them.
        out: FloatArray = np.quantile(rows, qs, axis=0, method="inverted_cdf").T
        return out
