"""A small fraud model served over ASGI with the agent, and traffic to watch it with mmtui.

``python -m mmtui.agent.example --port 8000 --write-config agent.toml`` serves (with uvicorn):

``POST /predict``
    ``{"id": "txn-1", "features": {...}}`` (``id`` optional) → ``{"id", "score", "prediction"}``.
    A body without a ``features`` object is a 400; features the model cannot read (a missing
    or non-numeric ``amount``) make it raise, which the server answers 500: errors to see.
``GET /healthz``
    ``ok``; left untimed (``model_of``), as probes should be.
``GET /metrics``, ``GET /records``, ``POST /labels``
    The agent's routes (:mod:`mmtui.agent.http`).

It also sends itself traffic (unless ``--no-traffic``): transactions drawn from the fraud
validation data in ``sample_data/`` at ``--rate`` per second, one in a hundred unreadable; after
``--drift-after`` seconds a card-testing campaign (amounts ×2.5, mostly web payments) that mmtui's
drift view flags; and each transaction's true label ``--label-delay`` seconds later through
``POST /labels``, as chargebacks arrive. ``--write-config`` writes an mmtui config for it, the
validation data as baseline, so ``mmtui --config agent.toml`` shows the lot.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import math
import random
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from mmtui.agent.agent import Agent
from mmtui.agent.asgi import ASGIApp, MmtuiAgentMiddleware, Receive, Scope, Send
from mmtui.sim.configfile import RULES_FILE
from mmtui.sim.datasets import FRAUD, LABEL, PREDICTION, data_dir, validation_path

MODEL = "fraud-scorer"
NUMERIC = ("amount", "account_age_days", "txn_hour", "distance_km", "n_txn_24h", "merchant_risk")
_CATEGORY_RISK = {"travel": 0.5, "electronics": 0.8, "online_retail": 0.5, "gaming": 0.9,
                  "grocery": -0.3, "restaurants": -0.2, "fuel": -0.2, "pharmacy": -0.2}

Row = dict[str, float | str]


def _num(f: dict[str, object], name: str, default: float | None = None) -> float:
    v = f[name] if default is None else f.get(name, default)
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise TypeError(f"{name} is a {type(v).__name__}, not a number")
    return float(v)


def score(f: dict[str, object]) -> float:
    """The fraud probability of one transaction: the logistic model behind the sample data's
    predictions (without its noise). Raises on features it cannot read, as models do."""
    z = (
        -3.4 + 0.9 * (math.log(_num(f, "amount")) - 3.6)
        - 0.6 * (math.log1p(_num(f, "account_age_days", 400.0)) - 6.0)
        + 0.3 * math.log1p(_num(f, "distance_km", 5.0))
        + 0.12 * (_num(f, "n_txn_24h", 3.75) - 3.75)
        + 7.0 * (_num(f, "merchant_risk", 0.18) - 0.18)
        + _CATEGORY_RISK.get(str(f.get("merchant_category")), 0.0)
        + 0.6 * (f.get("channel") == "web") + 1.0 * (f.get("card_type") == "prepaid")
        + 0.5 * (_num(f, "txn_hour", 12.0) < 5) + 0.3 * (f.get("country") == "BR")
    )
    return 1.0 / (1.0 + math.exp(-2.5 * z))


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _reply(send: Send, status: int, doc: object) -> None:
    body = json.dumps(doc).encode() + b"\n"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def model_app(agent: Agent) -> ASGIApp:
    """The model server itself: pure ASGI, records every prediction with the agent."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/healthz":
            await _reply(send, 200, "ok")
            return
        if path != "/predict":
            await _reply(send, 404, {"error": f"no route {path}"})
            return
        if method != "POST":
            await _reply(send, 405, {"error": "use POST"})
            return
        try:
            doc = json.loads(await _body(receive))
        except ValueError:
            await _reply(send, 400, {"error": "body is not JSON"})
            return
        features = doc.get("features") if isinstance(doc, dict) else None
        if not isinstance(features, dict):
            await _reply(send, 400, {"error": "expected {\"features\": {...}}"})
            return
        p = score(features)  # an unreadable feature raises: the server answers 500
        prediction = int(p >= 0.5)
        rid = agent.record(features, prediction, id=doc.get("id"))
        await _reply(send, 200, {"id": rid, "score": round(p, 4), "prediction": prediction})

    return app


def build_app(agent: Agent) -> ASGIApp:
    """The model app wrapped in the agent's middleware, probes untimed."""
    return MmtuiAgentMiddleware(
        model_app(agent), agent,
        model_of=lambda scope: None if scope["path"] == "/healthz" else agent.model,
    )


def load_rows(path: Path | None = None) -> list[Row]:
    """The fraud validation rows (features, ``prediction``, ``label``), numbers as floats."""
    with (path or validation_path(FRAUD)).open(newline="", encoding="utf-8") as f:
        return [{k: float(v) if k in NUMERIC or k in (PREDICTION, LABEL) else v
                 for k, v in row.items()} for row in csv.DictReader(f)]


