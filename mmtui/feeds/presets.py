"""Presets: which metric families feed each derived serving metric, per model server.

A preset names, for each standard figure, the families to read and how. ``derive`` does the
arithmetic (deltas, resets, quantiles); this module only says where the numbers are.

Family names are looked up robustly: ``x``, ``x_total``, and ``x`` without ``_total``, so a
counter is found whether the server wrote text 0.0.4 (``# TYPE x_total counter``) or OpenMetrics
(``# TYPE x counter`` with samples ``x_total``). A histogram or summary used as a counter counts
its ``_count`` series. Labels other than the model label (Triton ``version``, vLLM ``engine``,
BentoML ``endpoint``, replicas, routes…) are summed over.

Where several sources are listed for one figure (``latency``, ``queue``, ``errors``), each figure
comes from the first source present in the scrape that provides it: a histogram gives the mean
and the quantiles, a summary gives the mean (``_sum``/``_count``) and its own quantile gauges, a
cumulative-duration counter gives the mean only (Δduration / Δcount of its ``per`` counters).

Errors count server-side failures only: client errors (HTTP 4xx, validation, client
cancellation/abort) are traffic, not errors. ``error_rate`` is Δfailed / Δtotal of the first
:class:`ErrorRate` whose ``total`` families have samples. A missing ``failed`` family or series
counts as zero: labelled counters usually appear at their first increment (prometheus_client,
the Java simpleclient, Rust's ``metrics``), so no series yet means no failure yet.

========== ================================================================================
preset     sources (model label; units converted to ms)
========== ================================================================================
vllm       model ``model_name``. requests: ``vllm:request_success_total`` (every
           finished_reason: stop, length, abort…). errors: ``http_requests_total`` from the
           FastAPI instrumentator, ``method="POST"``, ``status`` 5xx over all POSTs (GETs are
           /v1/models and probes); server-wide (no model label), so per model only on a
           single-model server. Without the instrumentator: ``finished_reason="error"`` over
           all finished (vLLM ≥ 0.11 has that reason; ``abort`` is a client going away, not an
           error). A crashed engine answers 500 and finishes nothing, which only the HTTP
           counter sees; a stream that fails after its 200 header is seen by neither.
           latency: ``vllm:e2e_request_latency_seconds`` histogram (s). queue:
           ``vllm:request_queue_time_seconds`` histogram mean (s). inflight:
           ``vllm:num_requests_running`` + ``vllm:num_requests_waiting``.
triton     model ``model``. requests: ``nv_inference_request_success`` +
           ``nv_inference_request_failure``. errors: failures except ``reason="CANCELED"``
           over all requests. latency mean: ``nv_inference_request_duration_us`` /
           ``nv_inference_request_success`` (µs): Triton adds a request's duration to that
           counter on success only (cache hits included, as in the success count), while
           ``nv_inference_count`` counts inferences (a batch of 8 counts 8) and leaves cache
           hits out, so it is the wrong divisor. Quantiles: the
           ``nv_inference_request_summary_us`` summary when ``summary_latencies`` is on (µs;
           Triton's own sliding window, not the scrape interval). queue:
           ``nv_inference_queue_duration_us`` / success, else ``nv_inference_queue_summary_us``.
           inflight: ``nv_inference_pending_request_count`` (waiting for execution).
torchserve model ``model_name``. requests: ``ts_inference_requests_total``. latency mean:
           ``ts_inference_latency_microseconds`` / requests (µs); no quantiles. queue:
           ``ts_queue_latency_microseconds`` / requests (µs). errors: ``Requests5XX`` (host
           level, every API, no model label) over ``ts_inference_requests_total``, clamped to
           1; per model only on a single-model server. ``Requests2XX`` is not the
           denominator because health probes would dilute the rate. inflight: none.
tgi        no model label. requests: ``tgi_request_count`` (every outcome). errors:
           ``tgi_request_failure`` except ``err`` validation, cancelled, dropped (client
           side). latency: ``tgi_request_duration`` histogram (s). queue:
           ``tgi_request_queue_duration`` histogram (s). inflight: ``tgi_queue_size`` +
           ``tgi_batch_current_size``.
kserve     model ``model_name`` (KServe Python ModelServer). requests and latency:
           ``request_predict_seconds`` histogram (s), the predict step only (pre/post-process
           and explain are separate histograms). No error, queue or in-flight metric.
mlserver   model ``model``. requests: ``model_infer_request_success`` +
           ``model_infer_request_failure``; errors: failure over both. latency mean:
           ``model_infer_request_duration`` summary (s, no quantiles); quantiles:
           ``rest_server_request_duration_seconds`` histogram, paths ``*/infer`` (REST only,
           server-wide). inflight: ``rest_server_requests_in_progress`` on ``*/infer``.
           ``batch_request_queue``/``parallel_request_queue`` are queue sizes, not times, so
           there is no queue_ms.
bentoml    model ``service_name``. requests: ``bentoml_service_request_total``; errors: the
           same with ``http_response_code`` 5xx. latency:
           ``bentoml_service_request_duration_seconds`` histogram (s). inflight:
           ``bentoml_service_request_in_progress``. No queue metric.
rayserve   model ``application``. requests: ``ray_serve_num_http_requests_total`` +
           ``ray_serve_num_grpc_requests_total``; errors: HTTP ``status_code`` 5xx over HTTP
           requests (``ray_serve_num_http_error_requests_total`` counts every non-200, 404s
           too). latency: ``ray_serve_http_request_latency_ms`` histogram (ms), else
           ``ray_serve_deployment_processing_latency_ms``. inflight:
           ``ray_serve_replica_processing_queries`` + ``ray_serve_replica_pending_queries``,
           over every deployment of the application. No queue-time metric.
generic    the names in ``[endpoints.metrics]`` (:class:`mmtui.config.GenericMetrics`):
           ``requests`` (+ ``errors`` when ``requests_include_errors`` is false), ``errors``,
           ``latency`` and ``queue`` (histogram, summary, or cumulative-duration counter
           divided by requests) in ``latency_unit``, ``inflight`` gauge, ``model_label``.
========== ================================================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import translate

from mmtui.config import GenericMetrics
from mmtui.names import PRESETS

__all__ = ["ErrorRate", "Preset", "Select", "Timing", "get_preset"]

_UNIT_TO_MS = {"s": 1000.0, "ms": 1.0, "us": 0.001}
PROCESS_START = "process_start_time_seconds"
"""Read with every preset: a change means the server restarted (every counter reset)."""


def _compile(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple(
        (label, re.compile("|".join(f"(?:{translate(p)})" for p in pattern.split("|"))))
        for label, pattern in pairs
    )


@dataclass(frozen=True, slots=True)
class Select:
    """The series of one family, optionally narrowed by label globs.

    Patterns are ``fnmatch`` globs, ``|`` separating alternatives (``"5*"``,
    ``"validation|cancelled"``). A missing label matches as the empty string.
    """

    family: str
    where: tuple[tuple[str, str], ...] = ()
    """Every (label, glob) must match."""
    unless: tuple[tuple[str, str], ...] = ()
    """No (label, glob) may match."""
    server_wide: bool = False
    """The family carries no model label: its series describe the whole server."""
    _where: tuple[tuple[str, re.Pattern[str]], ...] = field(
        init=False, repr=False, compare=False, default=()
    )
    _unless: tuple[tuple[str, re.Pattern[str]], ...] = field(
        init=False, repr=False, compare=False, default=()
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_where", _compile(self.where))
        object.__setattr__(self, "_unless", _compile(self.unless))

    @property
    def filtered(self) -> bool:
        return bool(self._where or self._unless)

    def matches(self, labels: dict[str, str]) -> bool:
        """True when the sample's labels pass ``where`` and ``unless``."""
        for label, rx in self._where:
            if rx.match(labels.get(label, "")) is None:
                return False
        for label, rx in self._unless:
            if rx.match(labels.get(label, "")) is not None:
                return False
        return True


