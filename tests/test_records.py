"""The records feed against a real HTTP server on 127.0.0.1, and a real tailed JSONL file."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from mmtui.feeds.cloudevents import PayloadError, request_rows, response_predictions
from mmtui.feeds.records import (
    BAD_EXAMPLE_CHARS,
    FileRecordsFeed,
    HttpRecordsFeed,
    LabelUpdate,
    Record,
    RecordsFeedError,
    RecordsParser,
    parse_ts,
    records_feed,
)
from mmtui.stats.window import RecordWindow

SECRET = "Bearer s3cr3t-records-token"
IRIS = ("sepal_length", "sepal_width", "petal_length", "petal_width")


# ---------------------------------------------------------------- the KServe events, for real


@dataclass
class Event:
    """One event of the event_display rendering: context attributes, extensions, data."""

    attributes: dict[str, str]
    extensions: dict[str, str]
    data: Any

    def binary(self) -> tuple[dict[str, str], bytes]:
        """HTTP headers and body of the binary-mode message the KServe logger POSTs."""
        headers = {f"Ce-{k.capitalize()}": v for k, v in self.attributes.items()}
        headers.pop("Ce-Datacontenttype", None)
        headers.update({f"Ce-{k.capitalize()}": v for k, v in self.extensions.items() if v})
        headers["Content-Type"] = self.attributes.get("datacontenttype", "application/json")
        return headers, json.dumps(self.data).encode()

    def structured(self) -> dict[str, Any]:
        return {**self.attributes, **self.extensions, "data": self.data}


def read_event_display(path: Path) -> list[Event]:
    events: list[Event] = []
    for block in path.read_text(encoding="utf-8").split("☁️  cloudevents.Event")[1:]:
        head, data = block.split("Data,\n", 1)
        attrs_text, ext_text = head.split("Context Attributes,\n", 1)[1].split("Extensions,\n")

        def pairs(text: str) -> dict[str, str]:
            out = {}
            for line in text.splitlines():
                key, _, value = line.strip().partition(":")
                out[key] = value.strip()
            return out

        events.append(Event(pairs(attrs_text), pairs(ext_text), json.loads(data)))
    return events


@pytest.fixture(scope="module")
def kserve_events(feeds_dir: Path) -> list[Event]:
    path = feeds_dir / "request_logs" / "kserve_logger_cloudevents_event_display.txt"
    events = read_event_display(path)
    assert [e.attributes["type"] for e in events] == [
        "org.kubeflow.serving.inference.request",
        "org.kubeflow.serving.inference.response",
    ]
    return events


# ---------------------------------------------------------------- the server


@dataclass
class State:
    lines: list[dict[str, Any]] = field(default_factory=list)
    """The records store; ``seq`` is the 1-based position unless a line sets it."""
    seen: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)
    """(path, query, headers) of every request."""
    queue: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    """Responses (headers, body) handed out one per GET on /queue."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, *objs: dict[str, Any]) -> None:
        with self.lock:
            for obj in objs:
                self.lines.append({"seq": len(self.lines) + 1, **obj})

    def afters(self, path: str) -> list[str | None]:
        return [q.get("after") for p, q, _ in self.seen if p == path]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes
    server: Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        state = self.server.state
        with state.lock:
            state.seen.append((url.path, query, {k.lower(): v for k, v in self.headers.items()}))
            lines = list(state.lines)
        if url.path == "/records":  # the documented protocol
            after = int(query["after"]) if "after" in query else None
            if after is not None and lines and after > lines[-1]["seq"]:
                after = None  # the client's cursor is from a previous life of this server
            new = [ln for ln in lines if after is None or ln["seq"] > after]
            self._ndjson(new[: int(query.get("limit", "1000"))])
        elif url.path == "/ignores-after":
            self._ndjson(lines)
        elif url.path == "/array":
            self._send(200, json.dumps(lines).encode(), {"Content-Type": "application/json"})
        elif url.path == "/queue":
            with state.lock:
                headers, body = state.queue.pop(0) if state.queue else ({}, b"")
            self._send(200, body, headers)
        elif url.path == "/raw":
            with state.lock:
                headers, body = state.queue[0]
            self._send(200, body, headers)
        elif url.path == "/500":
            self._send(500, b"boom", {})
        elif url.path == "/big":
            self._send(200, b"x" * 4096, {})
        else:
            self._send(404, b"not found", {})

    def _ndjson(self, objs: list[dict[str, Any]]) -> None:
        body = "".join(json.dumps(o) + "\n" for o in objs).encode()
        self._send(200, body, {"Content-Type": "application/x-ndjson"})

    def _send(self, code: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = State()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join()


def rec(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"r{i}",
        "ts": 1_700_000_000.0 + i,
        "features": {"amount": float(i), "country": "FR" if i % 2 else "DE"},
        "prediction": i % 2,
        **extra,
    }


def records(items: list[Record | LabelUpdate]) -> list[Record]:
    return [r for r in items if isinstance(r, Record)]


# ---------------------------------------------------------------- protocol


async def test_cursor_is_sent_and_honoured(server: Server) -> None:
    server.state.add(*(rec(i) for i in range(1, 6)))
    feed = HttpRecordsFeed(server.url("/records"), headers={"Authorization": SECRET})
    async with httpx.AsyncClient() as client:
        first = await feed.poll(client)
        assert [r.id for r in records(first)] == ["r1", "r2", "r3", "r4", "r5"]
        assert feed.cursor == 5
        assert await feed.poll(client) == []
        server.state.add(rec(6), {"id": "r2", "label": 1})
        third = await feed.poll(client)
    assert server.state.afters("/records") == [None, "5", "5"]
    assert [type(x).__name__ for x in third] == ["Record", "LabelUpdate"]
    assert third[1] == LabelUpdate("r2", 1.0)
    r1 = records(first)[0]
    assert r1 == Record("r1", 1_700_000_001.0, {"amount": 1.0, "country": "FR"}, 1.0, None)
    headers = server.state.seen[0][2]
    assert headers["authorization"] == SECRET
    assert headers["accept"].startswith("application/x-ndjson")
    assert feed.stats.records == 6 and feed.stats.labels == 1 and feed.stats.bad == {}


async def test_catches_up_page_by_page_and_keeps_url_query(server: Server) -> None:
    server.state.add(*(rec(i) for i in range(1, 6)))
    feed = HttpRecordsFeed(server.url("/records?model=iris"), limit=2)
    async with httpx.AsyncClient() as client:
        got = await feed.poll(client)
    assert len(got) == 5
    assert server.state.afters("/records") == [None, "2", "4"]
    assert all(q["model"] == "iris" and q["limit"] == "2" for _, q, _ in server.state.seen)


async def test_page_limit_per_poll(server: Server) -> None:
    server.state.add(*(rec(i) for i in range(1, 8)))
    feed = HttpRecordsFeed(server.url("/records"), limit=2, max_pages=2)
    async with httpx.AsyncClient() as client:
        assert len(await feed.poll(client)) == 4
        assert len(await feed.poll(client)) == 3


async def test_server_that_ignores_after_does_not_double_count(server: Server) -> None:
    server.state.add(*(rec(i) for i in range(1, 4)), {"id": "r1", "label": 0})
    feed = HttpRecordsFeed(server.url("/ignores-after"))
    async with httpx.AsyncClient() as client:
        first = await feed.poll(client)
        server.state.add(rec(4), {"id": "r1", "label": 1})  # a corrected label is news
        second = await feed.poll(client)
    assert [getattr(x, "id", None) for x in first] == ["r1", "r2", "r3", "r1"]
    assert second == [
        Record("r4", 1_700_000_004.0, {"amount": 4.0, "country": "DE"}, 0.0),
        LabelUpdate("r1", 1.0),
    ]
    s = feed.stats
    assert (s.records, s.labels, s.duplicates) == (4, 2, 4)
    assert server.state.afters("/ignores-after") == [None, "4"]


async def test_follows_a_restarted_server(server: Server) -> None:
    server.state.add(*(rec(i) for i in range(1, 4)))
    feed = HttpRecordsFeed(server.url("/records"))
    async with httpx.AsyncClient() as client:
        await feed.poll(client)
        assert feed.cursor == 3
        server.state.lines.clear()  # restart: seq starts again at 1
        server.state.add(rec(10))
        got = await feed.poll(client)
    assert [r.id for r in records(got)] == ["r10"]
    assert feed.cursor == 1


async def test_json_array_body(server: Server) -> None:
    server.state.add(rec(1), rec(2), {"id": "r1", "label": "1"})
    feed = HttpRecordsFeed(server.url("/array"))
    async with httpx.AsyncClient() as client:
        got = await feed.poll(client)
    assert [getattr(x, "id", None) for x in got] == ["r1", "r2", "r1"]
    assert feed.cursor == 3


async def test_late_labels_join_the_window(server: Server) -> None:
    server.state.add(*(rec(i) for i in range(1, 5)))
    feed = HttpRecordsFeed(server.url("/records"))
    window = RecordWindow(100)
    async with httpx.AsyncClient() as client:
        assert window.add(await feed.poll(client)) == []
        server.state.add({"id": "r1", "label": 1}, {"id": "r4", "label": 1}, rec(5, label=0))
        labelled = window.add(await feed.poll(client))
    assert labelled == [(0.0, 1.0), (1.0, 1.0), (1.0, 0.0)]
    y_true, y_pred = window.labeled()
    assert y_true.tolist() == ["1", "1", "0"] and y_pred.tolist() == ["1", "0", "1"]
    assert window.labels_joined == 2


# ---------------------------------------------------------------- CloudEvents


async def test_kserve_binary_events_joined_on_id(
    server: Server, kserve_events: list[Event]
) -> None:
    request, response = kserve_events
    server.state.queue = [request.binary(), response.binary()]
    feed = HttpRecordsFeed(server.url("/queue"), parser=RecordsParser(feature_names=IRIS))
    async with httpx.AsyncClient() as client:
        assert await feed.poll(client) == []  # the request waits for its response
        assert feed.parser.pending == 1
        got = await feed.poll(client)
    event_id = "0009174a-24a8-4603-b098-09c8799950e9"
    ts = parse_ts("2021-04-10T00:23:26.0789529Z")
    assert got == [
        Record(f"{event_id}:0", ts, dict(zip(IRIS, [6.8, 2.8, 4.8, 1.4], strict=True)), 1.0),
        Record(f"{event_id}:1", ts, dict(zip(IRIS, [6.0, 3.4, 4.5, 1.6], strict=True)), 1.0),
    ]
    assert feed.parser.pending == 0 and feed.stats.records == 2 and feed.stats.bad == {}


async def test_binary_event_served_again_is_not_counted_twice(
    server: Server, kserve_events: list[Event]
) -> None:
    request, response = kserve_events
    server.state.queue = [response.binary()]
    feed = HttpRecordsFeed(server.url("/raw"))  # always the same (last) event
    async with httpx.AsyncClient() as client:
        await feed.poll(client)
        await feed.poll(client)
        server.state.queue = [request.binary()]  # the request comes after its response
        got = await feed.poll(client)
    assert [r.features["f0"] for r in records(got)] == [6.8, 6.0]
    assert feed.stats.duplicates == 1


async def test_kserve_structured_and_batch(server: Server, kserve_events: list[Event]) -> None:
    request, response = kserve_events
    structured = "application/cloudevents+json"
    server.state.queue = [
        ({"Content-Type": structured}, json.dumps(request.structured()).encode()),
        ({"Content-Type": structured}, json.dumps(response.structured()).encode()),
    ]
    feed = HttpRecordsFeed(server.url("/queue"))
    async with httpx.AsyncClient() as client:
        got = await feed.poll(client) + await feed.poll(client)
    assert [(r.features["f3"], r.prediction) for r in records(got)] == [(1.4, 1.0), (1.6, 1.0)]

    req, resp = request.structured(), response.structured()
    for e in (req, resp):
        e["id"] = "batch-1"
    server.state.queue = [
        ({"Content-Type": "application/cloudevents-batch+json"}, json.dumps([resp, req]).encode())
    ]
    async with httpx.AsyncClient() as client:
        got = await feed.poll(client)
    assert [r.id for r in records(got)] == ["batch-1:0", "batch-1:1"]


def test_open_inference_protocol_and_seldon_payloads() -> None:
    v2_request = {
        "inputs": [
            {
                "name": "input-0",
                "shape": [2, 4],
                "datatype": "FP32",
                "data": [6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6],
            },
            {"name": "country", "shape": [2], "datatype": "BYTES", "data": ["FR", "DE"]},
        ]
    }
    rows = request_rows(v2_request)
    assert rows[1] == {
        "input-0_0": 6.0,
        "input-0_1": 3.4,
        "input-0_2": 4.5,
        "input-0_3": 1.6,
        "country": "DE",
    }
    nested = {
        "inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [[1, 2], [3, 4]]}]
    }
    assert request_rows(nested, ["a", "b"]) == [{"a": 1.0, "b": 2.0}, {"a": 3.0, "b": 4.0}]
    v2_response = {
        "outputs": [
            {"name": "proba", "shape": [2, 3], "datatype": "FP32", "data": [0.1] * 6},
            {"name": "label", "shape": [2], "datatype": "INT64", "data": [1, 2]},
        ]
    }
    assert response_predictions(v2_response) == [1.0, 2.0]
    named = {"instances": [{"amount": 3, "vip": True}]}
    assert request_rows(named) == [{"amount": 3.0, "vip": "True"}]
    seldon = {"data": {"names": ["a", "b"], "ndarray": [[1, "x"], [2, None]]}}
    assert request_rows(seldon) == [{"a": 1.0, "b": "x"}, {"a": 2.0, "b": None}]
    tensor = {"data": {"tensor": {"shape": [2, 1], "values": [0.2, 0.9]}}}
    assert response_predictions(tensor) == [0.2, 0.9]
    assert response_predictions({"predictions": [[0.1, 0.9], [7]]}) == [None, 7.0]
    with pytest.raises(PayloadError, match="shape"):
        request_rows({"inputs": [{"name": "x", "shape": [2, 3], "data": [1, 2]}]})


def test_request_without_response_is_kept_after_the_ttl() -> None:
    now = [100.0]
    parser = RecordsParser(pending_ttl=30.0, clock=lambda: now[0])
    event = {
        "specversion": "1.0",
        "id": "e1",
        "source": "s",
        "type": "org.kubeflow.serving.inference.request",
        "data": {"instances": [[1, 2]]},
    }
    lone_response = {
        **event,
        "id": "e2",
        "type": "org.kubeflow.serving.inference.response",
        "data": {"predictions": [1]},
    }
    assert parser.parse(json.dumps([event, lone_response]).encode()).items == []
    now[0] = 129.0
    assert parser.flush() == []
    now[0] = 131.0
    assert parser.flush() == [Record("e1", 100.0, {"f0": 1.0, "f1": 2.0}, None)]
    assert parser.stats.bad == {
        "request without response (kept without prediction)": 1,
        "response without request (dropped)": 1,
    }


def test_pending_events_are_bounded() -> None:
    parser = RecordsParser(max_pending=2)
    for i in range(4):
        parser.parse(
            json.dumps(
                {
                    "specversion": "1.0",
                    "id": f"e{i}",
                    "type": "x.response",
                    "data": {"predictions": [1]},
                }
            ).encode()
        )
    assert parser.pending == 2
    assert parser.stats.bad == {"response without request (dropped)": 2}


# ---------------------------------------------------------------- bad input


async def test_bad_records_are_counted_and_good_ones_kept(server: Server) -> None:
    long_garbage = "{" + "x" * 1000
    body = "\n".join(
        [
            json.dumps({"seq": 1, **rec(1)}),
            "{not json",
            json.dumps({"seq": 2, "ts": 1.0, "features": {"a": 1}}),
            json.dumps({"seq": 3, "id": "r3", "features": [1, 2]}),
            json.dumps({"seq": 4, "id": "r4", "features": {"a": [1, 2]}}),
            json.dumps({"seq": 5, "id": "r5", "ts": "yesterday", "features": {}}),
            json.dumps({"seq": "6", "id": "r6", "features": {}}),
            json.dumps({"seq": 7, "id": "r7"}),
            "42",
            json.dumps({"seq": 8, "id": True, "features": {}}),
            json.dumps({"seq": 9, "id": "r9", "features": {}, "prediction": {"p": 1}}),
            json.dumps({"seq": 10, "specversion": "1.0", "id": "c", "type": "com.example.other"}),
            long_garbage,
            json.dumps({"seq": 11, **rec(11)}),
        ]
    ).encode()
    server.state.queue = [({"Content-Type": "application/x-ndjson"}, body)]
    feed = HttpRecordsFeed(server.url("/raw"))
    async with httpx.AsyncClient() as client:
        got = await feed.poll(client)
    assert [r.id for r in records(got)] == ["r1", "r11"]
    assert feed.cursor == 11  # bad lines do not hold the cursor back
    assert feed.stats.bad == {
        "invalid JSON": 2,
        "missing id": 2,
        "features is not an object": 1,
        "feature value is not a scalar": 1,
        "bad ts": 1,
        "seq is not an integer": 1,
        "no features and no label": 1,
        "not a JSON object": 1,
        "prediction or label is not a scalar": 1,
        "CloudEvent type is not an inference request or response": 1,
    }
    last = feed.stats.last_bad
    assert last is not None and last.startswith("invalid JSON: {xxx")
    assert len(last) == len("invalid JSON: ") + BAD_EXAMPLE_CHARS and last.endswith("…")


async def test_transport_errors_name_the_url_not_the_secret(server: Server) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{s.getsockname()[1]}/records"
    cases = [
        (server.url("/500"), "HTTP 500"),
        (server.url("/big"), "larger than 1024 bytes"),
        (refused, "GET " + refused),
    ]
    async with httpx.AsyncClient() as client:
        for url, expected in cases:
            feed = HttpRecordsFeed(url, headers={"Authorization": SECRET}, max_body_bytes=1024)
            with pytest.raises(RecordsFeedError) as info:
                await feed.poll(client)
            message = str(info.value)
            assert expected in message and url in message
            assert "s3cr3t" not in message and "\n" not in message


def test_constructor_errors_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="limit must be >= 1"):
        HttpRecordsFeed("http://127.0.0.1/records", limit=0)
    with pytest.raises(ValueError, match="http:// or https://"):
        HttpRecordsFeed("ftp://host/records")
    with pytest.raises(ValueError, match="pending_ttl"):
        RecordsParser(pending_ttl=-1)
    assert isinstance(records_feed("http://127.0.0.1:1/r"), HttpRecordsFeed)
    assert isinstance(records_feed("/var/log/records.jsonl"), FileRecordsFeed)