def drifted(row: Row, rng: random.Random) -> Row:
    """A card-testing campaign: amounts ×2.5, and half the payments moved to the web."""
    out = dict(row)
    out["amount"] = round(float(row["amount"]) * 2.5, 2)
    if rng.random() < 0.5:
        out["channel"] = "web"
    return out


def features_of(row: Row) -> dict[str, float | str]:
    return {k: v for k, v in row.items() if k not in (PREDICTION, LABEL)}


def traffic(
    host: str, port: int, rows: list[Row], *, rate: float, drift_after: float | None,
    label_delay: float, stop: threading.Event, seed: int = 0,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Send transactions at ``rate`` per second and their labels ``label_delay`` s later."""
    rng = random.Random(seed)
    conn = http.client.HTTPConnection(host, port, timeout=5.0)
    labels: deque[tuple[float, str, float | str]] = deque()
    start = clock()
    n = 0
    while not stop.is_set():
        now = clock()
        row = rng.choice(rows)
        if drift_after is not None and now - start >= drift_after:
            row = drifted(row, rng)
        features = features_of(row)
        if rng.random() < 0.01:
            features["amount"] = "n/a"
        rid = f"txn-{n}"
        n += 1
        try:
            _post(conn, "/predict", {"id": rid, "features": features})
            labels.append((now + label_delay, rid, row[LABEL]))
            due = []
            while labels and labels[0][0] <= now:
                _, lid, label = labels.popleft()
                due.append({"id": lid, "label": label})
            if due:
                _post(conn, "/labels", due)
        except (OSError, http.client.HTTPException):
            conn.close()  # the server is stopping or restarting: reconnect on the next send
        stop.wait(max(0.0, start + n / rate - clock()))
    conn.close()


def _post(conn: http.client.HTTPConnection, path: str, doc: object) -> None:
    conn.request("POST", path, json.dumps(doc), {"Content-Type": "application/json"})
    conn.getresponse().read()


def config_text(agent: Agent, base_url: str) -> str:
    """An mmtui config for the example: the endpoint, its baseline, and the default rules."""
    baseline = validation_path(FRAUD)
    entry = agent.endpoint_toml(
        base_url, baseline=str(baseline), target=LABEL, prediction=PREDICTION
    ) if baseline.is_file() else agent.endpoint_toml(base_url)
    text = f'# python -m mmtui.agent.example\n\n[monitor]\ninterval = "2s"\n\n{entry}'
    rules = data_dir() / RULES_FILE
    if rules.is_file():
        text += "\n" + rules.read_text(encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mmtui.agent.example",
        description="A small fraud model served with the mmtui agent, with its own traffic.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0: a free port")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second sent")
    parser.add_argument("--sample-rate", type=float, default=0.5, help="share of records kept")
    parser.add_argument("--drift-after", type=float, default=120.0,
                        help="seconds before the traffic drifts (negative: never)")
    parser.add_argument("--label-delay", type=float, default=10.0)
    parser.add_argument("--no-traffic", action="store_true", help="serve only")
    parser.add_argument("--write-config", metavar="FILE", help="write an mmtui config for it")
    args = parser.parse_args(argv)
    if args.rate <= 0 or not 0 <= args.sample_rate <= 1 or args.label_delay < 0:
        print("--rate must be > 0, --sample-rate in 0..1, --label-delay >= 0", file=sys.stderr)
        return 2
    try:
        import uvicorn
    except ImportError:
        print("the example needs uvicorn: pip install uvicorn", file=sys.stderr)
        return 2
    try:
        rows = load_rows()
    except OSError as exc:
        print(f"{validation_path(FRAUD)}: cannot read the sample data: {exc}", file=sys.stderr)
        return 2
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    # With the protocol named, asyncio sets TCP_NODELAY on the connections (no 40 ms stalls).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(f"{args.host}:{args.port}: cannot listen: {exc.strerror or exc}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    base = f"http://{args.host}:{port}/"
    agent = Agent(MODEL, sample_rate=args.sample_rate, redact=("email",))
    if args.write_config:
        try:
            Path(args.write_config).write_text(config_text(agent, base), encoding="utf-8")
        except OSError as exc:
            print(f"{args.write_config}: cannot write: {exc.strerror or exc}", file=sys.stderr)
            return 2
        print(f"config written to {args.write_config}", file=sys.stderr)
    server = uvicorn.Server(uvicorn.Config(build_app(agent), log_level="warning", lifespan="off"))
    stop = threading.Event()
    if not args.no_traffic:
        drift_after = args.drift_after if args.drift_after >= 0 else None

        def send() -> None:
            while not server.started and not stop.wait(0.05):
                pass
            traffic(args.host, port, rows, rate=args.rate, drift_after=drift_after,
                    label_delay=args.label_delay, stop=stop)

        threading.Thread(target=send, name="traffic", daemon=True).start()
    print(f"{MODEL} on {base}: POST /predict; GET /metrics, /records; POST /labels",
          file=sys.stderr, flush=True)
    try:
        server.run(sockets=[sock])
    finally:
        stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
