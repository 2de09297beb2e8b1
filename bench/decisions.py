"""Credit-decision benchmark: a customer's whole journey, ECS beside a synchronous baseline and
the journey floor (the same journey on bare Temporal), in one run.

    python -m bench.decisions                        # the `make run` stack, 10/s for 15 s
    python -m bench.decisions --temporal memory      # the dev server in memory (an extra row)
    python -m bench.decisions --postgres             # a throwaway PostgreSQL database
    python -m bench.decisions --database-url postgresql://... --redis-url redis://...

Why it exists: issue 11 sets the targets at 10 decisions/s on this 2-core machine (request →
offer p50 ≤ 25 ms, p99 ≤ 60 ms; accept → 202 p50 ≤ 10 ms; accept → credit line ACTIVE p50 ≤
25 ms; ECS within 1.5x a synchronous design; throughput ≥ 0.9x a bare workflow with the same
activity mix), all *measured in the same run* so the ratios say what ECS itself costs, whatever
else the shared cores are doing (each phase prints the cores its services used, and the
machine's, and the CPU its services spent per journey).

What it starts (and always stops, on error or Ctrl-C too):

* the Temporal dev server as ``make run`` starts it: history in a SQLite file with the pragmas
  and dynamic config of ``ecs.temporal.devserver`` (``--temporal memory``: in memory);
* a database: a SQLite file as ``make run`` (``--postgres``: a throwaway PostgreSQL database on
  127.0.0.1:5432, created, migrated and dropped; ``--database-url``: that one);
* Redis: ``--redis-url`` (default redis://127.0.0.1:6379/0), else the bundled redis-server;
* the real worker (``python -m ecs worker``), and workers for the journey floor
  (``bench.lib.floor``) and the bare workflow (``bench.lib.bare``) with the same settings, as
  subprocesses: on 2 cores a worker inside this process would compete with the load generator
  for one GIL (``--worker inprocess`` measures that variant);
* the real API (``python -m ecs api``) under uvicorn, and the synchronous baseline
  (``bench.lib.baseline``: the same reads, scoring and writes inside one HTTP request, a
  background task activating the line) on the same database.

Load: an **open loop** fires one journey per tick on a fixed schedule (latency counts from the
scheduled tick, so a stalled server cannot hide its queueing): a fresh user (with ledger
history) asks ``POST /v1/credit-decisions?wait=10`` (update-with-start on ``wait_decided``),
accepts the offer at once, and the bench polls the database until the credit line exists
(``bench.lib.journey``). The baseline gets the same schedule, then the **journey floor**: the
same journey, timed the same way, on a workflow with the real one's Temporal shape
(update-with-start, 3 trivial local activities, a regular notify, an ``accept`` update, one
regular activity) and nothing of ECS, started from this process; it is the reference of the
throughput ratio. Then the bare workflow (``execute_workflow``, 3 trivial *local* activities then
1 regular, no update; ``--bare-mix regular``: 4 regular; ``both``) as extra rows. Then a
**closed loop** with ``--concurrency`` callers measures the maximum request → offer rate of ECS,
the journey floor and the bare workflow. A breakdown from workflow histories (event timestamps)
shows how much of the latency is Temporal, activities, and the API.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from api.security import create_access_token
from bench.lib import bare, baseline, floor
from bench.lib import service_cpu as cpu
from bench.lib.histories import history_breakdown
from bench.lib.journey import (
    BASELINE_ROUTES,
    ECS_ROUTES,
    Journeys,
    floor_journey,
    journey,
    start_temporal_file,
)
from bench.lib.loops import Fire, Phase, Sample, closed_loop, open_loop
from bench.lib.machine import busy, describe, load_average, markdown_line, text_block
from bench.lib.report import summary_table
from bench.lib.services import (
    DEFAULT_REDIS_URL,
    bench_settings,
    child_env,
    create_users,
    setup_database,
    setup_redis,
    start_temporal,
    wait_ready,
)
from bench.lib.stack import Stack, free_port, run_bench
from ecs.db.engine import make_engine
from ecs.db.migrate import upgrade
from ecs.domain.status import Role
from ecs.settings import Settings
from ecs.temporal.client import connect
from ecs.temporal.devserver import DYNAMIC_CONFIG

WAIT_SECONDS = 10
TEMPORAL_KINDS = {"file": "file-backed (SQLite, as `make run`)", "memory": "in memory"}
REQUEST_TIMEOUT = 15.0
FLOOR = "journey floor"
WARMUP = 10
# The closed loop may go much faster than the open loop: users are created up front for this
# many decisions per second (a loop that runs out of users stops early and says so).
CLOSED_LOOP_MAX_RATE = 100


# -------------------------------------------------------------------------------------- run
@dataclass
class Options:
    rate: float
    duration: float
    concurrency: int
    closed_duration: float
    database_url: str | None
    redis_url: str | None
    skip_bare: bool
    worker: str
    bare_mixes: tuple[str, ...] = ("local",)
    temporal: str = "file"
    postgres: bool = False
    skip_baseline: bool = False


async def run(opts: Options, stack: Stack) -> int:
    t_setup = time.monotonic()
    load = load_average()
    if busy():
        print(f"warning: the machine is busy before the run (load {load}): figures will be low")
    if opts.database_url or opts.postgres:
        database_url, database_desc = setup_database(stack, opts.database_url)
    else:  # the embedded stack of `make run`: a SQLite file
        database_url = f"sqlite:///{stack.tmp / 'ecs.db'}"
        database_desc = "SQLite file (as `make run`)"
        upgrade(database_url)
    redis_url, redis_desc = setup_redis(stack, opts.redis_url)
    settings = bench_settings(stack, "decisions", database_url, redis_url)
    bare_queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
    floor_queue = f"bench-floor-{uuid.uuid4().hex[:8]}"
    marks = stack.tmp / "floor-marks"
    marks.mkdir()
    env = child_env(settings, **{
        bare.TASK_QUEUE_ENV: bare_queue,
        floor.TASK_QUEUE_ENV: floor_queue,
        floor.MARKS_ENV: str(marks),
    })  # fmt: skip

    if opts.temporal == "file":
        start_temporal_file(stack, settings)
    else:
        start_temporal(stack, settings)
    python = [sys.executable]
    if opts.worker == "subprocess":
        stack.spawn("worker", [*python, "-m", "ecs", "worker"], env=env)
        if not opts.skip_bare:
            stack.spawn("bare-worker", [*python, "-c", bare.WORKER_COMMAND], env=env)
            stack.spawn("floor-worker", [*python, "-c", floor.WORKER_COMMAND], env=env)
    api_port = free_port()
    stack.spawn("api", [*python, "-m", "ecs", "api", "--port", str(api_port)], env=env)
    api = f"http://127.0.0.1:{api_port}"
    baseline_url = None
    if not opts.skip_baseline:
        baseline_port = free_port()
        command = [*python, "-c", baseline.SERVE_COMMAND, str(baseline_port)]
        stack.spawn("baseline", command, env=env)
        baseline_url = f"http://127.0.0.1:{baseline_port}"

    engine = make_engine(database_url)
    stack.cleanups.append(engine.dispose)
    closed_n = round(CLOSED_LOOP_MAX_RATE * opts.closed_duration)
    journeys = 2 if opts.skip_baseline else 4  # warm-up and open loop, ECS and baseline
    users = create_users(engine, journeys * (WARMUP + open_n(opts)) + closed_n)
    tokens = [(u, create_access_token(u, Role.CUSTOMER, settings)) for u in users]

    client = await connect(settings)
    in_process: list[Worker] = []
    if opts.worker == "inprocess":
        from worker import create_worker

        executors = [ThreadPoolExecutor(max_workers=64) for _ in range(2)]
        stack.cleanups += [functools.partial(e.shutdown, wait=False) for e in executors]
        in_process.append(create_worker(client, settings, executors[0]))
        if not opts.skip_bare:
            in_process.append(bare.bare_worker(client, bare_queue, executors[1], settings))
    async with contextlib.AsyncExitStack() as workers:
        for w in in_process:
            await workers.enter_async_context(w)
        urls = {"ECS": api} | ({"baseline": baseline_url} if baseline_url else {})
        floor_fire = functools.partial(floor_journey, client, floor_queue, marks)
        refs = References(bare_queue, floor_fire)
        return await measure(opts, stack, settings, client, urls, engine, tokens, refs, {
            "database": database_desc,
            "redis": redis_desc,
            "setup": f"{time.monotonic() - t_setup:.1f} s",
            "load": load,
        })  # fmt: skip


@dataclass(frozen=True)
class References:
    """What the run measures ECS against besides the baseline's URL: the bare workflow's task
    queue, and the journey floor's ``fire`` (``(into, accept=True) -> Fire``)."""

    bare_queue: str
    floor_fire: Callable[..., Fire]


