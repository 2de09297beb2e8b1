"""One customer's journey, timed from outside: request → offer, accept → 202, accept → ACTIVE.

``bench.decisions`` fires one journey per open-loop tick, for ECS and for the synchronous
baseline (``bench.lib.baseline``) alike: a fresh user asks for a decision and waits for the
offer, accepts it at once, and the bench polls the database until the user's credit line exists
(the account row ``deploy_credit`` writes, as ``GET /v1/me/credit`` would show it, without
loading the API with polls). The three latencies land in three phases of the same run.

Also here: the journey floor's driver (``bench.lib.floor``: the same journey on a workflow with
the real one's Temporal shape and trivial activities, timed the same way), and the embedded
stack's Temporal dev server (file-backed, with the SQLite pragmas and dynamic config ``make run``
uses; ``bench.lib.services`` starts it in memory only).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import Connection, Engine, bindparam, select
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from bench.lib import floor
from bench.lib.loops import Fire, Phase, Sample
from bench.lib.stack import Stack
from ecs.contracts import workflow_id_for
from ecs.db.tables import CreditAccount
from ecs.settings import Settings
from ecs.supervisor import accepts
from ecs.temporal.devserver import find_binary, server_args

ACCOUNTS = CreditAccount.__table__  # type: ignore[attr-defined]
POLL_INTERVAL = 0.002
ACTIVE_TIMEOUT = 15.0


def start_temporal_file(stack: Stack, settings: Settings) -> None:
    """The dev server as ``make run`` starts it: history in a SQLite file, same pragmas."""
    port = int(settings.temporal_address.rsplit(":", 1)[1])
    argv = server_args(port=port, ui_port=None, db_filename=stack.tmp / "temporal.db")
    stack.spawn("temporal", [find_binary("temporal"), *argv])
    stack.wait_until("the Temporal dev server", lambda: accepts(port), timeout=90)


@dataclass
class Journeys:
    """The three phases one open loop of journeys fills."""

    who: str
    cpu: str = ""  # cores used during the phase (bench.lib.service_cpu.used)
    cpu_ms: float = 0.0  # CPU of the run's services per journey (service_cpu.per_item)
    offer: Phase = field(init=False)
    accept: Phase = field(init=False)
    active: Phase = field(init=False)

    def __post_init__(self) -> None:
        self.offer = Phase(f"{self.who}: request → offer")
        self.accept = Phase(f"{self.who}: accept → 202")
        self.active = Phase(f"{self.who}: accept → ACTIVE")

    def phases(self) -> list[Phase]:
        return [self.offer, self.accept, self.active]

    def finish(self, elapsed: float) -> None:
        for phase in (self.accept, self.active):
            phase.elapsed = elapsed


@dataclass(frozen=True)
class Routes:
    """Where a system under test takes a decision request and an accept."""

    decide: str
    decide_params: dict[str, str]
    accept: Callable[[str], str]


ECS_ROUTES = Routes(
    "/v1/credit-decisions", {"wait": "10"}, lambda d: f"/v1/credit-decisions/{d}/accept"
)
BASELINE_ROUTES = Routes("/decide", {}, lambda d: f"/decide/{d}/accept")


def journey(
    http: httpx.AsyncClient,
    routes: Routes,
    engine: Engine,
    take: Callable[[], tuple[uuid.UUID, str]],
    into: Journeys,
    *,
    accept: bool = True,
) -> Fire:
    """An open-loop ``fire``: returns the request → offer sample, records the accept samples
    in ``into`` (after the offer, on the same task, so the open loop waits for them)."""

    async def fire(_i: int, tick: float) -> Sample:
        user_id, token = take()
        headers = {"Authorization": f"Bearer {token}"}
        loop = asyncio.get_running_loop()
        try:
            response = await http.post(routes.decide, params=routes.decide_params, headers=headers)
        except httpx.HTTPError as exc:
            return Sample(loop.time() - tick, 0, False, error=f"{type(exc).__name__}: {exc}")
        latency = loop.time() - tick
        body = response.json() if response.content else {}
        ok = response.status_code == 201 and body.get("offer") is not None
        ref = workflow_id_for(body["id"]) if "id" in body else ""
        sample = Sample(latency, response.status_code, ok, ref, "" if ok else str(body)[:200])
        into.offer.samples.append(sample)
        if ok and accept:
            await _accept(http, routes, engine, user_id, body["id"], headers, into)
        return sample

    return fire


async def _accept(
    http: httpx.AsyncClient,
    routes: Routes,
    engine: Engine,
    user_id: uuid.UUID,
    decision_id: str,
    headers: dict[str, str],
    into: Journeys,
) -> None:
    loop = asyncio.get_running_loop()
    sent = loop.time()
    try:
        response = await http.post(routes.accept(decision_id), headers=headers)
    except httpx.HTTPError as exc:
        into.accept.samples.append(Sample(loop.time() - sent, 0, False, error=str(exc)))
        return
    ok = response.status_code == 202
    into.accept.samples.append(
        Sample(loop.time() - sent, response.status_code, ok, error="" if ok else response.text)
    )
    if not ok:
        return
    with engine.connect() as conn:
        await _record_active(
            lambda: asyncio.to_thread(_has_account, conn, user_id), sent, into, "never ACTIVE"
        )


async def _record_active(
    done: Callable[[], Awaitable[bool]], sent: float, into: Journeys, never: str
) -> None:
    """Poll ``done`` every ``POLL_INTERVAL`` until it holds or ``ACTIVE_TIMEOUT`` passes; the
    accept → ACTIVE sample counts from ``sent`` (the same for ECS and the journey floor)."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + ACTIVE_TIMEOUT
    while not await done():
        if time.monotonic() > deadline:
            into.active.samples.append(Sample(loop.time() - sent, 0, False, error=never))
            return
        await asyncio.sleep(POLL_INTERVAL)
    into.active.samples.append(Sample(loop.time() - sent, 200, True))