def test_parse_ts() -> None:
    assert parse_ts("2024-11-25T10:00:00Z") == parse_ts("2024-11-25T11:00:00+01:00")
    assert parse_ts("2024-11-25T10:00:00") == 1732528800.0  # no offset: UTC
    for bad in ("yesterday", True, None, float("nan")):
        with pytest.raises(ValueError):
            parse_ts(bad)


# ---------------------------------------------------------------- the JSONL file tail


def append(path: Path, *objs: dict[str, Any], partial: str = "") -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write("".join(json.dumps(o) + "\n" for o in objs) + partial)


def test_file_tail_append_partial_line_truncate_rotate(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    feed = FileRecordsFeed(path)
    with pytest.raises(RecordsFeedError, match="records.jsonl: no such file"):
        feed.poll()
    append(path, rec(1), rec(2))
    assert [r.id for r in records(feed.poll())] == ["r1", "r2"]
    assert feed.poll() == []

    half = json.dumps(rec(3))
    append(path, partial=half[:20])  # a writer in the middle of a line
    assert feed.poll() == []
    with path.open("a", encoding="utf-8") as f:
        f.write(half[20:] + "\n" + json.dumps({"id": "r1", "label": 1}) + "\n")
    assert feed.poll() == [
        Record("r3", 1_700_000_003.0, {"amount": 3.0, "country": "FR"}, 1.0),
        LabelUpdate("r1", 1.0),
    ]
    assert feed.offset == path.stat().st_size

    path.write_text(json.dumps(rec(4)) + "\n")  # truncated and rewritten, shorter
    assert [r.id for r in records(feed.poll())] == ["r4"]

    path.write_text("".join(json.dumps(rec(i)) + "\n" for i in range(5, 30)))  # rewritten, longer
    assert [r.id for r in records(feed.poll())] == [f"r{i}" for i in range(5, 30)]

    os.rename(path, tmp_path / "records.jsonl.1")  # rotated: a new file, same name
    append(path, rec(30))
    assert [r.id for r in records(feed.poll())] == ["r30"]
    assert feed.stats.bad == {} and feed.stats.duplicates == 0


def test_file_tail_from_end_and_bounded_reads(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    append(path, *(rec(i) for i in range(10)))
    late = FileRecordsFeed(path, from_start=False)
    assert late.poll() == []
    append(path, rec(10))
    assert [r.id for r in records(late.poll())] == ["r10"]

    small = FileRecordsFeed(path, max_read_bytes=300)  # catches up over several polls
    ids: list[str] = []
    for _ in range(20):
        ids += [r.id for r in records(small.poll())]
    assert ids == [f"r{i}" for i in range(11)]

    path.write_text("x" * 500 + "\n" + json.dumps(rec(1)) + "\n")
    tiny = FileRecordsFeed(path, max_read_bytes=300)
    got = [r.id for _ in range(5) for r in records(tiny.poll())]
    assert got == ["r1"]
    assert tiny.stats.bad == {"line longer than 300 bytes": 1}
