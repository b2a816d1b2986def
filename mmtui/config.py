"""TOML configuration → frozen dataclasses.

Every error names the file, the key and what was expected (``ConfigError``).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmtui.alerts.rules import Rule, read_rules
from mmtui.names import PRESETS

if TYPE_CHECKING:
    from mmtui.alerts.channel_config import ChannelConfig


class ConfigError(ValueError):
    """A configuration problem; the message is one line naming file, key and what was expected."""


@dataclass(frozen=True, slots=True)
class GenericMetrics:
    """Metric family names for the ``generic`` preset (``[endpoints.metrics]`` in config)."""

    requests: str | None = None
    """Counter of requests (all outcomes, or successes when ``errors`` counts failures apart)."""
    errors: str | None = None
    """Counter of failed requests."""
    latency: str | None = None
    """Histogram or summary of request latency."""
    latency_unit: str = "s"
    """Unit of ``latency`` and ``queue``: s, ms or us."""
    queue: str | None = None
    """Histogram/summary of queue time, or a cumulative-duration counter."""
    inflight: str | None = None
    """Gauge of requests in flight."""
    model_label: str | None = None
    """Label that names the model, when the server hosts several."""
    requests_include_errors: bool = True
    """True when ``requests`` counts failures too (error_rate = errors / requests)."""


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    """One monitored endpoint (``[[endpoints]]``)."""

    name: str
    metrics_url: str
    """Empty for a ``source = "prometheus"`` endpoint that gives none (it is not scraped)."""
    preset: str = "generic"
    records_url: str | None = None
    baseline: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 5.0
    """Seconds for one scrape, connect included."""
    models: tuple[str, ...] = ()
    """Glob patterns on the model label; empty keeps every model."""
    generic: GenericMetrics | None = None
    target: str | None = None
    """Label column of a ``baseline`` given as validation data (CSV/NDJSON)."""
    prediction: str | None = None
    """Prediction column of a ``baseline`` given as validation data."""
    positive: str | None = None
    """Positive class for precision/recall/F1; default: the baseline's."""
    feature_names: tuple[str, ...] = ()
    """Names of positional inputs (KServe v1 ``instances`` lists) on the records feed."""
    window: int = 2000
    """Records kept for drift and quality (the last N)."""
    window_age: float | None = None
    """Also drop records older than this many seconds; None keeps the last ``window``."""
    source: str = "metrics"
    """``metrics``: scrape ``metrics_url``; ``prometheus``: query ``prometheus_url``
    (:mod:`mmtui.feeds.promsource`)."""
    prometheus_url: str | None = None
    """Base URL of a Prometheus-compatible API (``/api/v1/...`` is appended)."""
    selector: str | None = None
    """PromQL label selector of the endpoint's series, ``{job="...", ...}``."""
    scrape_interval: float = 15.0
    """Seconds between Prometheus' scrapes of these targets (sets the default rate window)."""
    rate_window: float | None = None
    """Seconds of the ``rate`` window; None: from ``scrape_interval`` and the poll interval."""
    backfill: float = 86400.0
    """Seconds of history read from Prometheus at start; 0 reads none."""


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """``[monitor]``."""

    interval: float = 2.0
    """Seconds between polls of one endpoint."""
    history: int = 1800
    """Points kept per (endpoint, model, metric) series in memory."""
    state: str | None = None
    """SQLite state file; None means the XDG state dir."""
    concurrency: int = 64
    """Most scrapes in flight at once."""
    max_body_bytes: int = 8 * 1024 * 1024
    """A metrics body larger than this is an error, not parsed."""
    theme: str | None = None
    drift_report_every: float | None = None
    """Seconds between scheduled drift reports (into the state dir's ``reports/``); None: only
    when a drift alert fires."""


