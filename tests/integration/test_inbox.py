"""The inbox numbers a user's notifications 1, 2, 3... in commit order, even written at once.

Twelve writers for one user at once: without the per-user lock in the numbering listener they
race for the same number and some give up after their retries (about a third of 60 appends did
on PostgreSQL before the lock)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine
from sqlmodel import Session

from ecs.notifications import inbox
from tests.factories import make_user


def _new(user_id: uuid.UUID, key: str) -> inbox.NewNotification:
    return inbox.NewNotification(user_id, key, "test", key, "body")


def test_concurrent_appends_get_consecutive_numbers_and_retries_find_their_row(
    engine: Engine,
) -> None:
    user_id = make_user(engine, months=0)
    keys = [f"inbox-{uuid.uuid4()}" for _ in range(48)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        rows = list(pool.map(lambda key: inbox.append(engine, _new(user_id, key)), keys))
    assert sorted(r.seq for r in rows if r.seq is not None) == list(range(1, 49))
    again = inbox.append(engine, _new(user_id, keys[0]))  # a retried activity
    assert (again.id, again.seq) == (rows[0].id, rows[0].seq)
    with Session(engine) as session:
        assert inbox.last_seq(session, user_id) == 48
        assert [r.seq for r in inbox.after(session, user_id, 45, limit=10)] == [46, 47, 48]
