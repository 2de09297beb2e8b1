"""``ecs simulate``: a demo population using the system end to end, over HTTP only.

Customers are drawn from a cast of financial profiles (``ecs.demo.profiles``) that the real
policy places in every risk band or denies for each knock-out reason; some live through distress
episodes. ``--days N`` backfills their history through the real ingest paths first (the ledger
feed for salaries and spending, the emotion API for what their phones buffered: at most the last
7 days, which is all the ingest API accepts, see ``ecs.demo.population``). Then every customer
streams readings live for ``--duration`` seconds and asks for credit: the distressed ones are in
an episode at that moment, so their decision pauses (cooling-off) until a calm reading arrives;
some offers are accepted, some declined. A progress line shows readings/s, decisions and
outcomes as they happen.

Referrals need the model to be unavailable (the policy refers only then): run the stack with
``ECS_MODEL_URL`` pointing at a stopped model server and the same command yields REFERRED
decisions for the analyst workbench. Decisions are made now: the backfill gives them weeks of
history to decide on, but their own dates are today's.

With no API at the address, it says so in one line (exit 2) instead of a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ecs.demo.decisions import follow_decisions, request_credit
from ecs.demo.population import (
    EMOTION_DAYS_ALLOWED,
    SimUser,
    backfill_emotions,
    feed_ledger,
    post_readings,
    register,
    stored_readings,
)
from ecs.demo.progress import Counters, show_progress
from ecs.settings import Settings
from ecs.stats import percentile

BATCH_INTERVAL_SECONDS = 1.0
RECOVERY_AFTER_SECONDS = 8.0  # distressed customers calm down this long after asking for credit
CONSUMER_CATCH_UP_SECONDS = 60.0
NOT_RUNNING = (
    "ecs simulate: no ECS API at {url} ({error}). Start the stack first (`make run`, or "
    "`docker compose up`), or point --api-url at it."
)


async def run_simulation(settings: Settings, args: argparse.Namespace) -> int:
    api_url = args.api_url or f"http://127.0.0.1:{settings.api_port}"
    limits = httpx.Limits(max_connections=max(args.users, 10))
    try:
        async with httpx.AsyncClient(base_url=api_url, timeout=30, limits=limits) as http:
            (await http.get("/healthz")).raise_for_status()
            return await _simulate(http, settings, args)
    except httpx.TransportError as exc:
        print(NOT_RUNNING.format(url=api_url, error=type(exc).__name__), file=sys.stderr)
        return 2
    except httpx.HTTPStatusError as exc:
        print(_refused(exc), file=sys.stderr)
        return 1


def _refused(exc: httpx.HTTPStatusError) -> str:
    """One line for a refused request: the problem's detail, and what to do about throttling."""
    request, response = exc.request, exc.response
    try:
        detail = str(response.json().get("detail") or response.text[:200])
    except ValueError:
        detail = response.text[:200]
    where = f"{request.method} {request.url.path}"
    line = f"ecs simulate: {where} answered {response.status_code}: {detail}"
    if response.status_code == 429 and request.url.path.endswith("/auth/register"):
        line += (
            " (registrations are throttled per address: ECS_REGISTRATIONS_PER_ADDRESS, default"
            " 100 per ECS_THROTTLE_WINDOW_SECONDS; wait, or raise it for demos)"
        )
    return line