@dataclass(frozen=True, slots=True)
class ErrorRate:
    """``error_rate = Δfailed / Δtotal`` (``total`` counts every outcome)."""

    failed: tuple[Select, ...]
    total: tuple[Select, ...]


@dataclass(frozen=True, slots=True)
class Timing:
    """A duration source: histogram, summary, or cumulative-duration counter (by family type).

    A gauge (a last-request time such as TorchServe's ``QueueTime``) is no source: it gives None.
    """

    select: Select
    to_ms: float
    """Factor from the family's unit to milliseconds (s: 1000, µs: 0.001)."""
    per: tuple[Select, ...] = ()
    """For a cumulative-duration counter: the counters it is divided by (default: requests)."""


@dataclass(frozen=True, slots=True)
class Preset:
    """Where one model server's serving metrics come from (see the module docstring)."""

    name: str
    families: frozenset[str] | None
    """Family names to pass as ``parse(only=...)``; None means every family."""
    model_label: str | None
    """The label that names the model; None when the server serves one model unlabelled."""
    requests: tuple[Select, ...] = ()
    """Counters summed for throughput (every outcome)."""
    errors: tuple[ErrorRate, ...] = ()
    """Error-rate sources, first present wins."""
    latency: tuple[Timing, ...] = ()
    """Latency sources; each figure (mean, p50/p95/p99) from the first that provides it."""
    queue: tuple[Timing, ...] = ()
    """Queue-time sources; the mean per request from the first that provides it."""
    inflight: tuple[Select, ...] = ()
    """Gauges summed for requests in flight."""


