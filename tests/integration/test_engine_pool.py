"""The connection pool never hands out a connection it cannot ping.

A pooled PostgreSQL connection can end up mid-query while it sits in the pool if anything
still uses the driver connection after the pool took it back (one candidate: the asynchronous
exception Temporal raises inside a cancelled sync activity's thread can land anywhere, the pool's
own code included; the API and an in-process worker share one engine per URL). The pre-ping then
failed with a ProgrammingError ("can't change 'autocommit' now: connection in transaction status
ACTIVE") that SQLAlchemy does not count as a disconnect, and the request that drew that
connection answered 500 (seen once in CI, on the API's consent lookup). ``ecs.db.engine`` now
treats any failed pre-ping as a dead connection: it is discarded and a fresh one is used.
"""

from __future__ import annotations

import os

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import text

from ecs.db.engine import make_engine


def test_a_pooled_connection_left_mid_query_is_replaced(caplog: pytest.LogCaptureFixture) -> None:
    server = os.environ.get("ECS_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("PostgreSQL-only case: set ECS_TEST_POSTGRES_URL (CI always does)")
    engine = make_engine(server)
    try:
        with engine.connect() as conn:
            stale = conn.connection.driver_connection
            assert conn.execute(text("SELECT 1")).scalar() == 1
        assert stale is not None and engine.pool.checkedin() == 1  # type: ignore[attr-defined]
        stale.pgconn.send_query(b"SELECT 1")  # someone still using it, behind the pool's back
        assert stale.info.transaction_status is TransactionStatus.ACTIVE

        with engine.connect() as conn:
            assert conn.execute(text("SELECT 2")).scalar() == 2
            assert conn.connection.driver_connection is not stale
        assert "discarding a pooled connection that failed its ping" in caplog.text
    finally:
        engine.dispose()
