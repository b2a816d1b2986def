"""Config: TOML → frozen dataclasses; errors name the file, the key and what was expected."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mmtui.config import ConfigError, load_config, parse_config, parse_duration
from mmtui.paths import config_candidates, find_config

GOOD = """
[monitor]
interval = "2s"
history = 600
state = "/tmp/x/state.db"

[[endpoints]]
name = "fraud-scorer"
metrics_url = "http://127.0.0.1:9100/models/fraud-scorer/metrics"
records_url = "http://127.0.0.1:9100/models/fraud-scorer/records"
preset = "triton"
models = ["fraud-*"]
timeout = "1500ms"
headers = { Authorization = "Bearer ${FRAUD_TOKEN}" }

[[endpoints]]
name = "custom"
metrics_url = "https://models.internal/metrics"
preset = "generic"
[endpoints.metrics]
requests = "app_requests_total"
errors = "app_errors_total"
latency = "app_latency_seconds"

[[rules]]
name = "p95 latency"
metric = "latency_p95_ms"
op = ">"
threshold = 250
for = "30s"
endpoint = "*"
severity = "critical"
"""


def test_good_config_parses_into_frozen_dataclasses() -> None:
    cfg = parse_config(GOOD, source="m.toml", env={"FRAUD_TOKEN": "s3cret"})
    assert cfg.monitor.interval == 2.0
    assert cfg.monitor.history == 600
    assert cfg.monitor.state == "/tmp/x/state.db"
    fraud, custom = cfg.endpoints
    assert fraud.preset == "triton"
    assert fraud.headers == {"Authorization": "Bearer s3cret"}
    assert fraud.timeout == 1.5
    assert fraud.models == ("fraud-*",)
    assert custom.generic is not None and custom.generic.latency == "app_latency_seconds"
    (rule,) = cfg.rules
    assert (rule.metric, rule.op, rule.threshold, rule.for_) == ("latency_p95_ms", ">", 250, 30.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.monitor.interval = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[monitor]\ninterval = 'soon'", "monitor.interval: expected a duration"),
        ("[monitor]\ninterval = 0", "monitor.interval: expected a duration > 0"),
        ("[monitor]\nhistory = 'many'", "monitor.history: expected an integer"),
        ("[monitor]\nintervall = '2s'", "monitor.intervall: unknown key"),
        ("[[endpoints]]\nmetrics_url = 'http://a'", "endpoints[0].name: is required"),
        (
            "[[endpoints]]\nname = 'a'\nmetrics_url = 'ftp://a'",
            "endpoints[0].metrics_url: expected",
        ),
        (
            "[[endpoints]]\nname = 'a'\nmetrics_url = 'http://a'\npreset = 'sagemaker'",
            "endpoints[0].preset: expected one of vllm, triton",
        ),
        (
            "[[endpoints]]\nname = 'a'\nmetrics_url = 'http://a'\npreset = 'vllm'\n"
            "headers = { X = '${NOT_SET_ANYWHERE}' }",
            "endpoints[0].headers.X: refers to ${NOT_SET_ANYWHERE}, which is not set",
        ),
        (
            "[[endpoints]]\nname = 'a'\nmetrics_url = 'http://a'\n",
            "endpoints[0].metrics: preset 'generic' needs",
        ),
        (
            "[[endpoints]]\nname = 'a'\nmetrics_url = 'http://a'\npreset = 'vllm'\n"
            "[[endpoints]]\nname = 'a'\nmetrics_url = 'http://b'\npreset = 'vllm'\n",
            "endpoints[1].name: duplicate endpoint name 'a'",
        ),
        (
            "[[rules]]\nname = 'r'\nmetric = 'latency_p96'\nthreshold = 1",
            "rules[0].metric: rule 'r': unknown metric 'latency_p96'",
        ),
        ("[[rules]]\nname = 'r'\nmetric = 'error_rate'", "rules[0].threshold: rule 'r': expected"),
        (
            "[[rules]]\nname = 'r'\nmetric = 'error_rate'\nthreshold = 1\nfor = '5 minutes'",
            "rules[0].for: expected a duration",
        ),
        (
            "[[rules]]\nname = 'r'\nmetric = 'error_rate'\nthreshold = 1\nop = '=='",
            "rules[0].op: expected one of >, >=, <, <=",
        ),
        ("[monitorr]\n", "monitorr: unknown key"),
        ("endpoints = 3", "endpoints: expected an array of tables"),
        ("[monitor\n", "not valid TOML"),
    ],
)
def test_errors_name_file_key_and_expectation(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="conf.toml", env={})
    message = str(err.value)
    assert message.startswith("conf.toml: ")
    assert fragment in message
    assert "\n" not in message


def test_secret_values_never_appear_in_errors() -> None:
    text = (
        "[[endpoints]]\nname = 'a'\nmetrics_url = 'http://a'\npreset = 'vllm'\n"
        "headers = { Authorization = 'Bearer ${TOKEN}' }\ntimeout = 'x'\n"
    )
    with pytest.raises(ConfigError) as err:
        parse_config(text, env={"TOKEN": "hunter2"})
    assert "hunter2" not in str(err.value)


def test_load_config_missing_and_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe[monitor]")
    with pytest.raises(ConfigError, match="bad.toml: cannot read config"):
        load_config(bad)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("250ms", 0.25), ("2s", 2.0), ("5m", 300.0), ("1h30m", 5400.0), ("1d", 86400.0), ("1.5", 1.5),
     (3, 3.0)],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 m", "m5", "-1s", "1x", "1h 30m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_search_order(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "MMTUI_CONFIG": str(tmp_path / "env.toml")}
    origins = [c.origin for c in config_candidates("cli.toml", env=env, cwd=tmp_path)]
    assert origins == ["--config", "$MMTUI_CONFIG", "./mmtui.toml", "XDG config dir"]

    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert find_config(env=env, cwd=tmp_path) is None
    xdg = tmp_path / "xdg" / "mmtui" / "mmtui.toml"
    xdg.parent.mkdir(parents=True)
    xdg.write_text("")
    found = find_config(env=env, cwd=tmp_path)
    assert found is not None and found.origin == "XDG config dir"
    (tmp_path / "mmtui.toml").write_text("")
    found = find_config(env=env, cwd=tmp_path)
    assert found is not None and found.origin == "./mmtui.toml"
    # An explicit path wins even when missing, so the caller can report it.
    found = find_config("missing.toml", env=env, cwd=tmp_path)
    assert found is not None and found.origin == "--config"


def test_keys_section_remaps_by_binding_id() -> None:
    cfg = parse_config('[keys]\nack = "A"\nquit = "q,ctrl+q"\n', env={})
    assert cfg.keys == {"ack": "A", "quit": "q,ctrl+q"}
    with pytest.raises(ConfigError, match=r"keys\.ack: expected a string"):
        parse_config("[keys]\nack = 1\n", source="k.toml", env={})


PROMETHEUS = """
[[endpoints]]
name = "fraud-scorer"
preset = "triton"
source = "prometheus"
prometheus_url = "https://thanos.internal/prometheus"
selector = '{job="triton", namespace=~"fraud-.*",}'
scrape_interval = "30s"
backfill = "6h"
headers = { Authorization = "Bearer ${PROM_TOKEN}" }
"""


def test_prometheus_source_endpoint() -> None:
    cfg = parse_config(PROMETHEUS, source="m.toml", env={"PROM_TOKEN": "t0ken"})
    (ep,) = cfg.endpoints
    assert (ep.source, ep.prometheus_url) == ("prometheus", "https://thanos.internal/prometheus")
    assert ep.selector == '{job="triton", namespace=~"fraud-.*",}'
    assert ep.metrics_url == ""  # not scraped: not required
    assert (ep.scrape_interval, ep.rate_window, ep.backfill) == (30.0, None, 21600.0)
    assert ep.headers == {"Authorization": "Bearer t0ken"}
    direct = parse_config(GOOD, env={"FRAUD_TOKEN": "x"}).endpoints[0]
    assert (direct.source, direct.prometheus_url, direct.selector) == ("metrics", None, None)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (("prometheus_url = \"https://thanos.internal/prometheus\"\n", ""),
         "endpoints[0].prometheus_url: is required with source = 'prometheus'"),
        (("selector = '{job=\"triton\", namespace=~\"fraud-.*\",}'\n", ""),
         "endpoints[0].selector: is required with source = 'prometheus'"),
        (("https://thanos", "ftp://thanos"),
         "endpoints[0].prometheus_url: expected an http:// or https:// URL"),
        (("source = \"prometheus\"", "source = \"graphite\""),
         "endpoints[0].source: expected one of metrics, prometheus, got 'graphite'"),
        (("'{job=\"triton\", namespace=~\"fraud-.*\",}'", "'job=\"triton\"'"),
         "endpoints[0].selector: expected a PromQL label selector like '{job=\"fraud-scorer\"}',"
         " got 'job=\"triton\"'"),
        (("'{job=\"triton\", namespace=~\"fraud-.*\",}'", "'up{job=\"triton\"}'"),
         "endpoints[0].selector: expected a PromQL label selector"),
        (("'{job=\"triton\", namespace=~\"fraud-.*\",}'", "' { } '"),
         "endpoints[0].selector: expected a PromQL label selector like '{job=\"fraud-scorer\"}'"
         " with at least one matcher"),
        (("'{job=\"triton\", namespace=~\"fraud-.*\",}'", "'{job=\"triton\" env=\"prod\"}'"),
         "endpoints[0].selector: expected a PromQL label selector like '{job=\"fraud-scorer\"}'; "
         "expected ',' before 'env=\"prod\"'"),
        (("'{job=\"triton\", namespace=~\"fraud-.*\",}'", "'{job=triton}'"),
         "cannot read 'job=triton'"),
        (("'{job=\"triton\", namespace=~\"fraud-.*\",}'", "'{job==\"x\"}'"), "cannot read"),
        (("scrape_interval = \"30s\"", "scrape_interval = \"30s\"\nrate_window = \"45s\""),
         "endpoints[0].rate_window: expected at least 2 × scrape_interval (60s)"),
        (("scrape_interval = \"30s\"", "scrape_interval = 0"),
         "endpoints[0].scrape_interval: expected a duration > 0"),
        (("source = \"prometheus\"\n", ""),
         "endpoints[0].prometheus_url: is only used with source = 'prometheus'"),
        (("preset = \"triton\"", "preset = \"generic\""),
         "endpoints[0].metrics: preset 'generic' needs"),
        (("${PROM_TOKEN}", "${NO_SUCH_TOKEN}"),
         "endpoints[0].headers.Authorization: refers to ${NO_SUCH_TOKEN}, which is not set"),
    ],
)
def test_prometheus_source_errors(change: tuple[str, str], fragment: str) -> None:
    old, new = change
    assert old in PROMETHEUS
    with pytest.raises(ConfigError) as err:
        parse_config(PROMETHEUS.replace(old, new), source="p.toml", env={"PROM_TOKEN": "t0ken"})
    message = str(err.value)
    assert message.startswith("p.toml: ") and "\n" not in message
    assert fragment in message
    assert "t0ken" not in message


def test_metrics_source_still_needs_metrics_url() -> None:
    with pytest.raises(ConfigError, match=r"endpoints\[0\]\.metrics_url: is required"):
        parse_config("[[endpoints]]\nname = 'a'\npreset = 'vllm'\n", env={})
    with pytest.raises(ConfigError, match=r"endpoints\[0\]\.selector: is only used with"):
        parse_config("[[endpoints]]\nname = 'a'\npreset = 'vllm'\nmetrics_url = 'http://a'\n"
                     "selector = '{job=\"a\"}'\n", env={})