def _names(family: str) -> tuple[str, ...]:
    base = family[:-6] if family.endswith("_total") else family
    return (base, base + "_total")


def _preset(
    name: str,
    model_label: str | None,
    *,
    requests: tuple[Select, ...] = (),
    errors: tuple[ErrorRate, ...] = (),
    latency: tuple[Timing, ...] = (),
    queue: tuple[Timing, ...] = (),
    inflight: tuple[Select, ...] = (),
) -> Preset:
    selects = [*requests, *inflight]
    for e in errors:
        selects += [*e.failed, *e.total]
    for t in (*latency, *queue):
        selects += [t.select, *t.per]
    families = {PROCESS_START}
    for s in selects:
        families.update(_names(s.family))
    return Preset(
        name, frozenset(families), model_label, requests, errors, latency, queue, inflight
    )


def _vllm() -> Preset:
    finished = Select("vllm:request_success_total")
    posts = (("method", "POST"),)
    http_5xx = Select("http_requests_total", where=(*posts, ("status", "5*")), server_wide=True)
    http_all = Select("http_requests_total", where=posts, server_wide=True)
    engine_error = Select("vllm:request_success_total", where=(("finished_reason", "error"),))
    return _preset(
        "vllm",
        "model_name",
        requests=(finished,),
        errors=(ErrorRate((http_5xx,), (http_all,)), ErrorRate((engine_error,), (finished,))),
        latency=(Timing(Select("vllm:e2e_request_latency_seconds"), 1000.0),),
        queue=(Timing(Select("vllm:request_queue_time_seconds"), 1000.0),),
        inflight=(Select("vllm:num_requests_running"), Select("vllm:num_requests_waiting")),
    )


def _triton() -> Preset:
    success = Select("nv_inference_request_success")
    failure = Select("nv_inference_request_failure")
    not_canceled = Select("nv_inference_request_failure", unless=(("reason", "CANCELED"),))
    return _preset(
        "triton",
        "model",
        requests=(success, failure),
        errors=(ErrorRate((not_canceled,), (success, failure)),),
        latency=(
            Timing(Select("nv_inference_request_duration_us"), 0.001, per=(success,)),
            Timing(Select("nv_inference_request_summary_us"), 0.001),
        ),
        queue=(
            Timing(Select("nv_inference_queue_duration_us"), 0.001, per=(success,)),
            Timing(Select("nv_inference_queue_summary_us"), 0.001),
        ),
        inflight=(Select("nv_inference_pending_request_count"),),
    )


def _torchserve() -> Preset:
    requests = Select("ts_inference_requests_total")
    return _preset(
        "torchserve",
        "model_name",
        requests=(requests,),
        errors=(ErrorRate(failed=(Select("Requests5XX", server_wide=True),), total=(requests,)),),
        latency=(Timing(Select("ts_inference_latency_microseconds"), 0.001, per=(requests,)),),
        queue=(Timing(Select("ts_queue_latency_microseconds"), 0.001, per=(requests,)),),
    )


def _tgi() -> Preset:
    requests = Select("tgi_request_count")
    client_side = (("err", "validation|cancelled|dropped"),)
    return _preset(
        "tgi",
        None,
        requests=(requests,),
        errors=(ErrorRate((Select("tgi_request_failure", unless=client_side),), (requests,)),),
        latency=(Timing(Select("tgi_request_duration"), 1000.0),),
        queue=(Timing(Select("tgi_request_queue_duration"), 1000.0),),
        inflight=(Select("tgi_queue_size"), Select("tgi_batch_current_size")),
    )


