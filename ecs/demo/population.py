"""Customers of the demo, set up through the public APIs exactly as production gets them.

Each customer registers (consenting to emotion processing) and logs in; the lender's ledger feeds
their salaries and spending (``POST /v1/ledger/transactions`` with ``X-Ledger-Key``, the only
writer of financial history) going back ``--days`` (at least the 90 days the policy reads); and
their phone uploads the emotional history it buffered (``POST /v1/emotions``). The ingest API
refuses readings older than ``ecs.stream.messages.MAX_AGE`` (7 days) whoever sends them — the
trusted ingest key included — so emotional history covers at most the last 7 days; the simulator
says so when ``--days`` asks for more.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from ecs.demo.profiles import Mood, Profile, emotion_history, ledger_entries, profile_for
from ecs.demo.progress import Counters
from ecs.stream.messages import MAX_AGE

PASSWORD = "simulated-user-password"
LEDGER_BATCH = 500
READINGS_BATCH = 200  # ~30 KB a request, well inside the API's body limit
EMOTION_DAYS_ALLOWED = MAX_AGE.days


@dataclass
class SimUser:
    index: int
    user_id: str
    headers: dict[str, str]
    profile: Profile
    mood: Mood
    carry: float = 0.0
    decision_id: str | None = None


async def register(http: httpx.AsyncClient, run_id: str, index: int, rng: random.Random) -> SimUser:
    email = f"sim-{run_id}-{index}@example.com"
    created = await http.post(
        "/v1/auth/register",
        json={"email": email, "password": PASSWORD, "consent_emotion_processing": True},
    )
    created.raise_for_status()
    token = await http.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    token.raise_for_status()
    profile = profile_for(index)
    baseline = rng.uniform(0.35, 0.55) if profile.distress else rng.uniform(0.15, 0.4)
    return SimUser(
        index=index,
        user_id=created.json()["id"],
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        profile=profile,
        mood=Mood(rng=rng, baseline_stress=baseline),
    )


async def feed_ledger(
    http: httpx.AsyncClient,
    ledger_headers: dict[str, str],
    user: SimUser,
    days: int,
    prefix: str,
    counters: Counters,
) -> None:
    entries = ledger_entries(
        user.profile, user.user_id, datetime.now(UTC), days, user.mood.rng, prefix
    )
    for start in range(0, len(entries), LEDGER_BATCH):
        batch = entries[start : start + LEDGER_BATCH]
        response = await http.post(
            "/v1/ledger/transactions", json={"transactions": batch}, headers=ledger_headers
        )
        response.raise_for_status()
        counters.transactions += len(batch)


async def post_readings(
    http: httpx.AsyncClient, user: SimUser, readings: list[dict[str, Any]], counters: Counters
) -> None:
    """Upload in batches, as a phone flushing its buffer; counts every reading and status."""
    loop = asyncio.get_running_loop()
    for start in range(0, len(readings), READINGS_BATCH):
        chunk = readings[start : start + READINGS_BATCH]
        started = loop.time()
        try:
            response = await http.post(
                "/v1/emotions", json={"readings": chunk}, headers=user.headers
            )
            status = response.status_code
        except httpx.TransportError:
            status = 0
        counters.latencies_ms.append((loop.time() - started) * 1000)
        counters.requests += 1
        counters.sent += len(chunk)
        counters.statuses[status] += 1
        if status == 202:
            counters.accepted += len(chunk)


async def backfill_emotions(
    http: httpx.AsyncClient, user: SimUser, days: int, counters: Counters
) -> None:
    readings = emotion_history(
        user.profile, user.mood, datetime.now(UTC), min(days, EMOTION_DAYS_ALLOWED), user.mood.rng
    )
    await post_readings(http, user, readings, counters)


async def stored_readings(http: httpx.AsyncClient, user: SimUser) -> int:
    """How many of the user's readings the stream consumer has persisted (their data export)."""
    response = await http.get("/v1/me/export", headers=user.headers)
    response.raise_for_status()
    return len(response.json().get("emotion_readings", []))
