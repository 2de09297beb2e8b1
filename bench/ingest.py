"""End-to-end ingest benchmark: HTTP → Redis stream → consumers → database, on loopback.

    python bench/ingest.py --seconds 10 --consumers 2        # starts its own API and consumers
    python bench/ingest.py --api-url http://127.0.0.1:8000   # uses a running API (same secrets)

Uses the configured ``ECS_DATABASE_URL`` / ``ECS_REDIS_URL`` (a private stream name per run, so it
never touches production entries) and prints:

* bare FastAPI POST endpoint: requests/s (the ceiling of this machine and HTTP stack);
* ``POST /v1/emotions`` with one reading per request: requests/s, p50/p99 ack latency, ratio;
* batched ``POST /v1/emotions``: readings/s from the first POST until every row is committed;
* lost readings (accepted, never committed) and duplicated effects (daily aggregates counting
  more readings than there are rows);
* wire encoding: one XADD per reading vs one entry per request, producer and consumer cost.

The load generator is a minimal keep-alive HTTP/1.1 client on raw asyncio streams: an httpx
client would saturate a core long before the server does. Everything shares the machine's
cores (API, consumers, PostgreSQL, Redis, load generator), so figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as aioredis
from sqlalchemy import Engine, func, insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.security import create_access_token  # noqa: E402
from ecs.db.engine import make_engine  # noqa: E402
from ecs.db.tables import EmotionDaily, EmotionEvent, User  # noqa: E402
from ecs.domain.status import Role  # noqa: E402
from ecs.settings import Settings, get_settings  # noqa: E402
from ecs.stream.consumer import StreamConsumer  # noqa: E402
from ecs.stream.messages import StreamReading  # noqa: E402
from ecs.stream.producer import publish  # noqa: E402

EVENTS = EmotionEvent.__table__  # type: ignore[attr-defined]
DAILY = EmotionDaily.__table__  # type: ignore[attr-defined]
USERS = User.__table__  # type: ignore[attr-defined]

BARE_APP = """
import orjson
from fastapi import FastAPI, Request, Response

app = FastAPI()

@app.post("/bare")
async def bare(request: Request) -> Response:
    data = orjson.loads(await request.body())
    return Response(orjson.dumps({"accepted": 1, "event_ids": [data.get("event_id")]}),
                    status_code=202, media_type="application/json")
