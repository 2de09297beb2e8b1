"""Data-subject rights over emotional and financial data (LGPD Art. 18): consent, access, erasure.

* **Consent** (Art. 8 §5, Art. 18 IX). Consent is the legal basis for processing emotions, so
  withdrawing it deletes the raw readings and daily aggregates in the same transaction that clears
  the flag. The ingest endpoint refuses further readings through its consent cache: immediately
  on the API instance that served the withdrawal, within ``CONSENT_TTL_SECONDS`` (10 s) on others.
  Readings accepted into the stream just before then may still be stored by the stream consumer;
  ``ecs retention`` sweeps emotion rows of users without consent.
* **Access and portability** (Art. 18 II, V). One JSON document with everything ECS holds about
  the caller, streamed in chunks from one database snapshot (PostgreSQL: REPEATABLE READ) so a big
  history never sits in memory as a whole.
* **Erasure** (Art. 18 VI, with the Art. 16 I exception). Emotional data, transactions and
  notifications are deleted and the account row is pseudonymised, in one transaction. Credit
  decisions, their append-only records, offers and credit accounts are *kept*: lenders must keep
  credit records (Art. 16 I, legal obligation), and those rows hold only aggregates and terms keyed
  by the now-pseudonymous user id. Any open decision is ended first, through its workflow, so no
  workflow keeps acting for an account that no longer exists.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import orjson
from sqlalchemy import Connection, CursorResult, Engine, delete, select, update
from sqlmodel import Session
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from api.problems import TYPE_BASE, Problem
from api.resources import Resources
from api.security import verify_password
from api.services.decisions import connect_or_none, temporal_unavailable
from ecs.contracts import UPDATE_DECLINE, DeclineRequest
from ecs.db.tables import (
    CreditAccount,
    CreditDecision,
    DecisionRecord,
    EmotionDaily,
    EmotionEvent,
    Notification,
    Offer,
    Transaction,
    User,
)
from ecs.db.types import utcnow
from ecs.domain.reasons import describe
from ecs.domain.status import OPEN_DECISION_STATUSES, DecisionStatus, OfferStatus
from ecs.settings import Settings

log = logging.getLogger("ecs.api.privacy")

EXPORT_FORMAT = "ecs-export/1"
EXPORT_READINGS_LIMIT = 100_000
EXPORT_CHUNK_BYTES = 64 * 1024
EXPORT_FETCH_ROWS = 1_000
# Not an argon2 hash, so verification always fails: an erased account can never log in again.
UNUSABLE_PASSWORD_HASH = "!erased"
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

EVENTS: Any = EmotionEvent.__table__  # type: ignore[attr-defined]
DAILY: Any = EmotionDaily.__table__  # type: ignore[attr-defined]
USERS: Any = User.__table__  # type: ignore[attr-defined]
TRANSACTIONS: Any = Transaction.__table__  # type: ignore[attr-defined]
NOTIFICATIONS: Any = Notification.__table__  # type: ignore[attr-defined]
DECISIONS: Any = CreditDecision.__table__  # type: ignore[attr-defined]
RECORDS: Any = DecisionRecord.__table__  # type: ignore[attr-defined]
OFFERS: Any = Offer.__table__  # type: ignore[attr-defined]
ACCOUNTS: Any = CreditAccount.__table__  # type: ignore[attr-defined]


def account_erased() -> Problem:
    """An erased account is reported as gone (404) by every privacy route, including erasure
    itself: a repeated DELETE cannot prove the password any more, and nothing is left to erase."""
    return Problem(
        404,
        "This account has been erased.",
        type_=TYPE_BASE + "account-erased",
        title="Account erased",
    )


def active_account(session: Session, user_id: uuid.UUID) -> User:
    """The caller's row; 404 when it was erased (its access token may outlive the account)."""
    user = session.get(User, user_id)
    if user is None or user.erased_at is not None:
        raise account_erased()
    return user


def _locked_user(session: Session, user_id: uuid.UUID) -> User:
    """The user row, locked until commit on PostgreSQL, so consent changes and erasure of one
    account serialise (SQLite serialises writers anyway)."""
    user = session.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None or user.erased_at is not None:
        raise account_erased()
    return user


def _deleted(session: Session, statement: Any) -> int:
    """Rows a DELETE removed (``Session.execute`` is typed as returning a plain ``Result``)."""
    result = cast("CursorResult[Any]", session.execute(statement))
    return int(result.rowcount or 0)


def _delete_emotions(session: Session, user_id: uuid.UUID) -> tuple[int, int]:
    events = _deleted(session, delete(EVENTS).where(EVENTS.c.user_id == user_id))
    daily = _deleted(session, delete(DAILY).where(DAILY.c.user_id == user_id))
    return events, daily


# --- consent -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentState:
    emotion_processing: bool
    updated_at: datetime | None


