"""Migrations go up and down on SQLite always and on PostgreSQL whenever one is configured."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, SQLModel

from ecs.db.engine import make_engine
from ecs.db.migrate import downgrade, upgrade
from ecs.db.tables import CreditDecision, DecisionRecord, User
from ecs.domain.status import DecisionStatus, RecordKind
from tests.support import fresh_postgres_database

TABLES = {
    "users", "credit_accounts", "credit_line_changes", "transactions", "emotion_events",
    "emotion_daily",
    "credit_decisions", "decision_records", "offers", "notifications",
}  # fmt: skip


def _postgres_url() -> str | None:
    return os.environ.get("ECS_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    server = _postgres_url()
    if not server:
        pytest.skip("PostgreSQL-only case: set ECS_TEST_POSTGRES_URL (CI always does)")
    with fresh_postgres_database(server) as url:
        yield url


def _partitions(url: str) -> set[str]:
    """Partitions of a partitioned table (PostgreSQL's daily emotion_events tables)."""
    if not url.startswith("postgresql"):
        return set()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            query = "SELECT relname FROM pg_class WHERE relispartition AND relkind = 'r'"
            return set(conn.execute(text(query)).scalars())
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()
    return tables - _partitions(url)


def test_upgrade_downgrade_upgrade(empty_database: str) -> None:
    upgrade(empty_database)
    assert _tables(empty_database) == TABLES
    downgrade(empty_database, "base")
    assert _tables(empty_database) == set() and _partitions(empty_database) == set()
    upgrade(empty_database)
    assert _tables(empty_database) == TABLES


def _describe(difference: Any) -> tuple[str, str]:
    kind, item = difference[0], difference[1]
    if kind == "add_fk":
        return kind, item.parent.name
    return kind, item.name


def test_models_match_migrations(empty_database: str) -> None:
    """A model change without a migration fails here, not in production.

    On PostgreSQL the differences are the design: the daily partitions of emotion_events exist
    only in the database (0004); neither ``ix_emotion_events_occurred_at`` nor
    ``ix_emotion_events_user_time`` is created there, and the foreign key to users is dropped,
    because the partitioned primary key ``(user_id, occurred_at, event_id)`` is the index the
    queries use and the consumer checks users itself (0009: what each cost per reading).
    """
    upgrade(empty_database)
    partitions = _partitions(empty_database)
    engine = make_engine(empty_database)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(
                MigrationContext.configure(
                    connection,
                    opts={
                        "compare_type": False,
                        "include_name": lambda name, kind, parent: (
                            kind != "table" or name not in partitions
                        ),
                    },
                ),
                SQLModel.metadata,
            )
    finally:
        engine.dispose()
    if partitions:
        assert sorted(_describe(d) for d in diff) == [
            ("add_fk", "emotion_events"),
            ("add_index", "ix_emotion_events_occurred_at"),
            ("add_index", "ix_emotion_events_user_time"),
        ], diff
    else:
        assert diff == []


def test_database_enforces_invariants(empty_database: str) -> None:
    """One open decision per user, and decision records that cannot be rewritten."""
    upgrade(empty_database)
    engine = make_engine(empty_database)
    try:
        user = User(email="a@example.com", password_hash="h")
        with Session(engine) as session:
            session.add(user)
            session.commit()
            first = CreditDecision(user_id=user.id, workflow_id="wf-1")
            session.add(first)
            session.add(
                CreditDecision(user_id=user.id, workflow_id="wf-2", status=DecisionStatus.DENIED)
            )
            session.commit()
            session.add(
                CreditDecision(user_id=user.id, workflow_id="wf-3", status=DecisionStatus.OFFERED)
            )
            with pytest.raises(IntegrityError):
                session.commit()
            session.rollback()
            session.add(
                DecisionRecord(
                    decision_id=first.id,
                    user_id=user.id,
                    kind=RecordKind.AUTOMATED,
                    outcome="DENIED",
                    policy_version="p1",
                )
            )
            session.commit()
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as c:
            c.execute(text("UPDATE decision_records SET outcome = 'APPROVED'"))
    finally:
        engine.dispose()