"""


# ------------------------------------------------------------------------------ load generator
@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    accepted_ids: list[str] = field(default_factory=list)
    readings: int = 0
    started: float = 0.0
    ended: float = 0.0

    def merge(self, other: Run) -> None:
        """Accumulate a round: busy time adds up, so rates stay requests / busy seconds."""
        self.latencies += other.latencies
        self.accepted_ids += other.accepted_ids
        self.readings += other.readings
        for status, n in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + n
        self.ended += other.ended - other.started

    @property
    def requests(self) -> int:
        return len(self.latencies)

    def rps(self) -> float:
        return self.requests / max(self.ended - self.started, 1e-9)

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


async def load(
    url: str,
    path: str,
    make_body: Callable[[int], tuple[bytes, dict[str, str], list[str]]],
    *,
    seconds: float,
    connections: int,
) -> Run:
    """``connections`` keep-alive connections, each sending back to back for ``seconds``."""
    host, _, port = url.removeprefix("http://").partition(":")
    run = Run()
    deadline = time.monotonic() + seconds

    async def worker(n: int) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        i = n
        try:
            while time.monotonic() < deadline:
                body, headers, ids = make_body(i)
                i += connections
                head = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
                head += ["Content-Type: application/json"] + [
                    f"{k}: {v}" for k, v in headers.items()
                ]
                request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
                t0 = time.perf_counter()
                writer.write(request)
                status, _payload = await _response(reader)
                run.latencies.append(time.perf_counter() - t0)
                run.statuses[status] = run.statuses.get(status, 0) + 1
                if status == 202:
                    run.accepted_ids.extend(ids)
                    run.readings += len(ids)
        finally:
            writer.close()

    run.started = time.monotonic()
    await asyncio.gather(*(worker(n) for n in range(connections)))
    run.ended = time.monotonic()
    return run


# ------------------------------------------------------------------------------------ helpers
def reading_json(user_id: uuid.UUID | None, n: int) -> tuple[dict[str, Any], str]:
    event_id = str(uuid.uuid4())
    x = (n * 7919 % 1000) / 1000
    item: dict[str, Any] = {
        "event_id": event_id,
        "occurred_at": datetime.now(UTC).isoformat(),
        "kind": "reading",
        "metrics": {"positivity": round(1 - x, 3), "intensity": x, "stress": round(x * x, 3)},
    }
    if user_id is not None:
        item["user_id"] = str(user_id)
    return item, event_id


def make_users(engine: Engine, n: int) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(n)]
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(USERS),
            [
                {
                    "id": u,
                    "email": f"bench-{u.hex}@bench.test",
                    "password_hash": "x",
                    "role": "customer",
                    "consent_emotion_processing": True,
                    "created_at": now,
                }
                for u in ids
            ],
        )
    return ids


def committed(engine: Engine, users: list[uuid.UUID]) -> tuple[set[str], int]:
    """Stored event ids of the bench users, and the readings their daily aggregates count."""
    with engine.connect() as conn:
        ids = {
            str(e)
            for e in conn.execute(
                select(EVENTS.c.event_id).where(EVENTS.c.user_id.in_(users))
            ).scalars()
        }
        total = conn.execute(
            select(func.coalesce(func.sum(DAILY.c.readings), 0)).where(DAILY.c.user_id.in_(users))
        ).scalar_one()
    return ids, int(total)


def count_committed(engine: Engine, users: list[uuid.UUID]) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(EVENTS).where(EVENTS.c.user_id.in_(users))
        return int(conn.execute(query).scalar_one())


async def wait_committed(engine: Engine, users: list[uuid.UUID], n: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(count_committed, engine, users) >= n:
            return time.monotonic()
        await asyncio.sleep(0.05)
    return float("nan")


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)


async def wait_http(url: str, timeout: float = 20) -> None:
    host, _, port = url.removeprefix("http://").partition(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _r, writer = await asyncio.open_connection(host, int(port))
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def machine() -> str:
    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -------------------------------------------------------------------------------- encoding
async def compare_encoding(settings: Settings, engine: Engine, users: list[uuid.UUID]) -> None:
    """One XADD per reading vs one entry per request: producer cost and consumer drain time."""
    client = aioredis.Redis.from_url(settings.effective_redis_url, socket_timeout=10)
    now = datetime.now(UTC)
    print("\nwire encoding (20,000 readings in requests of 100, one in-process consumer)")
    for label, per_entry in (("one XADD per reading ", 1), ("one entry per request", None)):
        stream = f"bench-enc-{uuid.uuid4().hex[:8]}"
        readings = [
            StreamReading(
                uuid.uuid4(), users[i % len(users)], now, "reading", 0.5, 0.5, 0.5, None, now
            )
            for i in range(20_000)
        ]
        t0 = time.perf_counter()
        for start in range(0, len(readings), 100):
            await publish(client, stream, readings[start : start + 100], per_entry=per_entry)
        produce = time.perf_counter() - t0
        s = settings.model_copy(update={"stream_name": stream, "stream_group": "bench"})
        consumer = StreamConsumer(s, client, engine, name="bench-enc", block_ms=50)
        await consumer.ensure_group()
        t0 = time.perf_counter()
        while consumer.totals.readings < len(readings):
            await consumer.step()
        drain = time.perf_counter() - t0
        await client.delete(stream)
        print(
            f"  {label}: produce {len(readings) / produce:>9,.0f} readings/s "
            f"({produce * 1e6 / 200:,.0f} µs per 100-reading request), "
            f"consume+commit {len(readings) / drain:>8,.0f} readings/s"
        )
    await client.aclose()


# ------------------------------------------------------------------------------------- main
async def main(args: argparse.Namespace) -> None:
    settings = get_settings()
    stream = f"emotions-bench-{uuid.uuid4().hex[:8]}"
    settings = settings.model_copy(update={"stream_name": stream, "stream_group": "bench"})
    engine = make_engine(settings.effective_database_url)
    env = {
        **os.environ,
        "ECS_STREAM_NAME": stream,
        "ECS_STREAM_GROUP": "bench",
        "ECS_LOG_LEVEL": args.log_level,
        "ECS_DATABASE_URL": settings.effective_database_url,
        "ECS_REDIS_URL": settings.effective_redis_url,
    }
    procs: list[subprocess.Popen[bytes]] = []
    py = sys.executable
    print(f"machine: {machine()}")
    print(
        f"database: {settings.effective_database_url.split('@')[-1]}  redis: "
        f"{settings.effective_redis_url}  stream: {stream}  consumers: {args.consumers}"
    )
    try:
        bare_port = free_port()
        bare_file = Path(f"/tmp/ecs_bench_bare_{bare_port}.py")
        await asyncio.to_thread(bare_file.write_text, BARE_APP)
        bare_url = f"http://127.0.0.1:{bare_port}"
        uvicorn_flags = [
            "--log-level",
            "warning",
            "--no-access-log",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
        ]
        procs.append(
            spawn(
                [
                    py,
                    "-m",
                    "uvicorn",
                    "--app-dir",
                    "/tmp",
                    f"{bare_file.stem}:app",
                    "--port",
                    str(bare_port),
                    *uvicorn_flags,
                ],
                env,
            )
        )
        api_url = args.api_url
        if api_url is None:
            port = free_port()
            api_url = f"http://127.0.0.1:{port}"
            procs.append(
                spawn(
                    [
                        py,
                        "-m",
                        "uvicorn",
                        "api.main:create_app",
                        "--factory",
                        "--port",
                        str(port),
                        *uvicorn_flags,
                    ],
                    env,
                )
            )
        for i in range(args.consumers):
            procs.append(spawn([py, "-m", "ecs", "stream", "--name", f"bench-{i}"], env))
        await wait_http(f"http://127.0.0.1:{bare_port}")
        await wait_http(api_url)
        users = make_users(engine, args.users)
        tokens = [f"Bearer {create_access_token(u, Role.CUSTOMER, settings)}" for u in users]

        def bare_body(n: int) -> tuple[bytes, dict[str, str], list[str]]:
            item, event_id = reading_json(None, n)
            return orjson.dumps(item), {}, [event_id]

        def single_body(n: int) -> tuple[bytes, dict[str, str], list[str]]:
            item, event_id = reading_json(None, n)
            return orjson.dumps(item), {"Authorization": tokens[n % len(tokens)]}, [event_id]

        def batch_body(n: int) -> tuple[bytes, dict[str, str], list[str]]:
            items = [reading_json(None, n * args.batch + k) for k in range(args.batch)]
            body = orjson.dumps({"readings": [i for i, _e in items]})
            return body, {"Authorization": tokens[n % len(tokens)]}, [e for _i, e in items]

        # Warm-up: consent cache, connection pools, JIT-less but cold imports.
        await load(api_url, "/v1/emotions", single_body, seconds=1, connections=8)
        await load(f"http://127.0.0.1:{bare_port}", "/bare", bare_body, seconds=1, connections=8)
        await wait_committed(engine, users, 1, 10)
        baseline = count_committed(engine, users)

        # Alternate bare and ECS rounds so background noise hits both alike. The consumers are
        # paused (SIGSTOP) meanwhile: on a small machine they would compete with the API for the
        # same cores, and the ratio is about the endpoint. They drain the backlog afterwards.
        consumers = procs[-args.consumers :] if args.consumers else []
        for proc in consumers:
            proc.send_signal(signal.SIGSTOP)
        bare, single = Run(), Run()
        single_first = 0.0
        per_round = args.seconds / args.rounds
        for _round in range(args.rounds):
            b = await load(
                bare_url, "/bare", bare_body, seconds=per_round, connections=args.connections
            )
            e = await load(
                api_url,
                "/v1/emotions",
                single_body,
                seconds=per_round,
                connections=args.connections,
            )
            single_first = single_first or e.started
            bare.merge(b)
            single.merge(e)
        for proc in consumers:
            proc.send_signal(signal.SIGCONT)
        single_done = await wait_committed(
            engine, users, baseline + single.readings, args.drain_timeout
        )
        mid = count_committed(engine, users)
        batched = await load(
            api_url,
            "/v1/emotions",
            batch_body,
            seconds=args.seconds,
            connections=max(2, args.connections // 8),
        )
        batch_done = await wait_committed(engine, users, mid + batched.readings, args.drain_timeout)

        stored, aggregated = committed(engine, users)
        sent = set(single.accepted_ids) | set(batched.accepted_ids)
        lost = len(sent - stored)
        extra_agg = aggregated - len(stored)

        print(
            f"\nbare FastAPI POST          {bare.rps():>9,.0f} req/s   p50 {bare.pct(0.5):6.1f} ms"
            f"   p99 {bare.pct(0.99):6.1f} ms   statuses {bare.statuses}"
        )
        print(
            f"POST /v1/emotions (single) {single.rps():>9,.0f} req/s   "
            f"p50 {single.pct(0.5):6.1f} ms"
            f"   p99 {single.pct(0.99):6.1f} ms   statuses {single.statuses}"
        )
        print(f"  ratio to bare            {single.rps() / max(bare.rps(), 1e-9):9.2f}")
        print(
            f"  end to end (committed)   {single.readings / (single_done - single_first):>9,.0f}"
            " readings/s (first POST to all committed; includes the bare rounds and the drain)"
        )
        print(
            f"POST /v1/emotions (batch of {args.batch}) {batched.rps():,.0f} req/s = "
            f"{batched.readings / (batched.ended - batched.started):,.0f} readings/s accepted, "
            f"p99 ack {batched.pct(0.99):.1f} ms"
        )
        print(
            f"  end to end (first POST → all committed) "
            f"{batched.readings / (batch_done - batched.started):>9,.0f} readings/s"
        )
        print(
            f"\naccepted readings {len(sent):,}  committed {len(stored):,}  lost {lost}  "
            f"duplicated (aggregates - rows) {extra_agg}"
        )
        if args.encoding:
            await compare_encoding(settings, engine, users)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        client = aioredis.Redis.from_url(settings.effective_redis_url)
        await client.delete(stream, f"{stream}:dead")
        await client.aclose()
        engine.dispose()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per load phase")
    parser.add_argument("--consumers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="alternating bare/ECS rounds")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--batch", type=int, default=100, help="readings per batched request")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--api-url", default=None, help="use a running API instead of starting one")
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--log-level", default="WARNING", help="ECS_LOG_LEVEL of started processes")
    parser.add_argument(
        "--no-encoding",
        dest="encoding",
        action="store_false",
        help="skip the per-reading vs per-request entry comparison",
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