def _kserve() -> Preset:
    predict = Select("request_predict_seconds")
    return _preset(
        "kserve",
        "model_name",
        requests=(predict,),
        latency=(Timing(predict, 1000.0),),
    )


def _mlserver() -> Preset:
    success = Select("model_infer_request_success")
    failure = Select("model_infer_request_failure")
    infer = (("path", "*/infer"),)
    return _preset(
        "mlserver",
        "model",
        requests=(success, failure),
        errors=(ErrorRate(failed=(failure,), total=(success, failure)),),
        latency=(
            Timing(Select("model_infer_request_duration"), 1000.0),
            Timing(
                Select("rest_server_request_duration_seconds", where=infer, server_wide=True),
                1000.0,
            ),
        ),
        inflight=(Select("rest_server_requests_in_progress", where=infer, server_wide=True),),
    )


def _bentoml() -> Preset:
    requests = Select("bentoml_service_request_total")
    failed = Select("bentoml_service_request_total", where=(("http_response_code", "5*"),))
    return _preset(
        "bentoml",
        "service_name",
        requests=(requests,),
        errors=(ErrorRate((failed,), (requests,)),),
        latency=(Timing(Select("bentoml_service_request_duration_seconds"), 1000.0),),
        inflight=(Select("bentoml_service_request_in_progress"),),
    )


def _rayserve() -> Preset:
    http = Select("ray_serve_num_http_requests_total")
    http_5xx = Select("ray_serve_num_http_requests_total", where=(("status_code", "5*"),))
    return _preset(
        "rayserve",
        "application",
        requests=(http, Select("ray_serve_num_grpc_requests_total")),
        errors=(ErrorRate((http_5xx,), (http,)),),
        latency=(
            Timing(Select("ray_serve_http_request_latency_ms"), 1.0),
            Timing(Select("ray_serve_deployment_processing_latency_ms"), 1.0),
        ),
        inflight=(
            Select("ray_serve_replica_processing_queries"),
            Select("ray_serve_replica_pending_queries"),
        ),
    )


def _agent() -> Preset:
    """:mod:`mmtui.agent` with its default metric prefix ``mmtui``."""
    requests = Select("mmtui_requests_total")  # every outcome, errors included
    return _preset(
        "agent",
        "model",
        requests=(requests,),
        errors=(ErrorRate((Select("mmtui_request_errors_total"),), (requests,)),),
        latency=(Timing(Select("mmtui_request_duration_seconds"), 1000.0),),
        inflight=(Select("mmtui_requests_in_flight"),),
    )


def _generic(g: GenericMetrics | None) -> Preset:
    names = (g.requests, g.errors, g.latency, g.queue, g.inflight) if g is not None else ()
    if g is None or not any(names):
        raise ValueError(
            "preset 'generic' needs metric names: set [endpoints.metrics] requests "
            "(and errors, latency, queue, inflight as the server has them)"
        )
    to_ms = _UNIT_TO_MS.get(g.latency_unit)
    if to_ms is None:
        raise ValueError(
            f"latency_unit {g.latency_unit!r} is not one of {', '.join(_UNIT_TO_MS)}"
        )
    requests: tuple[Select, ...] = ()
    if g.requests:
        requests = (Select(g.requests),)
        if g.errors and not g.requests_include_errors:
            requests += (Select(g.errors),)
    errors = (ErrorRate((Select(g.errors),), requests),) if g.errors and requests else ()
    return _preset(
        "generic",
        g.model_label,
        requests=requests,
        errors=errors,
        latency=(Timing(Select(g.latency), to_ms),) if g.latency else (),
        queue=(Timing(Select(g.queue), to_ms),) if g.queue else (),
        inflight=(Select(g.inflight),) if g.inflight else (),
    )


_BUILT = {
    "vllm": _vllm(),
    "triton": _triton(),
    "torchserve": _torchserve(),
    "tgi": _tgi(),
    "kserve": _kserve(),
    "mlserver": _mlserver(),
    "bentoml": _bentoml(),
    "rayserve": _rayserve(),
    "agent": _agent(),
}


def get_preset(name: str, generic: GenericMetrics | None = None) -> Preset:
    """The preset called ``name``; ``generic`` is built from ``generic``'s family names.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones), or ``generic`` without names.
    """
    if name == "generic":
        return _generic(generic)
    preset = _BUILT.get(name)
    if preset is None:
        raise ValueError(f"unknown preset {name!r}: expected one of {', '.join(PRESETS)}")
    return preset