def set_consent(engine: Engine, user_id: uuid.UUID, granted: bool) -> ConsentState:
    """Grant or withdraw consent to emotion processing (idempotent, like any PUT).

    The timestamp records when the current state began, so repeating the same answer keeps it.
    Withdrawal deletes the emotional data in the same transaction as the flag: without consent
    there is no legal basis to keep it. A repeated withdrawal deletes again, which also removes
    readings the stream stored after the first one.
    """
    with Session(engine, expire_on_commit=False) as session:
        user = _locked_user(session, user_id)
        changed = user.consent_emotion_processing != granted
        if changed:
            user.consent_emotion_processing = granted
            user.consent_updated_at = utcnow()
            session.add(user)
            session.flush()
        events = daily = 0
        if not granted:
            events, daily = _delete_emotions(session, user_id)
        session.commit()
    log.info(
        "emotion consent granted" if granted else "emotion consent withdrawn",
        extra={
            "user_id": str(user_id),
            "changed": changed,
            "deleted_readings": events,
            "deleted_daily": daily,
        },
    )
    return ConsentState(user.consent_emotion_processing, user.consent_updated_at)


# --- export ------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # money and rates as strings, as everywhere else in the API
    raise TypeError(f"cannot export {type(value).__name__}")


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_json_default)


def _row(mapping: Any, *drop: str) -> dict[str, Any]:
    return {key: value for key, value in dict(mapping).items() if key not in drop}


def _reasons(codes: Iterable[str]) -> list[dict[str, str | None]]:
    explained: list[dict[str, str | None]] = []
    for code in codes:
        try:
            text: str | None = describe(code)
        except (ValueError, KeyError):
            log.warning("unknown reason code in a decision record", extra={"code": code})
            text = None
        explained.append({"code": code, "description": text})
    return explained


def _record(row: Any) -> dict[str, Any]:
    """One audit record as the customer sees it. The reviewing analyst's id is left out (another
    person's data); that a person reviewed, and the comment about the customer, are included."""
    record = _row(row, "user_id", "decision_id", "reviewer_id", "reason_codes")
    record["reason_codes"] = _reasons(row["reason_codes"] or [])
    record["reviewed_by_a_person"] = row["reviewer_id"] is not None
    return record


def _decisions(conn: Connection, user_id: uuid.UUID) -> Iterator[dict[str, Any]]:
    """Decisions with their offer and append-only records: three queries, grouped in memory
    (a customer has a handful of decisions, each with a few records)."""
    records: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in conn.execute(
        select(RECORDS)
        .where(RECORDS.c.user_id == user_id)
        .order_by(RECORDS.c.created_at, RECORDS.c.id)
    ).mappings():
        records.setdefault(row["decision_id"], []).append(_record(row))
    offers = {
        row["decision_id"]: _row(row, "user_id", "decision_id")
        for row in conn.execute(select(OFFERS).where(OFFERS.c.user_id == user_id)).mappings()
    }
    for row in conn.execute(
        select(DECISIONS)
        .where(DECISIONS.c.user_id == user_id)
        .order_by(DECISIONS.c.requested_at, DECISIONS.c.id)
    ).mappings():
        decision = _row(row, "user_id", "workflow_id")
        decision["offer"] = offers.get(row["id"])
        decision["records"] = records.get(row["id"], [])
        yield decision


def _stream(conn: Connection, statement: Any, *drop: str) -> Iterator[dict[str, Any]]:
    """Rows fetched ``EXPORT_FETCH_ROWS`` at a time (a server-side cursor on PostgreSQL)."""
    result = conn.execute(statement.execution_options(yield_per=EXPORT_FETCH_ROWS))
    for row in result.mappings():
        yield _row(row, *drop)


def _array(key: str, items: Iterable[Any]) -> Iterator[bytes]:
    yield b"," + _dumps(key) + b":["
    for index, item in enumerate(items):
        yield (b"," if index else b"") + _dumps(item)
    yield b"]"


