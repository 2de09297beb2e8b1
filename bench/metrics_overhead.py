"""What the Prometheus metrics cost the ingest hot path: the same app with and without them.

The real app (``api.main.create_app``) answers ``POST /v1/emotions`` — token check, validation,
consent cache, XADD to Redis — called as an ASGI callable in-process, so neither an HTTP client
nor the network hides the difference: it is the full request cost with the metrics middleware and
the ingest counters, against the same app with the middleware removed, interleaved in rounds so
drift from other load on the machine hits both alike. Needs Redis (``ECS_REDIS_URL``, default the
local one) and a database with a consenting user (SQLite by default, created here).

    python -m bench.metrics_overhead [--requests 4000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI

from api.main import create_app
from api.middleware import RequestContextMiddleware
from bench.lib.machine import describe, text_block
from ecs.accounts.tokens import create_access_token
from ecs.db.engine import get_engine
from ecs.db.migrate import upgrade
from ecs.domain.status import Role
from ecs.settings import Settings
from ecs.stats import percentile
from tests.stream.helpers import make_users


def _app(settings: Settings, metrics: bool) -> FastAPI:
    """The real app; without metrics, its request-context middleware records none."""
    app = create_app(settings)
    if not metrics:
        for middleware in app.user_middleware:
            if middleware.cls is RequestContextMiddleware:  # type: ignore[comparison-overlap]
                middleware.kwargs["metrics"] = None
    return app


def _recorder(status: list[int]) -> Any:
    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    return send


async def _drive(app: FastAPI, token: str, requests: int) -> list[float]:
    """Per-request seconds for ``requests`` single-reading ingests through the ASGI callable."""
    headers = [
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", b"application/json"),
    ]
    durations: list[float] = []
    for _ in range(requests):
        body = orjson.dumps(
            {
                "event_id": str(uuid.uuid4()),
                "occurred_at": datetime.now(UTC).isoformat(),
                "kind": "calm",
                "metrics": {"positivity": 0.6, "intensity": 0.3, "stress": 0.2},
            }
        )
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/emotions",
            "raw_path": b"/v1/emotions",
            "query_string": b"",
            "root_path": "",
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent = False

        async def receive(body: bytes = body) -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status: list[int] = []
        send = _recorder(status)

        started = time.perf_counter()
        await app(scope, receive, send)
        durations.append(time.perf_counter() - started)
        assert status == [202], status
    return durations


async def main(args: argparse.Namespace) -> None:
    state = Path(tempfile.mkdtemp(prefix="ecs-metrics-bench-"))
    settings = Settings(
        state_dir=state,
        database_url=f"sqlite:///{state / 'bench.db'}",
        redis_url=args.redis_url,
        stream_name=f"emotions-bench-{uuid.uuid4().hex[:8]}",
    )
    upgrade(settings.effective_database_url)
    [user] = make_users(get_engine(settings), 1)
    token = create_access_token(user, Role.CUSTOMER, settings)
    apps = {"with metrics": _app(settings, True), "without": _app(settings, False)}
    samples: dict[str, list[float]] = {name: [] for name in apps}
    for app in apps.values():  # lifespans up, caches warm
        app.state.router_lifespan = app.router.lifespan_context(app)
        await app.state.router_lifespan.__aenter__()
        await _drive(app, token, 200)
    for _ in range(args.rounds):
        for name, app in apps.items():
            samples[name] += await _drive(app, token, args.requests // args.rounds)
    for app in apps.values():
        await app.state.router_lifespan.__aexit__(None, None, None)

    print(text_block(describe(bench="metrics overhead on POST /v1/emotions (in-process ASGI)")))
    means = {name: sum(v) / len(v) for name, v in samples.items()}
    for name, values in samples.items():
        p50, p99 = percentile(values, 0.5) * 1e6, percentile(values, 0.99) * 1e6
        print(
            f"  {name:<13} mean {means[name] * 1e6:7.1f} µs   p50 {p50:7.1f} µs   "
            f"p99 {p99:7.1f} µs   ({len(values)} requests)"
        )
    overhead = means["with metrics"] / means["without"] - 1
    print(f"  overhead of the metrics: {overhead * 100:+.1f} % of the request's cost")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    asyncio.run(main(parser.parse_args()))
