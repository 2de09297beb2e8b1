"""Erasure (LGPD Art. 18 VI, with the Art. 16 I exception): personal data goes, credit stays.

Emotional data, transactions and notifications are deleted and the account row is pseudonymised,
in one transaction. Credit decisions, their append-only records, offers and credit accounts are
*kept*: lenders must keep credit records (Art. 16 I, legal obligation), and those rows hold only
aggregates and terms keyed by the now-pseudonymous user id. Any open decision is ended first,
through its workflow, so no workflow keeps acting for an account that no longer exists.

Temporal is reached through an injected ``ConnectTemporal`` (the API passes its shared client),
so this module owns no connection; when the engine cannot be reached, or fails while a decision
is being ended, erasure raises ``Unavailable`` and nothing is erased.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlmodel import Session
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from ecs.accounts.passwords import UNUSABLE_PASSWORD_HASH, verify_password
from ecs.accounts.rows import (
    DECISIONS,
    NOTIFICATIONS,
    OFFERS,
    TRANSACTIONS,
    delete_emotions,
    delete_rows,
)
from ecs.accounts.users import active_account, locked_account
from ecs.contracts import UPDATE_DECLINE, DeclineRequest
from ecs.credit.engine import unavailable
from ecs.db.types import utcnow
from ecs.domain.status import OPEN_DECISION_STATUSES, DecisionStatus, OfferStatus
from ecs.errors import Conflict, Forbidden, Unavailable

log = logging.getLogger("ecs.accounts.erasure")

ConnectTemporal = Callable[[], Awaitable[Client | None]]
"""The shared Temporal client, or ``None`` when the engine cannot be reached."""

ERASURE_REASON = "erasure"
TERMINATE_REASON = "data subject erasure"
UPDATE_TIMEOUT = timedelta(seconds=15)
# How long erasure waits for a declined (or already accepted) decision's workflow to finish
# settling before it terminates the workflow instead.
SETTLE_TIMEOUT_SECONDS = 15.0
_ERASE_ATTEMPTS = 3
_OPEN = [s.value for s in OPEN_DECISION_STATUSES]
_DECLINABLE = frozenset({DecisionStatus.OFFERED, DecisionStatus.COOLING_OFF})
_TEMPORAL_DOWN = (RPCError, RuntimeError, TimeoutError, OSError)


def workflow_engine_unavailable() -> Unavailable:
    """The same 503 body as a decision request meets when Temporal is down: one error."""
    return unavailable()


@dataclass(frozen=True)
class OpenDecision:
    id: uuid.UUID
    workflow_id: str
    status: DecisionStatus


@dataclass(frozen=True)
class ErasureReport:
    decisions_ended: int
    readings: int
    daily: int
    notifications: int
    transactions: int


class _DecisionOpenedMeanwhile(Exception):
    """A decision was requested while erasure was ending the others: end it too, then retry."""


def _open_decisions(engine: Engine, user_id: uuid.UUID) -> list[OpenDecision]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(DECISIONS.c.id, DECISIONS.c.workflow_id, DECISIONS.c.status).where(
                DECISIONS.c.user_id == user_id, DECISIONS.c.status.in_(_OPEN)
            )
        ).all()
    return [OpenDecision(row[0], row[1], DecisionStatus(row[2])) for row in rows]


def _denied_workflows(engine: Engine, user_id: uuid.UUID) -> list[str]:
    """Denials whose workflow may still wait out the contest window (closed ones are skipped
    by Temporal: terminating them is a NOT_FOUND)."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(DECISIONS.c.workflow_id).where(
                    DECISIONS.c.user_id == user_id,
                    DECISIONS.c.status == DecisionStatus.DENIED.value,
                )
            ).scalars()
        )


def _password_hash(engine: Engine, user_id: uuid.UUID) -> str:
    with Session(engine) as session:
        return active_account(session, user_id).password_hash


async def _settled(handle: WorkflowHandle[Any, Any]) -> bool:
    """Whether the workflow finishes (in any way) within ``SETTLE_TIMEOUT_SECONDS``."""
    try:
        await asyncio.wait_for(handle.result(), timeout=SETTLE_TIMEOUT_SECONDS)
    except TimeoutError:
        return False
    except Exception:  # failed, terminated, cancelled: finished all the same
        return True
    return True


async def _terminate(handle: WorkflowHandle[Any, Any]) -> None:
    try:
        await handle.terminate(reason=TERMINATE_REASON, rpc_timeout=UPDATE_TIMEOUT)
    except RPCError as exc:
        if exc.status is not RPCStatusCode.NOT_FOUND:  # NOT_FOUND: closed, or never started
            raise workflow_engine_unavailable() from exc


async def _decline(handle: WorkflowHandle[Any, Any], user_id: uuid.UUID) -> bool:
    """Decline the open offer the way the customer would; ``False`` when the workflow refuses
    (no open offer any more, e.g. cooling off before one was made) or is not running."""
    try:
        await handle.execute_update(
            UPDATE_DECLINE,
            DeclineRequest(user_id=str(user_id), reason=ERASURE_REASON),
            rpc_timeout=UPDATE_TIMEOUT,
        )
    except WorkflowUpdateFailedError:
        return False
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise workflow_engine_unavailable() from exc
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            return False
        raise workflow_engine_unavailable() from exc
    return True