@dataclass(frozen=True, slots=True)
class Config:
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    endpoints: tuple[EndpointConfig, ...] = ()
    rules: tuple[Rule, ...] = ()
    channels: tuple[ChannelConfig, ...] = ()
    keys: dict[str, str] = field(default_factory=dict)
    """``[keys]``: action id → keys, remapping the TUI's bindings (checked when the TUI starts)."""
    source: str | None = None
    """The file this was read from, if any."""


# --------------------------------------------------------------------------- loading

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def parse_duration(text: str | int | float) -> float:
    """Seconds from ``"250ms"``, ``"2s"``, ``"5m"``, ``"1h30m"``, ``"1d"`` or a number of seconds.

    >>> parse_duration("1h30m")
    5400.0
    >>> parse_duration(2)
    2.0
    """
    if isinstance(text, bool):
        raise ValueError(f"expected a duration like '30s', got {text!r}")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"expected a non-negative duration, got {text!r}")
        return float(text)
    s = text.strip()
    if not s:
        raise ValueError("expected a duration like '30s', got an empty string")
    try:
        value = float(s)
    except ValueError:
        pass
    else:
        if value < 0:
            raise ValueError(f"expected a non-negative duration, got {text!r}")
        return value
    total = 0.0
    pos = 0
    for m in re.finditer(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or pos == 0:
        raise ValueError(f"expected a duration like '250ms', '30s', '5m', '1h', got {text!r}")
    return total


class TableReader:
    """Typed access to one TOML table with errors that name the file and the dotted key."""

    def __init__(self, source: str, path: str, table: Mapping[str, Any], env: Mapping[str, str]):
        self.source = source
        self.path = path
        self.table = table
        self.env = env
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, expected: str) -> ConfigError:
        return ConfigError(f"{self.source}: {self.key(name)}: {expected}")

    def _get(self, name: str) -> Any:
        self.used.add(name)
        return self.table.get(name)

    def string(
        self, name: str, default: str | None = None, *, required: bool = False
    ) -> str | None:
        value = self._get(name)
        if value is None:
            if required:
                raise self.error(name, "is required (a string)")
            return default
        if not isinstance(value, str):
            raise self.error(name, f"expected a string, got {_describe(value)}")
        return self.expand(name, value)

    def req_str(self, name: str) -> str:
        value = self.string(name, required=True)
        assert value is not None
        if not value.strip():
            raise self.error(name, "must not be empty")
        return value

    def choice(self, name: str, choices: Sequence[str], default: str) -> str:
        value = self.string(name, default)
        assert value is not None
        if value not in choices:
            raise self.error(name, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def number(self, name: str, default: float, *, minimum: float | None = None) -> float:
        value = self._get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(name, f"expected a number, got {_describe(value)}")
        if minimum is not None and value < minimum:
            raise self.error(name, f"expected a number >= {minimum:g}, got {value!r}")
        return float(value)

    def integer(self, name: str, default: int, *, minimum: int = 1) -> int:
        value = self._get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(name, f"expected an integer, got {_describe(value)}")
        if value < minimum:
            raise self.error(name, f"expected an integer >= {minimum}, got {value}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self._get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(name, f"expected true or false, got {_describe(value)}")
        return value

    def duration(self, name: str, default: float, *, positive: bool = False) -> float:
        value = self._get(name)
        if value is None:
            return default
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise self.error(name, str(exc)) from None
        if positive and seconds <= 0:
            raise self.error(name, f"expected a duration > 0, got {value!r}")
        return seconds

    def str_list(self, name: str) -> tuple[str, ...]:
        value = self._get(name)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(name, f"expected a list of strings, got {_describe(value)}")
        return tuple(value)

    def str_map(self, name: str) -> dict[str, str]:
        value = self._get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(name, f"expected a table of strings, got {_describe(value)}")
        out: dict[str, str] = {}
        for k, v in value.items():
            if not isinstance(v, str):
                raise self.error(f"{name}.{k}", f"expected a string, got {_describe(v)}")
            out[k] = self.expand(f"{name}.{k}", v)
        return out

    def sub(self, name: str) -> TableReader | None:
        value = self._get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(name, f"expected a table, got {_describe(value)}")
        return TableReader(self.source, self.key(name), value, self.env)

    def expand(self, name: str, value: str) -> str:
        def repl(m: re.Match[str]) -> str:
            var = m.group(1)
            if var not in self.env:
                raise self.error(name, f"refers to ${{{var}}}, which is not set in the environment")
            return self.env[var]

        return _ENV_REF.sub(repl, value)

    def check_unknown(self, known: Collection[str] | None = None) -> None:
        allowed = set(known) if known is not None else self.used
        unknown = sorted(set(self.table) - allowed)
        if unknown:
            expected = ", ".join(sorted(allowed))
            raise self.error(unknown[0], f"unknown key (expected one of {expected})")


def _describe(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _tables(root: TableReader, name: str) -> list[TableReader]:
    value = root._get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise root.error(name, f"expected an array of tables ([[{name}]])")
    return [TableReader(root.source, f"{name}[{i}]", t, root.env) for i, t in enumerate(value)]


def _read_monitor(r: TableReader | None) -> MonitorConfig:
    if r is None:
        return MonitorConfig()
    d = MonitorConfig()
    cfg = MonitorConfig(
        interval=r.duration("interval", d.interval, positive=True),
        history=r.integer("history", d.history, minimum=2),
        state=r.string("state"),
        concurrency=r.integer("concurrency", d.concurrency),
        max_body_bytes=r.integer("max_body_bytes", d.max_body_bytes, minimum=1024),
        theme=r.string("theme"),
        drift_report_every=r.duration("drift_report_every", 0.0) or None,
    )
    r.check_unknown()
    return cfg


def _read_generic(r: TableReader | None) -> GenericMetrics | None:
    if r is None:
        return None
    g = GenericMetrics(
        requests=r.string("requests"),
        errors=r.string("errors"),
        latency=r.string("latency"),
        latency_unit=r.choice("latency_unit", ("s", "ms", "us"), "s"),
        queue=r.string("queue"),
        inflight=r.string("inflight"),
        model_label=r.string("model_label"),
        requests_include_errors=r.boolean("requests_include_errors", True),
    )
    r.check_unknown()
    return g


def _check_url(r: TableReader, name: str, url: str) -> None:
    if not re.match(r"^https?://[^/\s]+", url):
        raise r.error(name, f"expected an http:// or https:// URL, got {url!r}")


SOURCES: tuple[str, ...] = ("metrics", "prometheus")
_PROMETHEUS_KEYS = ("prometheus_url", "selector", "scrape_interval", "rate_window", "backfill")
_LABEL_MATCHER = re.compile(
    r"""\s*[A-Za-z_][A-Za-z0-9_]*\s*(?:=~|!~|!=|=)\s*"""
    r"""(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*"""
)


def _check_selector(r: TableReader, name: str, selector: str) -> None:
    """A PromQL label selector: ``{`` matchers ``label op "value"`` separated by commas ``}``."""
    text = selector.strip()
    expected = "expected a PromQL label selector like '{job=\"fraud-scorer\"}'"
    if not (text.startswith("{") and text.endswith("}")):
        raise r.error(name, f"{expected}, got {selector!r}")
    inner = text[1:-1].strip()
    if not inner:
        raise r.error(name, f"{expected} with at least one matcher, got {selector!r}")
    pos = 0
    while pos < len(inner):
        m = _LABEL_MATCHER.match(inner, pos)
        if m is None:
            raise r.error(name, f"{expected}; cannot read {inner[pos:]!r}")
        pos = m.end()
        if pos < len(inner):
            if inner[pos] != ",":
                raise r.error(name, f"{expected}; expected ',' before {inner[pos:]!r}")
            pos += 1


def _read_source(r: TableReader) -> tuple[str, str, dict[str, Any]]:
    """(source, metrics_url, the Prometheus keys) of an endpoint, cross-checked."""
    source = r.choice("source", SOURCES, "metrics")
    if source == "metrics":
        for key in _PROMETHEUS_KEYS:
            if key in r.table:
                raise r.error(key, "is only used with source = 'prometheus'")
        metrics_url = r.req_str("metrics_url")
        _check_url(r, "metrics_url", metrics_url)
        return source, metrics_url, {}
    metrics_url = r.string("metrics_url") or ""
    if metrics_url:
        _check_url(r, "metrics_url", metrics_url)
    for key in ("prometheus_url", "selector"):
        if r.table.get(key) is None:
            raise r.error(key, "is required with source = 'prometheus'")
    url = r.req_str("prometheus_url")
    _check_url(r, "prometheus_url", url)
    selector = r.req_str("selector")
    _check_selector(r, "selector", selector)
    scrape = r.duration("scrape_interval", 15.0, positive=True)
    window = r.duration("rate_window", 0.0) or None
    if window is not None and window < 2 * scrape:
        raise r.error("rate_window", f"expected at least 2 × scrape_interval ({2 * scrape:g}s): "
                                     "rate needs two samples in the window")
    return source, metrics_url, {
        "prometheus_url": url,
        "selector": selector,
        "scrape_interval": scrape,
        "rate_window": window,
        "backfill": r.duration("backfill", 86400.0),
    }


def _read_endpoint(r: TableReader) -> EndpointConfig:
    name = r.req_str("name")
    source, metrics_url, prometheus = _read_source(r)
    records_url = r.string("records_url")
    if records_url is not None and "://" in records_url:
        _check_url(r, "records_url", records_url)
    preset = r.choice("preset", PRESETS, "generic")
    generic = _read_generic(r.sub("metrics"))
    if preset == "generic" and (generic is None or generic.requests is None):
        raise r.error(
            "metrics", "preset 'generic' needs [endpoints.metrics] with at least 'requests'"
        )
    ep = EndpointConfig(
        name=name,
        metrics_url=metrics_url,
        preset=preset,
        records_url=records_url,
        baseline=r.string("baseline"),
        headers=r.str_map("headers"),
        timeout=r.duration("timeout", 5.0, positive=True),
        models=r.str_list("models"),
        generic=generic,
        target=r.string("target"),
        prediction=r.string("prediction"),
        positive=r.string("positive"),
        feature_names=r.str_list("feature_names"),
        window=r.integer("window", 2000, minimum=10),
        window_age=r.duration("window_age", 0.0, positive=False) or None,
        source=source,
        **prometheus,
    )
    r.check_unknown()
    return ep


def parse_config(
    text: str, *, source: str = "<config>", env: Mapping[str, str] | None = None
) -> Config:
    """Parse TOML text into a validated ``Config``; raises ``ConfigError``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    root = TableReader(source, "", data, os.environ if env is None else env)
    monitor = _read_monitor(root.sub("monitor"))
    endpoints = tuple(_read_endpoint(t) for t in _tables(root, "endpoints"))
    seen: set[str] = set()
    for i, ep in enumerate(endpoints):
        if ep.name in seen:
            raise ConfigError(f"{source}: endpoints[{i}].name: duplicate endpoint name {ep.name!r}")
        seen.add(ep.name)
    rules = read_rules(_tables(root, "rules"))
    from mmtui.alerts.channel_config import read_channels  # it imports this module

    channels = read_channels(_tables(root, "channels"))
    keys = root.str_map("keys")
    root.check_unknown(KNOWN_SECTIONS)
    return Config(
        monitor=monitor, endpoints=endpoints, rules=rules, channels=channels, keys=keys,
        source=source,
    )


KNOWN_SECTIONS: tuple[str, ...] = ("monitor", "endpoints", "rules", "channels", "keys")
"""Top-level sections; later issues add theirs here."""


def load_config(path: str | Path, *, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a config file; every problem is a one-line ``ConfigError``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read config: {exc}") from None
    return parse_config(text, source=str(p), env=env)
