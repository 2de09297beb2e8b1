"""The ledger feed service: authenticate the ledger, then record a batch exactly once.

Idempotency is the database's job, not a prior SELECT's: the unique index on
``transactions.ledger_id`` and ``INSERT ... ON CONFLICT DO NOTHING`` make two concurrent copies
of one batch insert each entry once, and the loser reads back what the winner wrote. An id the
ledger reuses for a *different* movement is refused, never overwritten: money history is
append-only. Entries already recorded are answered ``duplicate`` before any rule runs, so a
replay answers the same even after the plausibility settings change.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col

from ecs import clock, errors
from ecs.db.tables import Transaction, User
from ecs.ledger.entries import Account, LedgerTransaction, Outcome, Refusal, Status
from ecs.ledger.plausibility import Rules
from ecs.settings import Settings

_COMPARED = ("user_id", "amount", "currency", "direction", "occurred_at", "description")


def authenticate_ledger(presented: str | None, settings: Settings) -> None:
    """Constant-time check of the ledger's service key; raises ``NotAuthenticated``."""
    expected = settings.ledger_key.get_secret_value().encode()
    given = (presented or "").encode("utf-8", "surrogateescape")
    if not presented or not expected or not hmac.compare_digest(given, expected):
        raise errors.NotAuthenticated(
            "The ledger feed needs the ledger's service key in X-Ledger-Key.",
            code="ledger-unauthorized",
        )


class LedgerFeed:
    def __init__(
        self, engine: Engine, rules: Rules, max_batch: int, wall: clock.Clock = clock.wall
    ) -> None:
        self.engine = engine
        self.rules = rules
        self.max_batch = max_batch
        self.wall = wall

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> LedgerFeed:
        return cls(engine, Rules.from_settings(settings), settings.ledger_max_batch)

    def record(self, entries: Sequence[LedgerTransaction]) -> list[Outcome]:
        """One outcome per entry, in order: ``created``, ``duplicate`` or ``rejected``."""
        if not 1 <= len(entries) <= self.max_batch:
            raise errors.InvalidInput(
                f"A batch holds 1 to {self.max_batch} transactions; got {len(entries)}.",
                code="ledger-batch-size",
            )
        now = datetime.fromtimestamp(self.wall(), UTC)
        outcomes, copies = _repeats_within(entries)
        with self.engine.begin() as conn:
            pending = [i for i in range(len(entries)) if i not in outcomes and i not in copies]
            known = _recorded(conn, [entries[i].ledger_id for i in pending])
            accounts = _accounts(conn, {entries[i].user_id for i in pending})
            to_insert: list[int] = []
            for i in pending:
                entry = entries[i]
                if entry.ledger_id in known:
                    outcomes[i] = _replayed(entry, known[entry.ledger_id])
                elif (account := accounts.get(entry.user_id)) is None:
                    outcomes[i] = _rejected(entry, Refusal.UNKNOWN_USER, "no such customer")
                elif (refusal := self.rules.check(entry, account, now)) is not None:
                    outcomes[i] = _rejected(entry, *refusal)
                else:
                    to_insert.append(i)
            created = _insert(conn, [entries[i] for i in to_insert], now)
            raced = [i for i in to_insert if entries[i].ledger_id not in created]
            if raced:  # a concurrent copy of the batch inserted these first
                won = _recorded(conn, [entries[i].ledger_id for i in raced])
                for i in raced:
                    outcomes[i] = _replayed(entries[i], won[entries[i].ledger_id])
            for i in to_insert:
                if i not in outcomes:
                    tx_id = created[entries[i].ledger_id]
                    outcomes[i] = Outcome(entries[i].ledger_id, Status.CREATED, tx_id)
        outcomes.update({i: _as_copy(outcomes[j]) for i, j in copies.items()})
        return [outcomes[i] for i in range(len(entries))]


def _repeats_within(
    entries: Sequence[LedgerTransaction],
) -> tuple[dict[int, Outcome], dict[int, int]]:
    """Entries sent twice in one batch: reused ids are refused; exact copies → their first."""
    first: dict[str, int] = {}
    refused: dict[int, Outcome] = {}
    copies: dict[int, int] = {}
    for i, entry in enumerate(entries):
        j = first.setdefault(entry.ledger_id, i)
        if j == i:
            continue
        if entries[j] == entry:
            copies[i] = j
        else:
            refused[i] = _rejected(entry, Refusal.LEDGER_ID_REUSED, "repeated in this batch")
    return refused, copies


def _as_copy(outcome: Outcome) -> Outcome:
    """What a second copy in the batch is told: the first's fate, a creation seen as duplicate."""
    if outcome.status is Status.CREATED:
        return Outcome(outcome.ledger_id, Status.DUPLICATE, outcome.transaction_id)
    return outcome


def _rejected(entry: LedgerTransaction, refusal: Refusal, detail: str) -> Outcome:
    return Outcome(entry.ledger_id, Status.REJECTED, refusal=refusal, detail=detail)


def _row(entry: LedgerTransaction) -> dict[str, Any]:
    return {
        "user_id": entry.user_id,
        "amount": entry.amount,
        "currency": entry.currency,
        "direction": entry.direction,
        "occurred_at": entry.occurred_at.astimezone(UTC),
        "description": entry.description,
    }


def _replayed(entry: LedgerTransaction, stored: dict[str, Any]) -> Outcome:
    if {k: stored[k] for k in _COMPARED} == _row(entry):
        return Outcome(entry.ledger_id, Status.DUPLICATE, stored["id"])
    return _rejected(
        entry, Refusal.LEDGER_ID_REUSED, "this ledger id is recorded with different content"
    )


def _recorded(conn: Connection, ledger_ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ledger_ids:
        return {}
    table = Transaction.__table__  # type: ignore[attr-defined]
    query = select(table).where(table.c.ledger_id.in_(ledger_ids))
    return {row.ledger_id: dict(row._mapping) for row in conn.execute(query)}


def _accounts(conn: Connection, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, Account]:
    query = select(col(User.id), col(User.created_at)).where(
        col(User.id).in_(user_ids), col(User.erased_at).is_(None)
    )
    return {row.id: Account(row.id, row.created_at) for row in conn.execute(query)}


def _insert(
    conn: Connection, entries: list[LedgerTransaction], now: datetime
) -> dict[str, uuid.UUID]:
    """Insert what no one has inserted yet; returns ledger id → transaction id of the new rows."""
    if not entries:
        return {}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    table = Transaction.__table__  # type: ignore[attr-defined]
    rows = [
        {**_row(e), "id": uuid.uuid4(), "ledger_id": e.ledger_id, "created_at": now}
        for e in entries
    ]
    statement = (
        dialect.insert(table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["ledger_id"])
        .returning(table.c.ledger_id, table.c.id)
    )
    return {row.ledger_id: row.id for row in conn.execute(statement)}