async def measure(
    opts: Options,
    stack: Stack,
    settings: Settings,
    client: Client,
    urls: dict[str, str],
    engine: Engine,
    tokens: list[tuple[uuid.UUID, str]],
    refs: References,
    info: dict[str, str],
) -> int:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with contextlib.AsyncExitStack() as clients:
        https = {
            who: await clients.enter_async_context(
                httpx.AsyncClient(base_url=url, limits=limits, timeout=REQUEST_TIMEOUT)
            )
            for who, url in urls.items()
        }
        for http in https.values():
            await wait_ready(stack, http)
        users = iter(tokens)

        def take_user() -> tuple[uuid.UUID, str]:
            try:
                return next(users)
            except StopIteration:
                raise IndexError("out of prepared users") from None

        async def fire_bare(_i: int, tick: float, mix: str = "local") -> Sample:
            loop = asyncio.get_running_loop()
            wid = f"bench-bare-{mix}-{uuid.uuid4()}"
            try:
                await client.execute_workflow(
                    bare.BareWorkflow.run,
                    args=[str(uuid.uuid4()), mix],
                    id=wid,
                    task_queue=refs.bare_queue,
                    execution_timeout=timedelta(seconds=REQUEST_TIMEOUT),
                )
            except Exception as exc:
                return Sample(loop.time() - tick, 0, False, wid, f"{type(exc).__name__}: {exc}")
            return Sample(loop.time() - tick, 200, True, wid)

        routes = {"ECS": ECS_ROUTES, "baseline": BASELINE_ROUTES}

        def fire_of(who: str, into: Journeys) -> Fire:
            if who == FLOOR:
                return refs.floor_fire(into)
            return journey(https[who], routes[who], engine, take_user, into)

        results: dict[str, Journeys] = {}
        # Warm-up (connection pools, worker caches, the sandbox's first imports), then the open
        # loop, one system after the other so they never share the cores.
        for who in [*https, *(() if opts.skip_bare else (FLOOR,))]:
            warm = Journeys(f"warm-up {who}")
            await closed_loop("warm-up", fire_of(who, warm), 1, 60, WARMUP)
            failed = [s for p in warm.phases() for s in p.samples if not s.ok]
            if failed:
                raise RuntimeError(f"warm-up {who} failed (not approved?): {failed[0].error}")
            print(f"open loop {who}: {opts.rate:g}/s for {opts.duration:g} s", flush=True)
            results[who] = Journeys(who)
            fire = fire_of(who, results[who])
            cpu_before = cpu.snapshot(stack)
            offer = await open_loop(
                f"{who} open loop", fire, opts.rate, opts.duration, 2 * REQUEST_TIMEOUT
            )
            results[who].finish(offer.elapsed)
            results[who].offer.elapsed = offer.elapsed
            for phase in results[who].phases():
                print(" ", phase.line(), flush=True)
            cpu_after = cpu.snapshot(stack)
            results[who].cpu = cpu.used(cpu_before, cpu_after, offer.elapsed)
            journeys = sum(1 for s in results[who].active.samples if s.ok)
            results[who].cpu_ms, per = cpu.per_item(cpu_before, cpu_after, journeys, "journey")
            print("  ", results[who].cpu, flush=True)
            print("  ", per, flush=True)
        mixes = () if opts.skip_bare else opts.bare_mixes
        bare_open: dict[str, Phase] = {}
        bare_cpu_ms: dict[str, float] = {}
        for mix in mixes:
            fire_mix = functools.partial(fire_bare, mix=mix)
            await closed_loop(f"warm-up bare {mix}", fire_mix, 1, 60, WARMUP)
            cpu_before = cpu.snapshot(stack)
            bare_open[mix] = await open_loop(
                f"bare ({mix}) open loop", fire_mix, opts.rate, opts.duration, REQUEST_TIMEOUT
            )
            cpu_after = cpu.snapshot(stack)
            print(" ", bare_open[mix].line(), flush=True)
            print("  ", cpu.used(cpu_before, cpu_after, bare_open[mix].elapsed))
            done = sum(1 for s in bare_open[mix].samples if s.ok)
            bare_cpu_ms[mix], per = cpu.per_item(cpu_before, cpu_after, done, "workflow")
            print("  ", per, flush=True)

        print(f"closed loop: concurrency {opts.concurrency} for {opts.closed_duration:g} s")
        closed_cpu: dict[str, float] = {}  # CPU ms per decision (request → offer only)

        async def saturate(who: str, fire: Fire, users: int) -> Phase:
            before = cpu.snapshot(stack)
            phase = await closed_loop(
                f"{who} closed loop C={opts.concurrency}",
                fire,
                opts.concurrency,
                opts.closed_duration,
                users,
            )
            closed_cpu[who], per = cpu.per_item(
                before, cpu.snapshot(stack), len(phase.ok), "decision"
            )
            print(" ", phase.line(), flush=True)
            print("  ", per, flush=True)
            return phase

        ecs_fire = journey(
            https["ECS"], ECS_ROUTES, engine, take_user, Journeys("ECS"), accept=False
        )
        ecs_closed = await saturate("ECS", ecs_fire, len(tokens))
        floor_closed: Phase | None = None
        if FLOOR in results:
            floor_closed = await saturate(
                FLOOR, refs.floor_fire(Journeys(FLOOR), accept=False), 10**9
            )
        bare_closed: dict[str, Phase] = {}
        for mix in mixes:
            bare_closed[mix] = await saturate(
                f"bare ({mix})", functools.partial(fire_bare, mix=mix), 10**9
            )
        stack.check_alive()
        phases = [p for j in results.values() for p in j.phases()]
        phases += [ecs_closed, *bare_open.values(), *bare_closed.values()]
        phases += [floor_closed] if floor_closed else []
        errors = [s.error for p in phases for s in p.samples if not s.ok]
        if errors:
            print(f"\nfirst errors ({len(errors)} in all):")
            for e in errors[:5]:
                print("  ", e)
        floor_offer = {FLOOR: results[FLOOR].offer} if FLOOR in results else {}
        await print_breakdowns(client, results["ECS"].offer, floor_offer | bare_open, open_n(opts))

    facts = describe(
        load=f"{info['load']} before the run, {load_average()} after",
        database=info["database"],
        redis=info["redis"],
        temporal=f"dev server {TEMPORAL_KINDS[opts.temporal]}, " + ", ".join(DYNAMIC_CONFIG),
        worker=f"{opts.worker} (ThreadPoolExecutor 64, max_concurrent_activities 64, "
        f"workflow sandbox {'on' if settings.workflow_sandbox else 'off'})",
    )
    print("\nmachine:\n" + text_block(facts))
    print(f"  setup        {info['setup']}")
    table = summary_table(
        opts, results, (ecs_closed, floor_closed), bare_open, bare_closed, bare_cpu_ms, closed_cpu
    )
    print("\n" + table + "\n\n" + markdown_line(facts) + "\n")
    return 0


