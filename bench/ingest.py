"""End-to-end ingest benchmark: HTTP → Redis stream → consumers → database, on loopback.

    python bench/ingest.py                                   # PostgreSQL (throwaway) + local Redis
    python bench/ingest.py --seconds 10 --consumers 2 --open-fractions 0.25,0.5
    python bench/ingest.py --database-url postgresql://... --redis-url redis://...
    python bench/ingest.py --api-url http://127.0.0.1:8000   # a running API (same secrets)

Database: ``--database-url``, else a throwaway PostgreSQL database on 127.0.0.1:5432 (created,
migrated, dropped at the end), else SQLite in a temp dir. Redis: ``--redis-url``, else
``ECS_REDIS_URL`` / 127.0.0.1:6379, on a private stream and group (deleted at the end). It starts
a bare FastAPI app, the API and ``--consumers`` stream consumers, and prints:

* bare FastAPI POST endpoint: requests/s (the ceiling of this machine and HTTP stack);
* ``POST /v1/emotions`` with one reading per request, closed loop at saturation (``--connections``
  back to back, alternating rounds with the bare app, consumers paused): requests/s, p50/p99 ack,
  ratio to bare. p99 here is mostly queueing in front of a saturated server;
* the same endpoint in an **open loop** at ``--open-fractions`` of that maximum (requests on a
  fixed schedule, latency from the scheduled tick, so waiting for a free connection counts),
  once with the consumers paused (the endpoint alone) and once with them running (as in
  production, sharing the cores): p50/p99/max ack, how late requests left the generator, the
  generator's own event-loop stalls, and slow requests per second of the phase (stalls that
  hit every connection at once show up as one bad second);
* batched ``POST /v1/emotions``: readings/s from the first POST until every row is committed;
* lost readings (accepted, never committed) and duplicated effects (daily aggregates counting
  more readings than there are rows), over every phase;
* wire encoding: one XADD per reading vs one entry per request, producer and consumer cost.

The load generator is a minimal keep-alive HTTP/1.1 client on raw asyncio streams under uvloop:
an httpx client would saturate a core long before the server does. wrk (C) would leave more CPU
to the servers, but it has no open-loop mode (wrk2 is not installed) and its closed loop cannot
alternate with the bare rounds inside one run; the generator shares the machine with the API,
the consumers, PostgreSQL and Redis, so absolute figures are a floor and the ratio is the
comparable number.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as aioredis
import uvloop
from sqlalchemy import Engine, func, insert, select

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from _machine import busy, describe, load_average, markdown_line, text_block  # noqa: E402
from decisions import Stack  # noqa: E402
from decisions import setup_database as setup_throwaway_database  # noqa: E402

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
    # Open loop only: how late each request left the generator after its scheduled tick (a
    # saturated generator, or all connections busy, shows here; latencies include it).
    send_lag: list[float] = field(default_factory=list)
    # Open loop only: the generator's own event-loop stalls (a 1 ms timer's oversleep), to tell
    # a stalled load generator from a stalled server.
    loop_stalls: list[float] = field(default_factory=list)
    # Open loop only: requests slower than 25 ms, counted per second of the phase.
    slow_by_second: dict[int, int] = field(default_factory=dict)
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


async def open_load(
    url: str,
    path: str,
    make_body: Callable[[int], tuple[bytes, dict[str, str], list[str]]],
    *,
    rate: float,
    seconds: float,
    connections: int,
) -> Run:
    """Open loop: requests on a fixed schedule of ``rate``/s, whatever the responses do.

    Ticks go into a queue served by ``connections`` keep-alive connections; latency runs from
    the *scheduled* tick to the response, so time spent waiting for a free connection (the
    server falling behind) counts, as it would for a phone.
    """
    host, _, port = url.removeprefix("http://").partition(":")
    loop = asyncio.get_running_loop()
    run = Run()
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    count = max(1, round(rate * seconds))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while (item := await queue.get()) is not None:
                i, tick = item
                body, headers, ids = make_body(i)
                head = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
                head += ["Content-Type: application/json"] + [
                    f"{k}: {v}" for k, v in headers.items()
                ]
                run.send_lag.append(loop.time() - tick)
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
                status, _payload = await _response(reader)
                run.latencies.append(loop.time() - tick)
                if loop.time() - tick > 0.025:
                    second = int(tick - run.started)
                    run.slow_by_second[second] = run.slow_by_second.get(second, 0) + 1
                run.statuses[status] = run.statuses.get(status, 0) + 1
                if status == 202:
                    run.accepted_ids.extend(ids)
                    run.readings += len(ids)
        finally:
            writer.close()

    async def watchdog() -> None:
        while True:
            t = loop.time()
            await asyncio.sleep(0.001)
            run.loop_stalls.append(loop.time() - t - 0.001)

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    await asyncio.sleep(0.2)  # connections open before the first tick
    dog = asyncio.create_task(watchdog())
    run.started = start = loop.time()
    for i in range(count):
        tick = start + i / rate
        delay = tick - loop.time()
        if delay > 0.0005:
            await asyncio.sleep(delay)
        queue.put_nowait((i, tick))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    run.ended = loop.time()
    dog.cancel()
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
async def main(args: argparse.Namespace, stack: Stack) -> None:
    load_before = load_average()
    if busy():
        print(f"warning: the machine is busy before the run (load {load_before})")
    # --database-url, else a throwaway PostgreSQL database (dropped at the end), else SQLite.
    database_url, database_desc = setup_throwaway_database(stack, args.database_url)
    stream = f"emotions-bench-{uuid.uuid4().hex[:8]}"
    settings = get_settings().model_copy(
        update={"stream_name": stream, "stream_group": "bench", "database_url": database_url}
    )
    if args.redis_url:
        settings = settings.model_copy(update={"redis_url": args.redis_url})
    engine = make_engine(settings.effective_database_url)
    env = {
        **os.environ,
        "ECS_STREAM_NAME": stream,
        "ECS_STREAM_GROUP": "bench",
        "ECS_LOG_LEVEL": args.log_level,
        "ECS_DATABASE_URL": settings.effective_database_url,
        "ECS_REDIS_URL": settings.effective_redis_url,
        "ECS_JWT_SECRET": settings.jwt_secret.get_secret_value(),
    }
    procs: list[subprocess.Popen[bytes]] = []
    py = sys.executable
    print(
        f"database: {database_desc}  redis: {settings.effective_redis_url}  stream: {stream}  "
        f"consumers: {args.consumers}  load generator: asyncio + uvloop, raw HTTP/1.1",
        flush=True,
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
        bare_file.unlink(missing_ok=True)
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
        warm = await load(api_url, "/v1/emotions", single_body, seconds=1, connections=8)
        await load(f"http://127.0.0.1:{bare_port}", "/bare", bare_body, seconds=1, connections=8)
        await wait_committed(engine, users, 1, 10)
        baseline = count_committed(engine, users)

        # 1. Saturation, closed loop. Alternate bare and ECS rounds so background noise hits both
        # alike. The consumers are paused (SIGSTOP) meanwhile: on a small machine they would
        # compete with the API for the same cores, and the ratio is about the endpoint. They
        # drain the backlog afterwards.
        consumers = procs[-args.consumers :] if args.consumers else []
        for proc in consumers:
            proc.send_signal(signal.SIGSTOP)
        bare, single = Run(), Run()
        single_first = 0.0
        per_round = args.seconds / args.rounds
        load_during = load_average()
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

        # 2. Moderate load, open loop: the ack latency of the endpoint itself, not the queue in
        # front of a saturated server. Each fraction twice: consumers paused (the endpoint alone,
        # as in the closed loop) and consumers running (as in production: they share the cores).
        moderate: list[tuple[float, str, Run]] = []
        for fraction in args.open_fractions:
            for mode in ("paused", "running"):
                rate = fraction * single.rps()
                before = count_committed(engine, users)
                if mode == "paused":
                    for proc in consumers:
                        proc.send_signal(signal.SIGSTOP)
                run = await open_load(
                    api_url,
                    "/v1/emotions",
                    single_body,
                    rate=rate,
                    seconds=args.open_seconds,
                    connections=args.open_connections,
                )
                for proc in consumers:
                    proc.send_signal(signal.SIGCONT)
                moderate.append((fraction, mode, run))
                await wait_committed(engine, users, before + run.readings, args.drain_timeout)

        # 3. Batched: readings/s from the first POST until every row is committed.
        mid = count_committed(engine, users)
        batched = await load(
            api_url,
            "/v1/emotions",
            batch_body,
            seconds=args.seconds,
            connections=max(2, args.connections // 8),
        )
        batch_done = await wait_committed(engine, users, mid + batched.readings, args.drain_timeout)
        load_after = load_average()

        stored, aggregated = committed(engine, users)
        sent = set(warm.accepted_ids) | set(single.accepted_ids) | set(batched.accepted_ids)
        for _fraction, _mode, run in moderate:
            sent |= set(run.accepted_ids)
        accepted = (
            warm.readings
            + single.readings
            + batched.readings
            + sum(r.readings for _f, _m, r in moderate)
        )
        lost = len(sent - stored)
        extra_agg = aggregated - len(stored)
        ratio = single.rps() / max(bare.rps(), 1e-9)

        print(
            f"\nbare FastAPI POST          {bare.rps():>9,.0f} req/s   p50 {bare.pct(0.5):6.1f} ms"
            f"   p99 {bare.pct(0.99):6.1f} ms   statuses {bare.statuses}"
        )
        print(
            f"POST /v1/emotions (single) {single.rps():>9,.0f} req/s   "
            f"p50 {single.pct(0.5):6.1f} ms"
            f"   p99 {single.pct(0.99):6.1f} ms   statuses {single.statuses}"
            f"   (closed loop, {args.connections} connections: saturation)"
        )
        print(f"  ratio to bare            {ratio:9.2f}")
        print(
            f"  end to end (committed)   {single.readings / (single_done - single_first):>9,.0f}"
            " readings/s (first POST to all committed; includes the bare rounds and the drain)"
        )
        for fraction, mode, run in moderate:
            print(
                f"POST /v1/emotions (single, open loop at {fraction:.0%} of max = "
                f"{fraction * single.rps():,.0f}/s offered, {run.rps():,.0f}/s achieved, "
                f"consumers {mode}): p50 {run.pct(0.5):.1f}  p99 {run.pct(0.99):.1f}  "
                f"max {run.pct(1.0):.1f} ms  send lag p99 {_pct(run.send_lag, 0.99):.1f} ms  "
                f"generator loop stall p99/max {_pct(run.loop_stalls, 0.99):.1f}/"
                f"{_pct(run.loop_stalls, 1.0):.1f} ms  "
                f"statuses {run.statuses}"
            )
            print(
                "    requests > 25 ms by second of the phase:",
                dict(sorted(run.slow_by_second.items())),
            )
        batch_rate = batched.readings / (batched.ended - batched.started)
        e2e = batched.readings / (batch_done - batched.started)
        print(
            f"POST /v1/emotions (batch of {args.batch}) {batched.rps():,.0f} req/s = "
            f"{batch_rate:,.0f} readings/s accepted, p99 ack {batched.pct(0.99):.1f} ms"
        )
        print(f"  end to end (first POST → all committed) {e2e:>9,.0f} readings/s")
        print(
            f"\naccepted readings {accepted:,} ({len(sent):,} distinct ids)  committed "
            f"{len(stored):,}  lost {lost}  duplicated (aggregates - rows) {extra_agg}"
        )
        if args.encoding:
            await compare_encoding(settings, engine, users)

        facts = describe(
            load=f"{load_before} before, {load_during} at the first load phase, {load_after} after",
            database=database_desc,
            redis=settings.effective_redis_url,
            consumers=f"{args.consumers} x `python -m ecs stream` (paused during the closed loop)",
        )
        print("\nmachine:\n" + text_block(facts))
        print(_summary(args, bare, single, ratio, moderate, e2e, lost, extra_agg))
        print("\n" + markdown_line(facts))
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
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


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def _summary(
    args: argparse.Namespace,
    bare: Run,
    single: Run,
    ratio: float,
    moderate: list[tuple[float, str, Run]],
    e2e: float,
    lost: int,
    duplicated: int,
) -> str:
    def verdict(ok: bool) -> str:
        return "✅" if ok else "❌"

    rows = [
        "",
        "| measure | value | target | met |",
        "| --- | ---: | ---: | :---: |",
        f"| batched ({args.batch}/request), HTTP → committed rows | {e2e:,.0f} readings/s "
        f"| ≥ 50,000/s | {verdict(e2e >= 50_000)} |",
        f"| lost / duplicated | {lost} / {duplicated} | 0 / 0 "
        f"| {verdict(lost == 0 and duplicated == 0)} |",
        f"| one reading per request, closed loop C={args.connections} | {single.rps():,.0f} req/s "
        f"| | |",
        f"| bare FastAPI POST, same run | {bare.rps():,.0f} req/s | | |",
        f"| ratio | {ratio:.2f}x | ≥ 0.5x | {verdict(ratio >= 0.5)} |",
        f"| p99 ack at saturation (closed loop C={args.connections}) | {single.pct(0.99):.1f} ms "
        f"| ≤ 25 ms | {verdict(single.pct(0.99) <= 25)} |",
    ]
    for fraction, mode, run in moderate:
        rows.append(
            f"| p99 ack, open loop at {fraction:.0%} of max ({run.rps():,.0f} req/s), "
            f"consumers {mode} "
            f"| {run.pct(0.99):.1f} ms | ≤ 25 ms | {verdict(run.pct(0.99) <= 25)} |"
        )
    return "\n".join(rows)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per load phase")
    parser.add_argument("--consumers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="alternating bare/ECS rounds")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--batch", type=int, default=100, help="readings per batched request")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--api-url", default=None, help="use a running API instead of starting one")
    parser.add_argument(
        "--database-url", default=None, help="default: a throwaway PostgreSQL database"
    )
    parser.add_argument("--redis-url", default=None, help="default: ECS_REDIS_URL / 127.0.0.1:6379")
    parser.add_argument(
        "--open-fractions",
        type=lambda v: [float(x) for x in v.split(",") if x],
        default=[0.25, 0.5],
        help="open-loop phases at these fractions of the measured max (comma-separated)",
    )
    parser.add_argument("--open-seconds", type=float, default=10.0, help="per open-loop phase")
    parser.add_argument("--open-connections", type=int, default=64)
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--log-level", default="WARNING", help="ECS_LOG_LEVEL of started processes")
    parser.add_argument(
        "--no-encoding",
        dest="encoding",
        action="store_false",
        help="skip the per-reading vs per-request entry comparison",
    )
    return parser.parse_args()


def run() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="ecs-bench-ingest-") as tmp:
        stack = Stack(Path(tmp))
        try:
            uvloop.run(main(args, stack))
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        finally:
            stack.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(run())
