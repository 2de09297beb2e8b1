"""End-to-end ingest benchmark: HTTP → Redis stream → consumers → database, on loopback.

    python -m bench.ingest                                   # PostgreSQL (throwaway) + local Redis
    python -m bench.ingest --seconds 10 --consumers 2 --open-fractions 0.25,0.5
    python -m bench.ingest --database-url postgresql://... --redis-url redis://...
    python -m bench.ingest --api-url http://127.0.0.1:8000   # a running API (same secrets)
    python -m bench.ingest --phases batched --seconds 60 --shards 2   # the 50k/s target alone

Database: ``--database-url``, else a throwaway PostgreSQL database on 127.0.0.1:5432 (created,
migrated, dropped at the end), else SQLite in a temp dir. Redis: ``--redis-url``, else
``ECS_REDIS_URL`` / 127.0.0.1:6379, else the bundled redis-server, on a private stream and group
(deleted at the end). It starts a bare FastAPI app, the API and ``--consumers`` stream consumers,
and prints:

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
* wire encoding: one XADD per reading vs one entry per request, producer and consumer cost;
* the ceilings of the parts in the same run (``bench.lib.ceilings``): raw pipelined XADD of the
  same entries, raw binary COPY of the same rows into the same table.

``--phases batched`` runs only the batched phase (plus the checks and ceilings);
``--shards N`` runs the stream with ``ECS_STREAM_SHARDS=N``.

The load generator is ``bench.lib.rawhttp`` (raw asyncio HTTP/1.1 under uvloop; its docstring
says why not httpx or wrk).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import redis
import redis.asyncio as aioredis
import uvloop
from sqlalchemy import Engine, func, select

from api.security import create_access_token
from bench.lib.ceilings import copy_ceiling, sample_readings, xadd_ceiling
from bench.lib.cpu import CpuMeter, postgres_backends
from bench.lib.machine import busy, describe, load_average, markdown_line, text_block
from bench.lib.rawhttp import Run, load, open_load, wait_http
from bench.lib.services import (
    PG_ADMIN_URL,
    child_env,
    create_users,
    setup_database,
    setup_redis,
)
from bench.lib.stack import Stack, free_port, run_bench
from bench.lib.stats import pct_ms, verdict
from ecs.db.engine import make_engine
from ecs.db.tables import EmotionDaily, EmotionEvent
from ecs.domain.status import Role
from ecs.settings import Settings, get_settings
from ecs.stream.consumer import StreamConsumer
from ecs.stream.deadletters import dead_letter_stream
from ecs.stream.messages import StreamReading
from ecs.stream.producer import publish
from ecs.stream.shards import shard_keys

EVENTS = EmotionEvent.__table__  # type: ignore[attr-defined]
DAILY = EmotionDaily.__table__  # type: ignore[attr-defined]
UVICORN_FLAGS = ["--log-level", "warning", "--no-access-log", "--loop", "uvloop",
                 "--http", "httptools"]  # fmt: skip

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


_METRICS = [
    {"positivity": round(1 - x, 3), "intensity": x, "stress": round(x * x, 3)}
    for x in ((i * 7919 % 1000) / 1000 for i in range(1000))
]  # the values reading_json gives reading n, for n mod 1000


_METRICS_JSON = [orjson.dumps(m).decode() for m in _METRICS]


def _cycle(values: list[Any], start: int, count: int) -> list[Any]:
    return [values[(start + k) % len(values)] for k in range(count)]


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


# ------------------------------------------------------------------------------------- run
@dataclass
class Target:
    """What the phases load and check: the two servers, the bench users, the consumers."""

    api_url: str
    bare_url: str
    engine: Engine
    users: list[uuid.UUID]
    tokens: list[str]
    consumers: list[subprocess.Popen[bytes]]
    batch: int
    meter: CpuMeter
    id_prefix: str = field(default_factory=lambda: str(uuid.uuid4())[:24])  # + 12 hex digits

    def pause_consumers(self) -> None:
        for proc in self.consumers:
            proc.send_signal(signal.SIGSTOP)

    def resume_consumers(self) -> None:
        for proc in self.consumers:
            proc.send_signal(signal.SIGCONT)

    def bare_body(self, n: int) -> tuple[bytes, dict[str, str], list[str]]:
        item, event_id = reading_json(None, n)
        return orjson.dumps(item), {}, [event_id]

    def single_body(self, n: int) -> tuple[bytes, dict[str, str], list[str]]:
        item, event_id = reading_json(None, n)
        return orjson.dumps(item), {"Authorization": self.tokens[n % len(self.tokens)]}, [event_id]

    def batch_body(self, n: int) -> tuple[bytes, dict[str, str], list[str]]:
        """Cheap on purpose: the generator shares the two cores with what it measures. Building
        each reading as ``reading_json`` does (a uuid4 and a clock read per reading) cost the
        generator 5.7 µs per reading; dicts through ``orjson.dumps`` 1.6 µs; this 0.6 µs: the
        body is joined from text, each reading its event id (this run's random prefix and a
        counter: unique, so lost and duplicated stay countable) between the request's one
        timestamp and the metrics' precomputed JSON. ``test_bench_bodies`` checks the result
        is the JSON the dicts gave."""
        now = datetime.now(UTC).isoformat()
        first = n * self.batch
        ids = [f"{self.id_prefix}{first + k:012x}" for k in range(self.batch)]
        rest = f'","occurred_at":"{now}","kind":"reading","metrics":'
        readings = ",".join(
            [
                f'{{"event_id":"{e}{rest}{metrics}}}'
                for e, metrics in zip(ids, _cycle(_METRICS_JSON, first, self.batch), strict=True)
            ]
        )
        body = f'{{"readings":[{readings}]}}'.encode()
        return body, {"Authorization": self.tokens[n % len(self.tokens)]}, ids


def start_services(args: argparse.Namespace, stack: Stack, settings: Settings) -> tuple[str, str]:
    """The bare app, the API (unless ``--api-url``) and the consumers; (bare URL, API URL)."""
    env = child_env(settings, ECS_LOG_LEVEL=args.log_level)
    py = sys.executable
    bare_port = free_port()
    (stack.tmp / "bare_app.py").write_text(BARE_APP)
    stack.spawn("bare", [py, "-m", "uvicorn", "--app-dir", str(stack.tmp), "bare_app:app",
                         "--port", str(bare_port), *UVICORN_FLAGS], env)  # fmt: skip
    api_url = args.api_url
    if api_url is None:
        port = free_port()
        api_url = f"http://127.0.0.1:{port}"
        stack.spawn("api", [py, "-m", "uvicorn", "api.main:create_app", "--factory",
                            "--port", str(port), "--workers", str(args.api_workers),
                            *UVICORN_FLAGS], env)  # fmt: skip
    for i in range(args.consumers):
        stack.spawn(f"stream-{i}", [py, "-m", "ecs", "stream", "--name", f"bench-{i}"], env)
    return f"http://127.0.0.1:{bare_port}", api_url


async def run(args: argparse.Namespace, stack: Stack) -> int:
    load_before = load_average()
    if busy():
        print(f"warning: the machine is busy before the run (load {load_before})")
    database_url, database_desc = setup_database(stack, args.database_url)
    user_settings = get_settings()
    redis_url, redis_desc = setup_redis(stack, args.redis_url or user_settings.redis_url or None)
    stream = f"emotions-bench-{uuid.uuid4().hex[:8]}"
    settings = user_settings.model_copy(
        update={"stream_name": stream, "stream_group": "bench", "database_url": database_url,
                "redis_url": redis_url, "stream_shards": args.shards}
    )  # fmt: skip
    engine = make_engine(database_url)
    stack.cleanups.append(engine.dispose)
    stack.cleanups.append(functools.partial(delete_stream, redis_url, stream, args.shards))
    print(
        f"database: {database_desc}  redis: {redis_desc}  stream: {stream} x {args.shards} "
        f"shard(s)  consumers: {args.consumers}  load generator: asyncio + uvloop, raw HTTP/1.1",
        flush=True,
    )
    bare_url, api_url = start_services(args, stack, settings)
    await wait_http(bare_url)
    await wait_http(api_url)
    users = create_users(engine, args.users)
    tokens = [f"Bearer {create_access_token(u, Role.CUSTOMER, settings)}" for u in users]
    consumers = [p for name, p in stack.processes if name.startswith("stream-")]
    api = [p.pid for name, p in stack.processes if name == "api"]
    groups = {
        "API": lambda: api,
        "consumers": lambda: [p.pid for p in consumers],
        "load generator": lambda: [os.getpid()],
    }
    if database_url.startswith("postgres"):
        groups["PostgreSQL"] = postgres_backends(PG_ADMIN_URL, database_url.rsplit("/", 1)[1])
    meter = CpuMeter(groups, own=["load generator"])
    t = Target(api_url, bare_url, engine, users, tokens, consumers, args.batch, meter)

    # Warm-up: consent cache, connection pools, JIT-less but cold imports.
    warm = await load(api_url, "/v1/emotions", t.single_body, seconds=1, connections=8)
    await load(bare_url, "/bare", t.bare_body, seconds=1, connections=8)
    await wait_committed(engine, users, 1, 10)
    load_during = load_average()
    if args.phases == "batched":
        batched, e2e = await batched_phase(args, t)
        load_after = load_average()
        runs = [warm, batched]
    else:
        bare, single, single_e2e = await saturation(args, t)
        moderate = await open_phases(args, t, single.rps())
        batched, e2e = await batched_phase(args, t)
        load_after = load_average()
        runs = [warm, single, batched, *(r for _f, _m, r in moderate)]
        ratio = single.rps() / max(bare.rps(), 1e-9)
        print_results(args, bare, single, single_e2e, ratio, moderate)
    print_batched(args, batched, e2e)

    stored, aggregated = committed(engine, users)
    sent = {event_id for r in runs for event_id in r.accepted_ids}
    accepted = sum(r.readings for r in runs)
    lost = len(sent - stored)
    extra_agg = aggregated - len(stored)
    print(
        f"\naccepted readings {accepted:,} ({len(sent):,} distinct ids)  committed "
        f"{len(stored):,}  lost {lost}  duplicated (aggregates - rows) {extra_agg}"
    )
    ceilings = await measure_ceilings(args, database_url, redis_url, engine)
    if args.encoding and args.phases != "batched":
        await compare_encoding(settings, engine, users)
    facts = describe(
        load=f"{load_before} before, {load_during} at the first load phase, {load_after} after",
        database=database_desc,
        redis=redis_desc,
        consumers=f"{args.consumers} x `python -m ecs stream` (paused during the closed loop)",
    )
    print("\nmachine:\n" + text_block(facts))
    print(_batched_summary(args, e2e, lost, extra_agg, ceilings))
    if args.phases != "batched":
        print(_summary(args, bare, single, ratio, moderate))
    print("\n" + markdown_line(facts))
    return 0


def delete_stream(redis_url: str, stream: str, shards: int) -> None:
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
    try:
        for key in shard_keys(stream, shards):
            client.delete(key, dead_letter_stream(key))
    finally:
        client.close()


async def measure_ceilings(
    args: argparse.Namespace, database_url: str, redis_url: str, engine: Engine
) -> tuple[float, float | None]:
    """(raw XADD readings/s, raw COPY rows/s or None on SQLite), on fresh bench users."""
    users = create_users(engine, 50)
    readings = sample_readings(users, args.ceiling_readings)
    xadd = await xadd_ceiling(redis_url, readings, args.batch)
    copy = None if database_url.startswith("sqlite") else copy_ceiling(database_url, readings)
    print(
        f"ceilings (same run, {len(readings):,} readings): raw pipelined XADD {xadd:,.0f} "
        f"readings/s; raw binary COPY into emotion_events "
        + ("n/a (SQLite)" if copy is None else f"{copy:,.0f} rows/s")
    )
    return xadd, copy


async def saturation(args: argparse.Namespace, t: Target) -> tuple[Run, Run, float]:
    """Closed loop, bare and ECS rounds alternating so background noise hits both alike; the
    consumers paused meanwhile (on a small machine they would compete with the API for the same
    cores, and the ratio is about the endpoint), then drained. Also returns the single-reading
    end-to-end rate (first POST to all committed, bare rounds and drain included)."""
    baseline = count_committed(t.engine, t.users)
    t.pause_consumers()
    bare, single = Run(), Run()
    first = 0.0
    per_round = args.seconds / args.rounds
    for _round in range(args.rounds):
        b = await load(t.bare_url, "/bare", t.bare_body, seconds=per_round,
                       connections=args.connections)  # fmt: skip
        e = await load(t.api_url, "/v1/emotions", t.single_body, seconds=per_round,
                       connections=args.connections)  # fmt: skip
        first = first or e.started
        bare.merge(b)
        single.merge(e)
    t.resume_consumers()
    done = await wait_committed(t.engine, t.users, baseline + single.readings, args.drain_timeout)
    return bare, single, single.readings / (done - first)


async def open_phases(
    args: argparse.Namespace, t: Target, max_rps: float
) -> list[tuple[float, str, Run]]:
    """Moderate load, open loop: the ack latency of the endpoint itself, not the queue in front
    of a saturated server. Each fraction twice: consumers paused (the endpoint alone) and
    running (as in production: they share the cores)."""
    moderate: list[tuple[float, str, Run]] = []
    for fraction in args.open_fractions:
        for mode in ("paused", "running"):
            before = count_committed(t.engine, t.users)
            if mode == "paused":
                t.pause_consumers()
            run = await open_load(t.api_url, "/v1/emotions", t.single_body,
                                  rate=fraction * max_rps, seconds=args.open_seconds,
                                  connections=args.open_connections)  # fmt: skip
            t.resume_consumers()
            moderate.append((fraction, mode, run))
            await wait_committed(t.engine, t.users, before + run.readings, args.drain_timeout)
    return moderate


async def batched_phase(args: argparse.Namespace, t: Target) -> tuple[Run, float]:
    """Batched requests: (the run, readings/s from the first POST until every row is committed)."""
    before = count_committed(t.engine, t.users)
    t.meter.start()
    batched = await load(t.api_url, "/v1/emotions", t.batch_body, seconds=args.seconds,
                         connections=args.batch_connections)  # fmt: skip
    done = await wait_committed(t.engine, t.users, before + batched.readings, args.drain_timeout)
    used = t.meter.stop()
    print("CPU per reading (from /proc, independent of other load on the machine):")
    for name, seconds in used.items():
        per = seconds / max(batched.readings, 1) * 1e6
        print(f"  {name:15s} {seconds:7.2f} CPU s = {per:5.1f} µs/reading "
              f"= {1e6 / max(per, 1e-9):>9,.0f} readings/s per core")  # fmt: skip
    return batched, batched.readings / (done - batched.started)


def print_results(
    args: argparse.Namespace,
    bare: Run,
    single: Run,
    single_e2e: float,
    ratio: float,
    moderate: list[tuple[float, str, Run]],
) -> None:
    print(
        f"\nbare FastAPI POST          {bare.rps():>9,.0f} req/s   p50 {bare.pct(0.5):6.1f} ms"
        f"   p99 {bare.pct(0.99):6.1f} ms   statuses {bare.statuses}"
    )
    print(
        f"POST /v1/emotions (single) {single.rps():>9,.0f} req/s   p50 {single.pct(0.5):6.1f} ms"
        f"   p99 {single.pct(0.99):6.1f} ms   statuses {single.statuses}"
        f"   (closed loop, {args.connections} connections: saturation)"
    )
    print(f"  ratio to bare            {ratio:9.2f}")
    print(
        f"  end to end (committed)   {single_e2e:>9,.0f}"
        " readings/s (first POST to all committed; includes the bare rounds and the drain)"
    )
    for fraction, mode, run in moderate:
        print(
            f"POST /v1/emotions (single, open loop at {fraction:.0%} of max = "
            f"{fraction * single.rps():,.0f}/s offered, {run.rps():,.0f}/s achieved, "
            f"consumers {mode}): p50 {run.pct(0.5):.1f}  p99 {run.pct(0.99):.1f}  "
            f"max {run.pct(1.0):.1f} ms  send lag p99 {pct_ms(run.send_lag, 0.99, empty=0):.1f} ms"
            f"  generator loop stall p99/max {pct_ms(run.loop_stalls, 0.99, empty=0):.1f}/"
            f"{pct_ms(run.loop_stalls, 1.0, empty=0):.1f} ms  statuses {run.statuses}"
        )
        print(
            "    requests > 25 ms by second of the phase:",
            dict(sorted(run.slow_by_second.items())),
        )


def print_batched(args: argparse.Namespace, batched: Run, e2e: float) -> None:
    batch_rate = batched.readings / (batched.ended - batched.started)
    print(
        f"POST /v1/emotions (batch of {args.batch}, {args.batch_connections} connections, "
        f"{args.seconds:.0f} s) {batched.rps():,.0f} req/s = {batch_rate:,.0f} readings/s "
        f"accepted, p99 ack {batched.pct(0.99):.1f} ms"
    )
    print(f"  end to end (first POST → all committed) {e2e:>9,.0f} readings/s")


def _batched_summary(
    args: argparse.Namespace,
    e2e: float,
    lost: int,
    duplicated: int,
    ceilings: tuple[float, float | None],
) -> str:
    xadd, copy = ceilings
    copy_text = "n/a" if copy is None else f"{copy:,.0f} rows/s ({e2e / copy:.0%})"
    return "\n".join(
        [
            "",
            "| measure | value | target | met |",
            "| --- | ---: | ---: | :---: |",
            f"| batched ({args.batch}/request), HTTP → committed rows, {args.seconds:.0f} s, "
            f"{args.shards} shard(s), {args.consumers} consumer(s) | {e2e:,.0f} readings/s "
            f"| ≥ 50,000/s | {verdict(e2e >= 50_000)} |",
            f"| lost / duplicated | {lost} / {duplicated} | 0 / 0 "
            f"| {verdict(lost == 0 and duplicated == 0)} |",
            f"| ceiling: raw pipelined XADD, same entries | {xadd:,.0f} readings/s "
            f"({e2e / xadd:.0%}) | | |",
            f"| ceiling: raw binary COPY, same rows, same table | {copy_text} | | |",
        ]
    )


def _summary(
    args: argparse.Namespace,
    bare: Run,
    single: Run,
    ratio: float,
    moderate: list[tuple[float, str, Run]],
) -> str:
    rows = [
        "",
        "| measure | value | target | met |",
        "| --- | ---: | ---: | :---: |",
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
    parser.add_argument("--batch-connections", type=int, default=8)
    parser.add_argument("--phases", choices=["all", "batched"], default="all")
    parser.add_argument("--shards", type=int, default=1, help="ECS_STREAM_SHARDS of the run")
    parser.add_argument("--api-workers", type=int, default=1, help="uvicorn --workers")
    parser.add_argument(
        "--ceiling-readings", type=int, default=200_000, help="readings of the ceilings"
    )
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


def main() -> int:
    args = parse_args()
    return run_bench(functools.partial(run, args), prefix="ecs-bench-ingest-", runner=uvloop.run)


if __name__ == "__main__":
    raise SystemExit(main())
