"""A vLLM v1 OpenAI-compatible server's ``/metrics``, as it writes them.

``vllm:`` families labelled ``engine`` and ``model_name`` (label names sorted, ``le`` among
them), a ``*_created`` gauge family after every counter and histogram, the process metrics of
prometheus_client, and the ``http_*`` families of prometheus-fastapi-instrumentator, where a
failed chat completion is ``status="5xx"``. A crashed engine step answers 500 and finishes
nothing, so failures show only in ``http_*``. Series appear when first used, as in the library.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from mmtui.sim.exposition import Exposition, Hist, Labels, go_float
from mmtui.sim.models import (
    BoolArray,
    Clock,
    EndpointSpec,
    FloatArray,
    IntArray,
    Moment,
    Requests,
)

LOAD_SECONDS = 41.3
"""Process start → engine ready (weights, CUDA graphs)."""
PROBE_SECONDS = 5.0
"""A load balancer's ``GET /v1/models`` health probe."""
ABORT = 0.003
"""Fraction of requests the client abandons (``finished_reason="abort"``)."""
PREFIX_HIT = 0.35
GPU_BLOCKS = 8192
BLOCK_SIZE = 16

_LATENCY = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0,
            120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0)
_TTFT = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
         10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)
_TPOT = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
         10.0, 20.0, 40.0, 80.0)
_TOKENS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0)
_HIGHR = (0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0,
          4.5, 5.0, 7.5, 10.0, 30.0, 60.0)
_HANDLER = (0.1, 0.5, 1.0)

_HISTS: tuple[tuple[str, str, tuple[float, ...]], ...] = (
    ("request_prompt_tokens", "Number of prefill tokens processed.", _TOKENS),
    ("request_generation_tokens", "Number of generation tokens processed.", _TOKENS),
    ("time_to_first_token_seconds", "Histogram of time to first token in seconds.", _TTFT),
    ("time_per_output_token_seconds", "Histogram of time per output token in seconds.", _TPOT),
    ("e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", _LATENCY),
    ("request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.",
     _LATENCY),
    ("request_inference_time_seconds",
     "Histogram of time spent in RUNNING phase for request.", _LATENCY),
    ("request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.",
     _LATENCY),
    ("request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.",
     _LATENCY),
)
_CHAT = ("/v1/chat/completions", "POST")
_MODELS = ("/v1/models", "GET")
_FASTAPI = {
    "requests": "Total number of requests by method, status and handler.",
    "request_size": "Content length of incoming requests by handler. Only value of header is "
    "respected. Otherwise ignored. No percentile calculated. ",
    "response_size": "Content length of outgoing responses by handler. Only value of header is "
    "respected. Otherwise ignored. No percentile calculated. ",
    "highr": "Latency with many buckets but no API specific labels. Made for more accurate "
    "percentile calculations. ",
    "duration": "Latency with only few buckets by handler. Made to be only used if aggregation "
    "by handler is important. ",
}


def request_latency(req: Requests) -> FloatArray:
    """End-to-end seconds of each request that finished (``vllm:e2e_request_latency_seconds``)."""
    return _phases(req, ~req.failed)[3]