async def print_breakdowns(
    client: Client, ecs_open: Phase, references: dict[str, Phase], n: int
) -> None:
    """Where the time goes: workflow histories of a sample of the open-loop runs (ECS, the
    journey floor, the bare workflow by mix)."""
    step = max(1, n // 25)
    sample_ids = [s.ref for s in ecs_open.samples if s.ok and s.ref][::step]
    breakdowns = {"ECS": await history_breakdown(client, sample_ids[:25])}
    for who, phase in references.items():
        ids = [s.ref for s in phase.samples if s.ok][::step]
        label = who if who == FLOOR else f"bare {who}"
        breakdowns[label] = await history_breakdown(client, ids[:25])
    print("\nworkflow history breakdown, medians of up to 25 open-loop runs (ms):")
    for who, breakdown in breakdowns.items():
        for key, value in breakdown.items():
            print(f"  {who:<13} {key:<52} {value:7.1f}")
    offered = breakdowns["ECS"].get("approve (local) recorded (since start)")
    if offered is not None:
        print(
            f"  API overhead beyond 'approve recorded' (ECS p50 - {offered:.1f}): "
            f"{ecs_open.pct(0.5) - offered:.1f} ms"
        )


def open_n(opts: Options) -> int:
    return max(1, round(opts.rate * opts.duration))


# ------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=10.0, help="open loop, decisions/s")
    parser.add_argument("--duration", type=float, default=15.0, help="open loop, seconds")
    parser.add_argument("--concurrency", type=int, default=8, help="closed loop callers")
    parser.add_argument(
        "--closed-duration",
        type=float,
        default=None,
        help="closed loop seconds (min(duration, 8))",
    )
    parser.add_argument("--database-url", default=None, help="default: a SQLite file")
    parser.add_argument(
        "--postgres", action="store_true", help="a throwaway PostgreSQL database (else SQLite)"
    )
    parser.add_argument(
        "--temporal",
        choices=("file", "memory"),
        default="file",
        help="dev server history in a SQLite file, as `make run` (default), or in memory",
    )
    parser.add_argument(
        "--skip-baseline", action="store_true", help="no synchronous-baseline comparison"
    )
    parser.add_argument("--redis-url", default=None, help=f"default: {DEFAULT_REDIS_URL}")
    parser.add_argument(
        "--skip-bare", action="store_true", help="no journey floor or bare workflow"
    )
    parser.add_argument(
        "--bare-mix",
        choices=(*bare.MIXES, "both"),
        default="local",
        help="bare workflow's activities: 'local' = 3 local + 1 regular, the real request → offer "
        "path (default, the ratio's reference); 'regular' = 4 regular; 'both' runs both, the "
        "second reported separately",
    )
    parser.add_argument(
        "--worker",
        choices=("subprocess", "inprocess"),
        default="subprocess",
        help="where the workers run (default: subprocesses, as in production)",
    )
    ns = parser.parse_args(argv)
    if ns.rate <= 0 or ns.duration <= 0 or ns.concurrency <= 0:
        parser.error("--rate, --duration and --concurrency must be positive")
    return Options(
        rate=ns.rate,
        duration=ns.duration,
        concurrency=ns.concurrency,
        closed_duration=ns.closed_duration or min(ns.duration, 8.0),
        database_url=ns.database_url,
        redis_url=ns.redis_url,
        skip_bare=ns.skip_bare,
        worker=ns.worker,
        bare_mixes=bare.MIXES if ns.bare_mix == "both" else (ns.bare_mix,),
        temporal=ns.temporal,
        postgres=ns.postgres,
        skip_baseline=ns.skip_baseline,
    )


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    budget = 300 + 3 * (opts.duration + opts.closed_duration)
    return run_bench(functools.partial(run, opts), prefix="ecs-bench-decisions-", budget=budget)


if __name__ == "__main__":
    raise SystemExit(main())
