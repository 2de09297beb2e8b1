"""Engine and session factories for PostgreSQL (production) and SQLite (embedded)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext
from sqlmodel import Session, create_engine

from ecs.settings import Settings, get_settings
from ecs.tracing import instrument_engine

log = logging.getLogger("ecs.db")


def normalise_url(url: str) -> str:
    """Accept the ``postgresql://`` URLs operators paste and route them to psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while the stream consumer writes; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _failed_ping_is_a_dead_connection(context: ExceptionContext) -> None:
    """A pooled connection whose pre-ping fails for any reason is discarded, not handed out.

    SQLAlchemy replaces a connection only when the ping's error looks like a disconnect. One
    found mid-query in the pool (a thread still used it after the pool took it back) fails the
    ping with a ProgrammingError instead, and every request drawing it answered 500
    (``tests/integration/test_engine_pool.py``). Whatever broke it, a fresh connection is right.
    """
    if context.is_pre_ping and not context.is_disconnect:
        log.warning(
            "discarding a pooled connection that failed its ping",
            extra={"error": f"{type(context.original_exception).__name__}: "
                   f"{context.original_exception}"},
        )  # fmt: skip
        context.is_disconnect = True


def make_engine(url: str, *, echo: bool = False) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 10}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(
            url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True, pool_recycle=1800
        )
        event.listen(engine, "handle_error", _failed_ping_is_a_dead_connection)
    instrument_engine(engine)
    return engine


@lru_cache
def _engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine(settings: Settings | None = None) -> Engine:
    settings = settings or get_settings()
    return _engine_for(settings.effective_database_url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