def _phases(
    req: Requests, ok: BoolArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Queue, prefill, decode and end-to-end seconds of the requests selected by ``ok``."""
    queue = req.queue[ok]
    prefill = (0.004 + req.prompt[ok] * 4e-5) * req.slowdown[ok]
    decode = (req.output[ok] - 1.0) * req.service[ok]
    return queue, prefill, decode, queue + prefill + decode + 0.002


def _sorted(labels: Labels) -> Labels:
    return sorted(labels)


class VllmState:
    """Everything a vLLM server has counted since its process started."""

    def __init__(self, spec: EndpointSpec, clock: Clock, first_tick: int) -> None:
        self.spec = spec
        self.model = spec.models[0]
        self.clock = clock
        self.first_tick = first_tick
        self.ready = clock.at(first_tick)
        self.started = round(self.ready - LOAD_SECONDS, 2)
        self.hists = {name: Hist(bounds, 1.0 if "tokens" in name else 1e9)
                      for name, _, bounds in _HISTS}
        self.counts = dict.fromkeys(
            ("prompt", "generation", "stop", "length", "abort", "queries", "hits"), 0.0
        )
        self.http: dict[tuple[str, str, str], float] = {}
        self.first_seen: dict[tuple[str, str, str], int] = {}
        self.durations: dict[tuple[str, str], Hist] = {}
        self.sizes: dict[str, list[float]] = {}
        """handler → [request count, request bytes, response count, response bytes]."""
        self.highr = Hist(_HIGHR)

    def absorb(self, index: int, req: Requests) -> None:
        failed = req.failed
        ok = ~failed
        queue, prefill, decode, e2e = _phases(req, ok)
        output = req.output[ok]
        h = self.hists
        h["request_prompt_tokens"].observe(req.prompt[ok])
        h["request_generation_tokens"].observe(output)
        h["time_to_first_token_seconds"].observe(queue + prefill)
        h["time_per_output_token_seconds"].observe(req.service[ok], output - 1.0)
        h["e2e_request_latency_seconds"].observe(e2e)
        h["request_queue_time_seconds"].observe(queue)
        h["request_inference_time_seconds"].observe(prefill + decode)
        h["request_prefill_time_seconds"].observe(prefill)
        h["request_decode_time_seconds"].observe(decode)
        abort = req.outcome[ok] < req.failure[ok] + ABORT
        length = ~abort & (output >= self.model.max_tokens)
        c = self.counts
        c["abort"] += float(abort.sum())
        c["length"] += float(length.sum())
        c["stop"] += float((~abort & ~length).sum())
        c["prompt"] += float(req.prompt[ok].sum())
        c["generation"] += float(output.sum())
        c["queries"] += float(req.prompt[ok].sum())
        c["hits"] += float(np.floor(req.prompt[ok] * PREFIX_HIT).sum())
        self._http(_CHAT, "2xx", req.tick[ok])
        self._http(_CHAT, "5xx", req.tick[failed])
        seconds = np.concatenate([e2e + 0.0015, 0.02 + req.queue[failed]])
        self._timed(_CHAT, seconds, 180.0 + 4.0 * req.prompt, 0.0)

    def elapse(self, start: int, upto: int) -> None:
        every = max(1, round(PROBE_SECONDS / self.clock.step))
        low = max(start, self.first_tick)
        first = -(-low // every) * every
        probes: IntArray = np.arange(first, upto, every, dtype=np.int64)
        self._http(_MODELS, "2xx", probes)
        self._timed(_MODELS, np.full(probes.size, 0.0012), np.zeros(probes.size), 512.0)

    def _http(self, route: tuple[str, str], status: str, ticks: IntArray) -> None:
        if ticks.size == 0:
            return
        key = (route[0], route[1], status)
        self.http[key] = self.http.get(key, 0.0) + ticks.size
        self.first_seen[key] = min(self.first_seen.get(key, int(ticks[0])), int(ticks[0]))

    def _timed(
        self, route: tuple[str, str], seconds: FloatArray, sizes: FloatArray, response: float
    ) -> None:
        if seconds.size == 0:
            return
        self.highr.observe(seconds)
        self.durations.setdefault(route, Hist(_HANDLER)).observe(seconds)
        s = self.sizes.setdefault(route[0], [0.0, 0.0, 0.0, 0.0])
        s[0] += seconds.size
        s[1] += float(sizes.sum())
        s[2] += seconds.size
        s[3] += response * seconds.size

    def _created_at(self, route: tuple[str, ...]) -> float:
        ticks = [t for k, t in self.first_seen.items() if k[: len(route)] == route]
        return self.clock.at(min(ticks)) + 0.0123

    def render(self, moment: Moment) -> str:
        w = Exposition(go_float)
        m = self.model
        ids: Labels = (("engine", "0"), ("model_name", m.name))
        created = iter(self.ready - 0.35 + 3.1e-5 * i for i in range(64))
        served = sum(self.http.values())
        w.family("python_info", "gauge", "Python platform information")
        w.sample("python_info", (("implementation", "CPython"), ("major", "3"), ("minor", "12"),
                                 ("patchlevel", "3"), ("version", "3.12.3")), 1.0)
        for name, kind, text, value in (
            ("virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", 1.372014592e10),
            ("resident_memory_bytes", "gauge", "Resident memory size in bytes.", 1.109622784e09),
            ("start_time_seconds", "gauge",
             "Start time of the process since unix epoch in seconds.", self.started),
            ("cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
             0.9 * LOAD_SECONDS + 0.004 * served + 0.03 * (moment.now - self.ready)),
            ("open_fds", "gauge", "Number of open file descriptors.", 44.0),
            ("max_fds", "gauge", "Maximum number of open file descriptors.", 65535.0),
        ):
            w.family(f"process_{name}", kind, text)
            w.sample(f"process_{name}", (), value)
        rng, load, slow = moment.rng, moment.load[0], moment.slowdown[0]
        running = min(256, int(rng.poisson(load * (m.latency_ms / 1e3 * m.output_tokens * slow))))
        waiting = int(rng.poisson(load * m.queue_ms / 1e3 * slow**2 * 1.5))
        tokens = running * (m.prompt_tokens + m.output_tokens / 2) + rng.uniform(0, 64)
        kv = min(1.0, tokens / (GPU_BLOCKS * BLOCK_SIZE))
        c = self.counts
        gauges = (
            ("num_requests_running", "Number of requests in model execution batches.", running),
            ("num_requests_waiting", "Number of requests waiting to be processed.", waiting),
            ("gpu_cache_usage_perc", "GPU KV-cache usage. 1 means 100 percent usage."
             "DEPRECATED: Use vllm:kv_cache_usage_perc instead.", kv),
        )
        for name, text, value in gauges:
            w.family(f"vllm:{name}", "gauge", text)
            w.sample(f"vllm:{name}", ids, float(value))
        deprecated = " DEPRECATED: Use vllm:prefix_cache_{} instead."
        counters = (
            ("gpu_prefix_cache_queries", "GPU prefix cache queries, in terms of number of "
             "queriedtokens." + deprecated.format("queries"), c["queries"]),
            ("gpu_prefix_cache_hits", "GPU prefix cache hits, in terms of number of cached "
             "tokens." + deprecated.format("hits"), c["hits"]),
        )
        for name, text, value in counters:
            _counter(w, f"vllm:{name}", text, [(ids, value)], created)
        w.family("vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.")
        w.sample("vllm:kv_cache_usage_perc", ids, kv)
        for name, text, value in (
            ("prefix_cache_queries",
             "Prefix cache queries, in terms of number of queried tokens.", c["queries"]),
            ("prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.",
             c["hits"]),
            ("num_preemptions", "Cumulative number of preemption from the engine.", 0.0),
            ("prompt_tokens", "Number of prefill tokens processed.", c["prompt"]),
            ("generation_tokens", "Number of generation tokens processed.", c["generation"]),
        ):
            _counter(w, f"vllm:{name}", text, [(ids, value)], created)
        finished = [(_sorted((*ids, ("finished_reason", r))), c[r])
                    for r in ("stop", "length", "abort")]
        _counter(w, "vllm:request_success", "Count of successfully processed requests.",
                 finished, created)
        for name, text, _ in _HISTS:
            _histogram(w, f"vllm:{name}", text, [(ids, self.hists[name], next(created))])
        self._render_cache_info(w)
        self._render_http(w)
        return w.text()

    def _render_cache_info(self, w: Exposition) -> None:
        w.family("vllm:cache_config_info", "gauge", "Information of the LLMEngine CacheConfig")
        info = (
            ("block_size", str(BLOCK_SIZE)), ("cache_dtype", "auto"),
            ("calculate_kv_scales", "False"), ("cpu_offload_gb", "0.0"),
            ("enable_prefix_caching", "True"), ("engine", "0"),
            ("gpu_memory_utilization", "0.9"), ("is_attention_free", "False"),
            ("num_gpu_blocks", str(GPU_BLOCKS)), ("num_gpu_blocks_override", "None"),
            ("prefix_caching_hash_algo", "builtin"), ("sliding_window", "None"),
            ("swap_space", "4.0"), ("swap_space_bytes", "4294967296.0"),
        )
        w.sample("vllm:cache_config_info", info, 1.0)

    def _render_http(self, w: Exposition) -> None:
        keys = sorted(self.http, key=lambda k: (self.first_seen[k], k))
        if not keys:
            return
        routes = list(dict.fromkeys((k[0], k[1]) for k in keys))
        series = [((("handler", k[0]), ("method", k[1]), ("status", k[2])), self.http[k])
                  for k in keys]
        stamps = iter(self._created_at(k) for k in keys)
        _counter(w, "http_requests", _FASTAPI["requests"], series, stamps)
        for name, pos in (("request_size", 0), ("response_size", 2)):
            family = f"http_{name}_bytes"
            w.family(family, "summary", _FASTAPI[name])
            for handler, _ in routes:
                s = self.sizes[handler]
                w.sample(f"{family}_count", (("handler", handler),), s[pos])
                w.sample(f"{family}_sum", (("handler", handler),), s[pos + 1])
            w.family(f"{family}_created", "gauge", _FASTAPI[name])
            for route in routes:
                w.sample(f"{family}_created", (("handler", route[0]),), self._created_at(route))
        first = min(self.first_seen.values())
        _histogram(w, "http_request_duration_highr_seconds", _FASTAPI["highr"],
                   [((), self.highr, self.clock.at(first) - 0.25)])
        _histogram(w, "http_request_duration_seconds", _FASTAPI["duration"],
                   [((("handler", r[0]), ("method", r[1])), self.durations[r],
                     self._created_at(r)) for r in routes])


def _counter(
    w: Exposition,
    name: str,
    text: str,
    series: Sequence[tuple[Labels, float]],
    stamps: Iterator[float],
) -> None:
    """A counter family ``<name>_total`` and its ``<name>_created`` gauge family."""
    w.family(f"{name}_total", "counter", text)
    for labels, value in series:
        w.sample(f"{name}_total", labels, value)
    w.family(f"{name}_created", "gauge", text)
    for labels, _ in series:
        w.sample(f"{name}_created", labels, next(stamps))


def _histogram(
    w: Exposition, name: str, text: str, series: list[tuple[Labels, Hist, float]]
) -> None:
    """A histogram family (label names sorted, ``le`` among them) and its ``_created`` family."""
    w.family(name, "histogram", text)
    for labels, hist, _ in series:
        for le, count in hist.cumulative():
            w.sample(f"{name}_bucket", _sorted((*labels, ("le", go_float(le)))), count)
        w.sample(f"{name}_count", labels, hist.count)
        w.sample(f"{name}_sum", labels, hist.total)
    w.family(f"{name}_created", "gauge", text)
    for labels, _, stamp in series:
        w.sample(f"{name}_created", labels, stamp)