async def _end_decision(client: Client, decision: OpenDecision, user_id: uuid.UUID) -> None:
    """End one open decision through its workflow, as gently as its state allows.

    An open offer is declined (the workflow records DECLINED itself); an accepted one is left to
    finish deploying, since the customer contracted it. Anything else, or a workflow that does
    not finish within ``SETTLE_TIMEOUT_SECONDS``, is terminated, and the erasure transaction then
    marks the header FAILED and its open offer EXPIRED.
    """
    handle = client.get_workflow_handle(decision.workflow_id)
    if decision.status in _DECLINABLE and await _decline(handle, user_id):
        if await _settled(handle):
            return
    elif decision.status is DecisionStatus.ACCEPTED and await _settled(handle):
        return
    await _terminate(handle)


def _erase_rows(engine: Engine, user_id: uuid.UUID, ended: set[uuid.UUID]) -> ErasureReport:
    """The erasure itself: one transaction, all or nothing."""
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        user = locked_account(session, user_id)
        still_open = session.execute(
            select(DECISIONS.c.id).where(
                DECISIONS.c.user_id == user_id, DECISIONS.c.status.in_(_OPEN)
            )
        ).scalars()
        stuck = set(still_open)
        if stuck - ended:
            raise _DecisionOpenedMeanwhile
        if stuck:
            # Terminated workflows record nothing more: close their projections here.
            session.execute(
                update(DECISIONS)
                .where(DECISIONS.c.id.in_(stuck))
                .values(status=DecisionStatus.FAILED.value, updated_at=now)
            )
            session.execute(
                update(OFFERS)
                .where(OFFERS.c.decision_id.in_(stuck), OFFERS.c.status == OfferStatus.OPEN.value)
                .values(status=OfferStatus.EXPIRED.value, settled_at=now)
            )
        readings, daily = delete_emotions(session, user_id)
        notifications = delete_rows(session, NOTIFICATIONS, user_id)
        transactions = delete_rows(session, TRANSACTIONS, user_id)
        user.email = f"erased-{user_id}@erased.invalid"
        user.password_hash = UNUSABLE_PASSWORD_HASH
        user.consent_emotion_processing = False
        user.consent_updated_at = now
        user.erased_at = now
        session.add(user)
        session.commit()
    return ErasureReport(
        decisions_ended=len(ended),
        readings=readings,
        daily=daily,
        notifications=notifications,
        transactions=transactions,
    )


async def erase_account(
    engine: Engine, connect: ConnectTemporal, user_id: uuid.UUID, password: str
) -> ErasureReport:
    """Verify the password, end open decisions, then erase in one transaction.

    The password (not just a token) is required, so a stolen access token cannot wipe an account.
    If the workflow engine is unreachable nothing is erased (``Unavailable``): erasing while a
    workflow still runs would leave it acting for a deleted account. A decision requested while
    the others were being ended is caught inside the erasure transaction, which then rolls back
    and retries.
    """
    password_hash = await asyncio.to_thread(_password_hash, engine, user_id)
    if not await asyncio.to_thread(verify_password, password_hash, password):
        raise Forbidden(
            "The password is not correct; nothing was erased.",
            code="wrong-password",
            title="Wrong password",
        )
    denied = await asyncio.to_thread(_denied_workflows, engine, user_id)
    if denied:  # nobody is left to contest them, and their history holds personal data
        client = await connect()
        if client is None:
            raise workflow_engine_unavailable()
        for workflow_id in denied:
            try:
                await _terminate(client.get_workflow_handle(workflow_id))
            except _TEMPORAL_DOWN as exc:
                raise workflow_engine_unavailable() from exc
    ended: set[uuid.UUID] = set()
    for _ in range(_ERASE_ATTEMPTS):
        found = await asyncio.to_thread(_open_decisions, engine, user_id)
        pending = [d for d in found if d.id not in ended]
        if pending:
            client = await connect()
            if client is None:
                raise workflow_engine_unavailable()
            for decision in pending:
                try:
                    await _end_decision(client, decision, user_id)
                except _TEMPORAL_DOWN as exc:
                    raise workflow_engine_unavailable() from exc
                ended.add(decision.id)
        try:
            report = await asyncio.to_thread(_erase_rows, engine, user_id, ended)
        except _DecisionOpenedMeanwhile:
            continue
        log.info(
            "account erased",
            extra={
                "user_id": str(user_id),
                "decisions_ended": report.decisions_ended,
                "deleted_readings": report.readings,
                "deleted_daily": report.daily,
                "deleted_notifications": report.notifications,
                "deleted_transactions": report.transactions,
            },
        )
        return report
    raise Conflict(
        "Credit decisions keep being requested for this account; retry the erasure.",
        code="erasure-conflict",
    )