_ACCOUNT_OF = select(ACCOUNTS.c.user_id).where(ACCOUNTS.c.user_id == bindparam("user_id")).limit(1)


def _has_account(conn: Connection, user_id: uuid.UUID) -> bool:
    """One poll: a cached Core statement on the journey's own connection, each in a fresh
    transaction (so it sees the latest commit). An ORM session per poll cost 364 µs of CPU
    against 54 µs here, and at 500 polls/s per waiting journey the bench's own polling had
    taken up to a fifth of a core from the stack it measures."""
    try:
        return conn.execute(_ACCOUNT_OF, {"user_id": user_id}).first() is not None
    finally:
        conn.rollback()


def floor_journey(
    client: Client,
    task_queue: str,
    marks: Path,
    into: Journeys,
    *,
    accept: bool = True,
) -> Fire:
    """The journey floor's ``fire`` (``bench.lib.floor``), timed as :func:`journey` times ECS:
    update-with-start → ``wait_decided`` answered, then ``accept`` → answered and → the accept
    activity's mark file exists (polled as often as ECS's credit line)."""

    async def fire(_i: int, tick: float) -> Sample:
        user = str(uuid.uuid4())  # the floor has no users: any id is a fresh journey
        loop = asyncio.get_running_loop()
        start = WithStartWorkflowOperation(
            floor.JourneyFloorWorkflow.run,
            user,
            id=f"bench-floor-{user}",
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            execution_timeout=timedelta(minutes=5),
        )
        try:
            _ = await client.execute_update_with_start_workflow(  # the update's answer: "OFFERED"
                floor.JourneyFloorWorkflow.wait_decided, start_workflow_operation=start
            )
        except Exception as exc:
            sample = Sample(loop.time() - tick, 0, False, error=f"{type(exc).__name__}: {exc}")
            into.offer.samples.append(sample)
            return sample
        handle = await start.workflow_handle()
        sample = Sample(loop.time() - tick, 200, True, handle.id)
        into.offer.samples.append(sample)
        if not accept:
            return sample
        sent = loop.time()
        try:
            await handle.execute_update(floor.JourneyFloorWorkflow.accept, user)
        except Exception as exc:
            into.accept.samples.append(Sample(loop.time() - sent, 0, False, error=str(exc)))
            return sample
        into.accept.samples.append(Sample(loop.time() - sent, 200, True))
        mark = marks / user

        async def ran() -> bool:
            return mark.exists()

        await _record_active(ran, sent, into, "accept activity never ran")
        return sample

    return fire
