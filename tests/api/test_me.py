"""The caller's own credit line and notifications."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from ecs.db.tables import Notification
from tests.api.conftest import Account, assert_problem


def _notify(engine: Engine, user_id: uuid.UUID, title: str, created_at: datetime) -> uuid.UUID:
    with Session(engine) as session:
        row = Notification(
            user_id=user_id,
            dedup_key=f"test-{uuid.uuid4()}",
            kind="test",
            title=title,
            body="body",
            created_at=created_at,
        )
        session.add(row)
        session.commit()
        return row.id


def test_no_credit_line_is_404(api_url: str, customer: Account) -> None:
    body = assert_problem(httpx.get(f"{api_url}/v1/me/credit", headers=customer.headers), 404)
    assert body["detail"] == "no active credit line"


def test_notifications_newest_first_paginated_and_markable(
    api_url: str, engine: Engine, customer: Account, other_customer: Account
) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    ids = [_notify(engine, customer.id, f"n{i}", start + timedelta(minutes=i)) for i in range(3)]
    foreign = _notify(engine, other_customer.id, "not yours", start)

    page = httpx.get(
        f"{api_url}/v1/me/notifications", params={"limit": 2}, headers=customer.headers
    ).json()
    assert [n["title"] for n in page["items"]] == ["n2", "n1"]
    assert page["next_offset"] == 2

    first = httpx.post(f"{api_url}/v1/me/notifications/{ids[0]}/read", headers=customer.headers)
    assert first.status_code == 200 and first.json()["read_at"] is not None
    again = httpx.post(f"{api_url}/v1/me/notifications/{ids[0]}/read", headers=customer.headers)
    assert again.json()["read_at"] == first.json()["read_at"]  # idempotent

    unread = httpx.get(
        f"{api_url}/v1/me/notifications", params={"unread": True}, headers=customer.headers
    ).json()
    assert {n["title"] for n in unread["items"]} == {"n1", "n2"}

    stolen = httpx.post(f"{api_url}/v1/me/notifications/{foreign}/read", headers=customer.headers)
    assert_problem(stolen, 404)
