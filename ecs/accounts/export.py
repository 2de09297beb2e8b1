"""Access and portability (LGPD Art. 18 II, V): everything ECS holds about a user, as one JSON.

The document is streamed in chunks from one database snapshot (PostgreSQL: REPEATABLE READ), so a
big history never sits in memory as a whole and never mixes two moments. Another person's data is
left out: the reviewing analyst's id is not exported, only that a person reviewed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, select

from ecs.accounts.rows import (
    ACCOUNTS,
    DAILY,
    DECISIONS,
    EVENTS,
    NOTIFICATIONS,
    OFFERS,
    RECORDS,
    TRANSACTIONS,
    USERS,
)
from ecs.db.types import utcnow
from ecs.domain.reasons import describe
from ecs.settings import Settings

log = logging.getLogger("ecs.accounts.export")

EXPORT_FORMAT = "ecs-export/1"
EXPORT_READINGS_LIMIT = 100_000
EXPORT_CHUNK_BYTES = 64 * 1024
EXPORT_FETCH_ROWS = 1_000


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


def _owned(
    conn: Connection, table: Any, user_id: uuid.UUID, *order: Any, limit: int | None = None
) -> Iterator[dict[str, Any]]:
    """The user's rows of ``table`` in ``order``, without the user id, fetched
    ``EXPORT_FETCH_ROWS`` at a time (a server-side cursor on PostgreSQL)."""
    statement = select(table).where(table.c.user_id == user_id).order_by(*order).limit(limit)
    result = conn.execute(statement.execution_options(yield_per=EXPORT_FETCH_ROWS))
    for row in result.mappings():
        yield _row(row, "user_id")


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
        _owned(conn, TRANSACTIONS, user_id, TRANSACTIONS.c.occurred_at, TRANSACTIONS.c.id),
    )
    yield from _array(
        "notifications",
        _owned(conn, NOTIFICATIONS, user_id, NOTIFICATIONS.c.created_at, NOTIFICATIONS.c.id),
    )
    yield from _array("emotion_daily", _owned(conn, DAILY, user_id, DAILY.c.day))
    # Newest first, one row past the cap to know whether anything was left out.
    newest_first = (EVENTS.c.occurred_at.desc(), EVENTS.c.event_id)
    readings = _owned(conn, EVENTS, user_id, *newest_first, limit=EXPORT_READINGS_LIMIT + 1)
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
