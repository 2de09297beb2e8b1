"""Emotion reading → visible in an open decision's state: latency through the real system.

    python -m bench.signals                                   # 20 users, 10 readings/s, 30 s
    python -m bench.signals --users 20 --rate 10 --duration 30 --poll-ms 10

docs/design.md: "emotion reading → visible in an open decision's state, p99 ≤ 500 ms". The path is
``POST /v1/emotions`` (202 once the reading is in the Redis stream) → the stream consumer
(``python -m ecs stream``: XREADGROUP, commit the rows, look up open decisions) → its signaller
(one ``emotion`` signal per user per ``ECS_STREAM_SIGNAL_INTERVAL_MS``, default 100 ms, kept
here) → the worker runs a workflow task for the signal → the ``status`` query shows the reading's
id as ``last_emotion_event_id``.

What it starts (and always stops, on error or Ctrl-C too, with ``bench.lib``): a Temporal dev
server in memory (``ecs.temporal.devserver`` config), a throwaway PostgreSQL database (created,
migrated, dropped; SQLite if PostgreSQL is unreachable), the worker, one stream consumer and the
API as subprocesses, on a private stream and consumer group in the machine's Redis (both keys
deleted at the end).

Then: N users with four months of salary history get an OFFERED decision each
(``POST /v1/credit-decisions?wait=10``). For ``--duration`` seconds, one reading (a fresh event
id) is posted per tick at ``--rate``, round-robin over the users (each user gets one every
N / rate seconds, far apart from the 100 ms coalescing window, so no reading is coalesced away).
``--readings distress`` (default: stress 0.85-0.95, intensity 0.7-0.9) are *urgent* readings;
the first one starts the decision's cooling-off pause, in which every reading is urgent too.
``--readings calm`` (stress 0.1-0.4) are *routine*: the consumer signals them at most once per
``ECS_STREAM_ROUTINE_SIGNAL_INTERVAL_S`` (60 s) per user, by design, so with the product default
almost none is visible within 5 s; ``--routine-interval-s 0`` shows the pipeline's own latency
for them. For each reading, a Temporal client (same payload key as the services)
polls the decision's ``status`` query every ``--poll-ms`` until ``last_emotion_event_id`` is the
posted id.
Latency runs from the HTTP 202 to the first query that shows it: it includes up to one polling
interval plus one query round trip, so it slightly overstates the real figure. Readings not
visible within ``--visible-timeout`` (5 s) are counted, not averaged in.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import redis
from temporalio.client import Client

from api.security import create_access_token
from bench.lib.machine import busy, describe, load_average, markdown_line, text_block
from bench.lib.services import (
    bench_settings,
    child_env,
    create_users,
    setup_database,
    setup_redis,
    start_temporal,
    wait_ready,
)
from bench.lib.stack import Stack, free_port, run_bench
from bench.lib.stats import verdict
from ecs.contracts import QUERY_STATUS, DecisionView, workflow_id_for
from ecs.db.engine import make_engine
from ecs.domain.status import Role
from ecs.settings import Settings
from ecs.stats import percentile
from ecs.stream.deadletters import dead_letter_stream
from ecs.temporal.client import connect
from ecs.temporal.devserver import DYNAMIC_CONFIG

TARGET_P99_MS = 500.0
REQUEST_TIMEOUT = 15.0


@dataclass
class Reading:
    user: int
    event_id: str
    posted: float = 0.0  # loop time the POST was sent
    acked: float = 0.0  # loop time of the 202
    visible: float | None = None  # loop time of the first query showing it
    status: int = 0
    error: str = ""

    @property
    def ack_ms(self) -> float:
        return (self.acked - self.posted) * 1000

    @property
    def latency_ms(self) -> float | None:
        return None if self.visible is None else (self.visible - self.acked) * 1000


@dataclass
class Results:
    readings: list[Reading] = field(default_factory=list)
    queries: int = 0
    query_errors: int = 0

    def visible_ms(self) -> list[float]:
        return sorted(r.latency_ms for r in self.readings if r.latency_ms is not None)

    def invisible(self) -> int:
        return sum(r.status == 202 and r.visible is None for r in self.readings)

    def failed(self) -> int:
        return sum(r.status != 202 for r in self.readings)


@dataclass
class Options:
    users: int
    rate: float
    duration: float
    poll_ms: float
    visible_timeout: float
    warmup: int
    database_url: str | None
    redis_url: str | None
    readings: str = "distress"
    routine_interval_s: float | None = None


# ------------------------------------------------------------------------------------ run
async def run(opts: Options, stack: Stack) -> int:
    t_setup = time.monotonic()
    load = load_average()
    if busy():
        print(f"warning: the machine is busy before the run (load {load}): figures will be high")
    database_url, database_desc = setup_database(stack, opts.database_url)
    redis_url, redis_desc = setup_redis(stack, opts.redis_url)
    settings = bench_settings(
        stack, "signals", database_url, redis_url, stream_group=f"bench-signals-{uuid.uuid4().hex}"
    )

    def delete_stream() -> None:
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
        try:
            removed = client.delete(settings.stream_name, dead_letter_stream(settings.stream_name))
            print(f"  deleted {removed} stream key(s) {settings.stream_name}*")
        finally:
            client.close()

    stack.cleanups.append(delete_stream)
    env = child_env(settings)
    # The default coalescing window, stated rather than inherited from the caller's environment.
    env["ECS_STREAM_SIGNAL_INTERVAL_MS"] = str(settings.stream_signal_interval_ms)
    routine = (
        settings.stream_routine_signal_interval_s
        if opts.routine_interval_s is None
        else opts.routine_interval_s
    )
    env["ECS_STREAM_ROUTINE_SIGNAL_INTERVAL_S"] = str(routine)
    settings = settings.model_copy(update={"stream_routine_signal_interval_s": routine})

    start_temporal(stack, settings)
    python = sys.executable
    stack.spawn("worker", [python, "-m", "ecs", "worker"], env=env)
    stack.spawn("stream", [python, "-m", "ecs", "stream", "--name", settings.stream_name], env=env)
    api_port = free_port()
    stack.spawn("api", [python, "-m", "ecs", "api", "--port", str(api_port)], env=env)

    engine = make_engine(database_url)
    stack.cleanups.append(engine.dispose)
    users = create_users(engine, opts.users)
    tokens = [create_access_token(u, Role.CUSTOMER, settings) for u in users]
    client = await connect(settings)

    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    api = f"http://127.0.0.1:{api_port}"
    async with httpx.AsyncClient(base_url=api, limits=limits, timeout=REQUEST_TIMEOUT) as http:
        await wait_ready(stack, http)
        workflow_ids = await open_decisions(http, tokens)
        print(
            f"{len(workflow_ids)} OFFERED decisions open; setup {time.monotonic() - t_setup:.1f} s",
            flush=True,
        )
        # Warm-up: the signaller connects to Temporal on its first signal, the API's consent
        # cache fills, the worker caches each workflow. Not counted.
        warm = await measure(opts, http, client, tokens, workflow_ids, count=opts.warmup)
        if warm.invisible() or warm.failed():
            stack.check_alive()
            print(f"warning: warm-up: {warm.failed()} failed, {warm.invisible()} not visible")
        load_during = load_average()
        results = await measure(opts, http, client, tokens, workflow_ids, count=None)
        load_after = load_average()
        stack.check_alive()

    report(opts, results, settings)
    if results.invisible():
        seen = [r.visible is not None for r in results.readings]
        print("visible by reading index:", "".join("v" if v else "." for v in seen))
        for user, wid in enumerate(workflow_ids[:3]):
            view = await client.get_workflow_handle(wid).query(
                QUERY_STATUS, result_type=DecisionView
            )
            posted = [r.event_id for r in results.readings if r.user == user]
            print(
                f"user {user}: status {view.status} signals seen {view.emotion_signals_seen}, "
                f"last {view.last_emotion_event_id}, posted last {posted[-1:]}"
            )
        first = next(i for i, r in enumerate(results.readings) if r.visible is None)
        print(f"\nfirst reading not visible: #{first} (user {results.readings[first].user})")
        for name in ("stream", "worker"):
            log = (stack.tmp / f"{name}.log").read_text(errors="replace").splitlines()
            print(f"--- last lines of the {name} log ---", *log[-15:], sep="\n")
    facts = describe(
        load=f"{load} before, {load_during} at start of measuring, {load_after} after",
        database=database_desc,
        redis=redis_desc,
        temporal="dev server in memory, " + ", ".join(DYNAMIC_CONFIG),
        stream=f"1 consumer, ECS_STREAM_SIGNAL_INTERVAL_MS={settings.stream_signal_interval_ms}, "
        f"ECS_STREAM_ROUTINE_SIGNAL_INTERVAL_S={settings.stream_routine_signal_interval_s:g}",
    )
    print("\nmachine:\n" + text_block(facts))
    print("\n" + markdown_line(facts) + "\n")
    return 0


async def open_decisions(http: httpx.AsyncClient, tokens: list[str]) -> list[str]:
    """One OFFERED decision per user (four at a time), or fail loudly."""
    semaphore = asyncio.Semaphore(4)

    async def one(token: str) -> str:
        async with semaphore:
            response = await http.post(
                "/v1/credit-decisions",
                params={"wait": 10},
                headers={"Authorization": f"Bearer {token}"},
            )
        body = response.json() if response.content else {}
        if response.status_code != 201 or body.get("status") != "OFFERED":
            raise RuntimeError(f"decision not OFFERED: {response.status_code} {str(body)[:300]}")
        return workflow_id_for(body["id"])

    return list(await asyncio.gather(*(one(t) for t in tokens)))


async def measure(
    opts: Options,
    http: httpx.AsyncClient,
    client: Client,
    tokens: list[str],
    workflow_ids: list[str],
    count: int | None,
) -> Results:
    """Open loop: one reading per tick, round-robin over the users; ``count`` readings (back to
    back, for warm-up) or ``rate x duration`` on the schedule."""
    loop = asyncio.get_running_loop()
    results = Results()
    rng = random.Random(7)

    async def one(i: int) -> None:
        user = i % len(tokens)
        reading = Reading(user, str(uuid.uuid4()))
        results.readings.append(reading)
        body = {
            "event_id": reading.event_id,
            "occurred_at": datetime.now(UTC).isoformat(),
            "kind": "reading",
            "metrics": (
                {
                    "positivity": round(rng.uniform(0.05, 0.2), 3),
                    "intensity": round(rng.uniform(0.7, 0.9), 3),
                    "stress": round(rng.uniform(0.85, 0.95), 3),
                }
                if opts.readings == "distress"
                else {
                    "positivity": round(rng.uniform(0.5, 0.9), 3),
                    "intensity": round(rng.uniform(0.1, 0.4), 3),
                    "stress": round(rng.uniform(0.1, 0.4), 3),
                }
            ),
        }
        reading.posted = loop.time()
        try:
            response = await http.post(
                "/v1/emotions", json=body, headers={"Authorization": f"Bearer {tokens[user]}"}
            )
        except httpx.HTTPError as exc:
            reading.error = f"{type(exc).__name__}: {exc}"
            return
        reading.acked = loop.time()
        reading.status = response.status_code
        if response.status_code != 202:
            reading.error = f"{response.status_code} {response.text[:200]}"
            return
        handle = client.get_workflow_handle(workflow_ids[user])
        deadline = reading.acked + opts.visible_timeout
        while loop.time() < deadline:
            try:
                view: DecisionView = await handle.query(QUERY_STATUS, result_type=DecisionView)
                results.queries += 1
            except Exception as exc:  # a failed query is retried until the deadline
                results.query_errors += 1
                reading.error = f"query: {type(exc).__name__}: {exc}"
                await asyncio.sleep(opts.poll_ms / 1000)
                continue
            if view.last_emotion_event_id == reading.event_id:
                reading.visible = loop.time()
                return
            await asyncio.sleep(opts.poll_ms / 1000)

    if count is not None:
        for i in range(count):
            await one(i)
        return results
    n = max(1, round(opts.rate * opts.duration))
    start = loop.time() + 0.05
    tasks: list[asyncio.Task[None]] = []
    for i in range(n):
        delay = start + i / opts.rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return results


def report(opts: Options, results: Results, settings: Settings) -> None:
    visible = results.visible_ms()
    acks = sorted(r.ack_ms for r in results.readings if r.status == 202)
    n = len(results.readings)
    p99 = percentile(visible, 0.99)
    met = verdict(bool(visible) and p99 <= TARGET_P99_MS and not results.invisible())
    print(
        f"\nreadings posted {n}, accepted {n - results.failed()}, failed {results.failed()}, "
        f"visible {len(visible)}, not visible within {opts.visible_timeout:g} s "
        f"{results.invisible()}; status queries {results.queries} "
        f"({results.query_errors} failed)"
    )
    if acks:
        print(
            f"HTTP ack (POST → 202): p50 {percentile(acks, 0.5):.1f}  "
            f"p99 {percentile(acks, 0.99):.1f}  max {acks[-1]:.1f} ms"
        )
    if visible:
        print(
            f"ack → visible: p50 {percentile(visible, 0.5):.1f}  "
            f"p95 {percentile(visible, 0.95):.1f}  p99 {p99:.1f}  max {visible[-1]:.1f} ms  "
            f"mean {statistics.fmean(visible):.1f} ms"
        )
    errors = [r.error for r in results.readings if r.error and r.visible is None]
    for error in errors[:5]:
        print("  error:", error)
    per_user = opts.users / opts.rate
    print(
        "\n| measure | value | target | met |\n| --- | ---: | ---: | :---: |\n"
        f"| reading → visible in decision state, p50 | {percentile(visible, 0.5):.1f} ms | | |\n"
        f"| reading → visible in decision state, p95 | {percentile(visible, 0.95):.1f} ms | | |\n"
        f"| reading → visible in decision state, p99 | {p99:.1f} ms | ≤ {TARGET_P99_MS:g} ms "
        f"| {met} |\n"
        f"| reading → visible, max | {visible[-1] if visible else float('nan'):.1f} ms | | |\n"
        f"| not visible within {opts.visible_timeout:g} s | {results.invisible()} of "
        f"{n - results.failed()} | 0 | {verdict(not results.invisible())} |"
    )
    print(
        f"\n{opts.rate:g} readings/s for {opts.duration:g} s over {opts.users} users (one reading "
        f"per user every {per_user:.1f} s), status polled every {opts.poll_ms:g} ms, "
        f"{opts.readings} readings, urgent coalescing window "
        f"{settings.stream_signal_interval_ms} ms (default), routine readings at most every "
        f"{settings.stream_routine_signal_interval_s:g} s per user"
    )


# ----------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=20, help="users with an OFFERED decision")
    parser.add_argument("--rate", type=float, default=10.0, help="readings/s (round-robin)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of readings")
    parser.add_argument("--poll-ms", type=float, default=10.0, help="status query interval")
    parser.add_argument("--visible-timeout", type=float, default=5.0, help="give up after (s)")
    parser.add_argument("--warmup", type=int, default=10, help="readings before measuring")
    parser.add_argument(
        "--readings",
        choices=("distress", "calm"),
        default="distress",
        help="distress (stress 0.85-0.95, intensity 0.7-0.9: urgent, signalled within "
        "ECS_STREAM_SIGNAL_INTERVAL_MS; the first one starts the cooling-off pause) or calm "
        "(stress 0.1-0.4: routine, signalled at most every ECS_STREAM_ROUTINE_SIGNAL_INTERVAL_S)",
    )
    parser.add_argument(
        "--routine-interval-s",
        type=float,
        default=None,
        help="ECS_STREAM_ROUTINE_SIGNAL_INTERVAL_S for the consumer (default: the product's, "
        "60 s; 0 makes calm readings go as fast as urgent ones)",
    )
    parser.add_argument("--database-url", default=None, help="default: throwaway PG, else SQLite")
    parser.add_argument("--redis-url", default=None, help="default: redis://127.0.0.1:6379/0")
    ns = parser.parse_args(argv)
    if ns.users <= 0 or ns.rate <= 0 or ns.duration <= 0 or ns.poll_ms <= 0:
        parser.error("--users, --rate, --duration and --poll-ms must be positive")
    return Options(
        users=ns.users,
        rate=ns.rate,
        duration=ns.duration,
        poll_ms=ns.poll_ms,
        visible_timeout=ns.visible_timeout,
        warmup=ns.warmup,
        database_url=ns.database_url,
        redis_url=ns.redis_url,
        readings=ns.readings,
        routine_interval_s=ns.routine_interval_s,
    )


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    budget = 240 + opts.duration + opts.visible_timeout + opts.warmup * opts.visible_timeout
    return run_bench(functools.partial(run, opts), prefix="ecs-bench-signals-", budget=budget)


if __name__ == "__main__":
    raise SystemExit(main())