def _document(
    conn: Connection, settings: Settings, user_id: uuid.UUID, now: datetime
) -> Iterator[bytes]:
    user = conn.execute(select(USERS).where(USERS.c.id == user_id)).mappings().one()
    account = conn.execute(select(ACCOUNTS).where(ACCOUNTS.c.user_id == user_id)).mappings().first()
    head = {
        "format": EXPORT_FORMAT,
        "generated_at": now,
        "user_id": user_id,
        "profile": {
            "email": user["email"],
            "role": user["role"],
            "consent_emotion_processing": user["consent_emotion_processing"],
            "consent_updated_at": user["consent_updated_at"],
            "created_at": user["created_at"],
        },
        "retention": {
            "emotion_readings_days": settings.emotion_retention_days,
            "emotion_daily_days": settings.emotion_daily_retention_days,
        },
        "credit_account": _row(account, "user_id") if account else None,
    }
    yield _dumps(head)[:-1]  # the object stays open: the sections below are appended to it
    yield from _array("credit_decisions", _decisions(conn, user_id))
    yield from _array(
        "transactions",
        _stream(
            conn,
            select(TRANSACTIONS)
            .where(TRANSACTIONS.c.user_id == user_id)
            .order_by(TRANSACTIONS.c.occurred_at, TRANSACTIONS.c.id),
            "user_id",
        ),
    )
    yield from _array(
        "notifications",
        _stream(
            conn,
            select(NOTIFICATIONS)
            .where(NOTIFICATIONS.c.user_id == user_id)
            .order_by(NOTIFICATIONS.c.created_at, NOTIFICATIONS.c.id),
            "user_id",
        ),
    )
    yield from _array(
        "emotion_daily",
        _stream(
            conn,
            select(DAILY).where(DAILY.c.user_id == user_id).order_by(DAILY.c.day),
            "user_id",
        ),
    )
    # Newest first, one row past the cap to know whether anything was left out.
    readings = _stream(
        conn,
        select(EVENTS)
        .where(EVENTS.c.user_id == user_id)
        .order_by(EVENTS.c.occurred_at.desc(), EVENTS.c.event_id)
        .limit(EXPORT_READINGS_LIMIT + 1),
        "user_id",
    )
    counter = _Counter(readings, EXPORT_READINGS_LIMIT)
    yield from _array("emotion_readings", counter)
    yield b',"emotion_readings_truncated":' + _dumps(counter.truncated)
    if counter.truncated:
        note = (
            f"Only the newest {EXPORT_READINGS_LIMIT} raw readings are included; older ones are "
            "summarised in emotion_daily. Ask support for the complete set."
        )
        yield b',"emotion_readings_note":' + _dumps(note)
    yield b"}"


class _Counter:
    """Yields at most ``limit`` items and remembers whether the source had more."""

    def __init__(self, items: Iterator[dict[str, Any]], limit: int) -> None:
        self.items = items
        self.limit = limit
        self.truncated = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for index, item in enumerate(self.items):
            if index >= self.limit:
                self.truncated = True
                return
            yield item


def export_json(engine: Engine, settings: Settings, user_id: uuid.UUID) -> Iterator[bytes]:
    """The export document in chunks of about ``EXPORT_CHUNK_BYTES``, read from one snapshot.

    Chunks, not rows: the response iterates this in a thread pool, one hop per chunk.
    """
    now = utcnow()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            buffer: list[bytes] = []
            size = 0
            for piece in _document(conn, settings, user_id, now):
                buffer.append(piece)
                size += len(piece)
                if size >= EXPORT_CHUNK_BYTES:
                    yield b"".join(buffer)
                    buffer.clear()
                    size = 0
            yield b"".join(buffer)
    log.info("data export served", extra={"user_id": str(user_id)})


# --- erasure -----------------------------------------------------------------------------------


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
            raise temporal_unavailable() from exc


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
        raise temporal_unavailable() from exc
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            return False
        raise temporal_unavailable() from exc
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
        user = _locked_user(session, user_id)
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
        readings, daily = _delete_emotions(session, user_id)
        notifications = _deleted(
            session, delete(NOTIFICATIONS).where(NOTIFICATIONS.c.user_id == user_id)
        )
        transactions = _deleted(
            session, delete(TRANSACTIONS).where(TRANSACTIONS.c.user_id == user_id)
        )
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


async def erase_account(resources: Resources, user_id: uuid.UUID, password: str) -> ErasureReport:
    """Verify the password, end open decisions, then erase in one transaction.

    The password (not just a token) is required, so a stolen access token cannot wipe an account.
    If the workflow engine is unreachable nothing is erased (503): erasing while a workflow still
    runs would leave it acting for a deleted account. A decision requested while the others were
    being ended is caught inside the erasure transaction, which then rolls back and retries.
    """
    engine = resources.engine
    password_hash = await asyncio.to_thread(_password_hash, engine, user_id)
    if not await asyncio.to_thread(verify_password, password_hash, password):
        raise Problem(
            403,
            "The password is not correct; nothing was erased.",
            type_=TYPE_BASE + "wrong-password",
            title="Wrong password",
        )
    ended: set[uuid.UUID] = set()
    for _ in range(_ERASE_ATTEMPTS):
        found = await asyncio.to_thread(_open_decisions, engine, user_id)
        pending = [d for d in found if d.id not in ended]
        if pending:
            client = await connect_or_none(resources)
            if client is None:
                raise temporal_unavailable()
            for decision in pending:
                try:
                    await _end_decision(client, decision, user_id)
                except _TEMPORAL_DOWN as exc:
                    raise temporal_unavailable() from exc
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
    raise Problem(
        409,
        "Credit decisions keep being requested for this account; retry the erasure.",
        type_=TYPE_BASE + "erasure-conflict",
        headers={"Retry-After": "1"},
    )