async def _simulate(http: httpx.AsyncClient, settings: Settings, args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    run_id = uuid.uuid4().hex[:8]
    counters = Counters()
    progress = asyncio.create_task(show_progress(counters))
    try:
        users = await _populate(http, settings, args, rng, run_id, counters)
        await _live(http, args, users, counters, rng)
    finally:
        progress.cancel()
        await asyncio.gather(progress, return_exceptions=True)
    _summary(args, counters)
    return 0 if counters.sent == counters.accepted else 1


async def _populate(
    http: httpx.AsyncClient,
    settings: Settings,
    args: argparse.Namespace,
    rng: random.Random,
    run_id: str,
    counters: Counters,
) -> list[SimUser]:
    print(f"simulating {args.users} customers against {http.base_url} (run {run_id})")
    if args.days > EMOTION_DAYS_ALLOWED:
        print(
            f"note: {args.days} days of ledger history; emotional history covers the last "
            f"{EMOTION_DAYS_ALLOWED} days only (the ingest API refuses older readings)"
        )
    semaphore = asyncio.Semaphore(8)
    ledger_headers = {"X-Ledger-Key": settings.ledger_key.get_secret_value()}

    async def setup(i: int) -> SimUser:
        async with semaphore:
            user = await register(http, run_id, i, random.Random(rng.random()))
            counters.users += 1
            await feed_ledger(http, ledger_headers, user, args.days, f"sim-{run_id}-{i}", counters)
            if args.days > 0:
                await backfill_emotions(http, user, args.days, counters)
            return user

    counters.phase = "history" if args.days else "users"
    users = list(await asyncio.gather(*(setup(i) for i in range(args.users))))
    if args.days > 0 and users:
        await _wait_for_consumer(http, users[-1], counters)
    return users


async def _wait_for_consumer(http: httpx.AsyncClient, user: SimUser, counters: Counters) -> None:
    """Decisions read stored history: give the stream consumer time to persist the backfill."""
    counters.phase = "persisting"
    expected = min(counters.accepted, 1)  # at least one of the last user's readings
    deadline = asyncio.get_running_loop().time() + CONSUMER_CATCH_UP_SECONDS
    while await stored_readings(http, user) < expected:
        if asyncio.get_running_loop().time() > deadline:
            print(
                "note: the stream consumer has not stored the backfilled readings yet; is it "
                "running? (`ecs dev` starts it unless --no-stream)"
            )
            return
        await asyncio.sleep(0.5)  # poll


async def _live(
    http: httpx.AsyncClient,
    args: argparse.Namespace,
    users: list[SimUser],
    counters: Counters,
    rng: random.Random,
) -> None:
    counters.phase = "live"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.duration
    per_user = args.rate / max(len(users), 1)
    askers = users if args.credit_requests is None else users[: args.credit_requests]
    streams = [
        asyncio.create_task(_stream(http, u, per_user, deadline, counters, u in askers))
        for u in users
    ]
    await asyncio.sleep(min(1.0, args.duration / 4))  # the distressed are now in an episode
    await asyncio.gather(*(request_credit(http, u, counters) for u in askers))
    await follow_decisions(http, askers, counters, rng, deadline + args.settle)
    await asyncio.gather(*streams)


async def _stream(
    http: httpx.AsyncClient,
    user: SimUser,
    per_user_rate: float,
    deadline: float,
    counters: Counters,
    asks_for_credit: bool,
) -> None:
    """Readings in one-second batches; a distressed customer who asks for credit starts in an
    episode and recovers ``RECOVERY_AFTER_SECONDS`` later (which ends the cooling-off)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    distressed = user.profile.distress and asks_for_credit
    recover_at = started + min(RECOVERY_AFTER_SECONDS, max(deadline - started, 0) / 2)
    if distressed:
        await post_readings(http, user, [_stamped(user.mood.distress())], counters)
    while (tick := loop.time()) < deadline:
        user.carry += per_user_rate * BATCH_INTERVAL_SECONDS
        n, user.carry = int(user.carry), user.carry - int(user.carry)
        in_episode = distressed and tick < recover_at
        samples = [user.mood.distress() if in_episode else user.mood.calm() for _ in range(n)]
        if distressed and not in_episode and tick - BATCH_INTERVAL_SECONDS < recover_at:
            samples.append(user.mood.recovered())
        if samples:
            await post_readings(
                http, user, [_stamped(s, i, len(samples)) for i, s in enumerate(samples)], counters
            )
        await asyncio.sleep(max(0.0, BATCH_INTERVAL_SECONDS - (loop.time() - tick)))


def _stamped(sample: dict[str, Any], i: int = 0, n: int = 1) -> dict[str, Any]:
    offset = timedelta(seconds=BATCH_INTERVAL_SECONDS * (n - 1 - i) / n)
    return {
        **sample,
        "event_id": str(uuid.uuid4()),
        "occurred_at": (datetime.now(UTC) - offset).isoformat(),
    }


def _summary(args: argparse.Namespace, c: Counters) -> None:
    elapsed = max(args.duration, 1e-9)
    rows = [
        ("customers", f"{c.users} ({args.days} days of history)" if args.days else str(c.users)),
        ("ledger transactions", f"{c.transactions:,}"),
        ("readings sent", f"{c.sent:,} ({c.accepted:,} accepted)"),
        ("requests by status", str(dict(sorted(c.statuses.items())))),
        (
            "ack latency p50/p99",
            f"{percentile(c.latencies_ms, 0.5, empty=0.0):.1f} / "
            f"{percentile(c.latencies_ms, 0.99, empty=0.0):.1f} ms",
        ),
        ("live rate", f"{args.rate:.0f}/s asked over {elapsed:.0f} s"),
        ("credit decisions", str(dict(sorted(c.outcomes.items()))) if c.outcomes else "none"),
        ("cooling-off pauses", str(len(c.paused))),
        ("offers", f"{c.offers_accepted} accepted, {c.offers_declined} declined"),
    ]
    print("simulation summary")
    for label, value in rows:
        print(f"  {label:<20} {value}")
    print("  (REFERRED needs the model down: restart the stack with ECS_MODEL_URL at a stopped")
    print("   model server, e.g. ECS_MODEL_URL=http://127.0.0.1:9 make run, and simulate again)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument(
        "--days",
        type=int,
        default=0,
        help="backfill this many days of history first (ledger; emotions: "
        f"the last {EMOTION_DAYS_ALLOWED} at most)",
    )
    parser.add_argument("--rate", type=float, default=50.0, help="live readings/s, all users")
    parser.add_argument("--duration", type=float, default=30.0, help="live phase, seconds")
    parser.add_argument(
        "--settle",
        type=float,
        default=30.0,
        help="after the live phase, wait this long for open decisions",
    )
    parser.add_argument(
        "--credit-requests",
        type=int,
        default=None,
        help="how many customers ask for credit (default: all)",
    )
    parser.add_argument("--seed", type=int, default=None, help="for a reproducible run")
    parser.add_argument("--api-url", default=None)
