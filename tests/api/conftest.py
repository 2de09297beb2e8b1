"""Helpers for the API tests: accounts made through the real HTTP endpoints.

Every test registers fresh users (random e-mail addresses), so tests neither depend on each other
nor on a clean database, and may share a database with other suites running at the same time.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session

from ecs.accounts.users import create_user
from ecs.domain.status import Role
from ecs.settings import Settings
from tests import ledger
from tests.support import free_port, wait_for

PASSWORD = "correct horse battery staple"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


@dataclass(frozen=True)
class Account:
    id: uuid.UUID
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def login(api_url: str, email: str, password: str = PASSWORD) -> str:
    response = httpx.post(
        f"{api_url}/v1/auth/token", data={"username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def register_and_login(api_url: str, *, consent: bool = True, prefix: str = "user") -> Account:
    """A new customer registered through ``POST /v1/auth/register`` and logged in."""
    email = unique_email(prefix)
    response = httpx.post(
        f"{api_url}/v1/auth/register",
        json={"email": email, "password": PASSWORD, "consent_emotion_processing": consent},
    )
    assert response.status_code == 201, response.text
    return Account(uuid.UUID(response.json()["id"]), email, PASSWORD, login(api_url, email))


def make_analyst(api_url: str, engine: Engine) -> Account:
    """Analysts cannot self-register; they are created the way the ``ecs`` CLI does it."""
    email = unique_email("analyst")
    with Session(engine, expire_on_commit=False) as session:
        user = create_user(session, email, PASSWORD, Role.ANALYST)
    return Account(user.id, email, PASSWORD, login(api_url, email))


@pytest.fixture
def customer(api_url: str) -> Account:
    return register_and_login(api_url)


@pytest.fixture
def other_customer(api_url: str) -> Account:
    return register_and_login(api_url, prefix="other")


@pytest.fixture
def analyst(api_url: str, engine: Engine) -> Account:
    return make_analyst(api_url, engine)


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    """The response is an RFC 9457 problem with this status; returns the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["type"] and body["title"] and body["detail"]
    return body


async def seed_good_history(client: httpx.AsyncClient, account: Account, months: int = 4) -> None:
    """Four months of salary and spending from the ledger feed: enough for the policy to approve."""
    now = datetime.now(UTC)
    entries = []
    for month in range(months):
        day = now - timedelta(days=30 * month + 2)
        entries.append(ledger.entry(account.id, "5000.00", "in", day))
        entries += [
            ledger.entry(account.id, "1000.00", "out", day - timedelta(days=7 * part + 1))
            for part in range(3)
        ]
    await ledger.feed(client, entries)


@contextmanager
def serve_api(settings: Settings) -> Iterator[str]:
    """Another real API server (own thread, own event loop) for tests needing other settings."""
    from api.main import create_app

    with serve_app(create_app(settings)) as url:
        yield url


@contextmanager
def serve_app(app: FastAPI) -> Iterator[str]:
    """Serve this app object, for tests that install their own parts in ``app.state``."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, timeout=20, message="the API server to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
