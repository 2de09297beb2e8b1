"""``ecs simulate``: app users streaming emotions through the public API, end to end.

Each simulated user registers (with consent to emotion processing) and logs in; the simulated
lender's ledger then feeds a few months of the user's transactions through the ledger feed (the
only writer of financial history, authenticated with ``ECS_LEDGER_KEY``), and the user streams
readings in small batches, the way a phone app buffers sensor
samples. Emotions follow a mean-reverting random walk with occasional acute-distress episodes
(high stress and intensity for 5-20 s, then a calm recovery), so cooling-off pauses really happen
for the users who asked for credit. It only talks HTTP, so it exercises exactly what a client
would: auth, validation, the stream, the consumer and the workflows behind them.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ecs.settings import Settings
from ecs.stats import percentile

PASSWORD = "simulated-user-password"
BATCH_INTERVAL_SECONDS = 1.0
EPISODE_EVERY_SECONDS = 120.0


@dataclass
class Mood:
    """Ornstein-Uhlenbeck-style walk around a personal baseline, plus distress episodes."""

    rng: random.Random
    baseline_stress: float
    stress: float = 0.3
    positivity: float = 0.6
    episode_until: float = 0.0
    recovering_until: float = 0.0

    def sample(self, now: float, dt: float) -> dict[str, Any]:
        # About one episode per user every two minutes.
        if now >= self.episode_until and self.rng.random() < dt / EPISODE_EVERY_SECONDS:
            self.episode_until = now + self.rng.uniform(5, 20)
            self.recovering_until = self.episode_until + 10
        if now < self.episode_until:
            stress = self.rng.uniform(0.82, 0.99)
            intensity = self.rng.uniform(0.65, 0.95)
            positivity = self.rng.uniform(0.0, 0.2)
            kind = self.rng.choice(["stress", "fear", "anger"])
        else:
            target = 0.15 if now < self.recovering_until else self.baseline_stress
            self.stress += 0.3 * (target - self.stress) + self.rng.gauss(0, 0.05)
            self.positivity += 0.2 * (0.6 - self.positivity) + self.rng.gauss(0, 0.05)
            stress = min(max(self.stress, 0.0), 1.0)
            positivity = min(max(self.positivity, 0.0), 1.0)
            intensity = min(max(self.rng.gauss(0.35 + 0.4 * stress, 0.1), 0.0), 1.0)
            kind = (
                "calm"
                if stress < 0.3 and intensity < 0.4
                else "joy"
                if positivity > 0.75
                else "sadness"
                if positivity < 0.3
                else "reading"
            )
        return {
            "kind": kind,
            "metrics": {
                "positivity": round(positivity, 4),
                "intensity": round(intensity, 4),
                "stress": round(stress, 4),
            },
        }


@dataclass
class SimUser:
    index: int
    headers: dict[str, str]
    mood: Mood
    carry: float = 0.0
    decision_id: str | None = None


@dataclass
class Stats:
    sent: int = 0
    accepted: int = 0
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)


async def _feed_history(
    http: httpx.AsyncClient,
    ledger_headers: dict[str, str],
    user_id: str,
    prefix: str,
    rng: random.Random,
) -> None:
    """Three months of salary, rent and groceries, as the lender's ledger would send them."""
    salary = rng.choice([2500, 4200, 6800, 9000])
    now = datetime.now(UTC)
    entries = []
    for month in range(3):
        at = now - timedelta(days=30 * month + 2)
        for amount, direction, description in (
            (salary, "in", "salary"),
            (round(salary * rng.uniform(0.25, 0.4), 2), "out", "rent"),
            (round(salary * rng.uniform(0.1, 0.3), 2), "out", "groceries"),
        ):
            entries.append(
                {
                    "ledger_id": f"{prefix}-{month}-{description}",
                    "user_id": user_id,
                    "amount": f"{amount:.2f}",
                    "currency": "BRL",
                    "direction": direction,
                    "occurred_at": at.isoformat(),
                    "description": description,
                }
            )
    response = await http.post(
        "/v1/ledger/transactions", json={"transactions": entries}, headers=ledger_headers
    )
    response.raise_for_status()


async def _setup_user(
    http: httpx.AsyncClient,
    ledger_headers: dict[str, str],
    run_id: str,
    index: int,
    rng: random.Random,
) -> SimUser:
    email = f"sim-{run_id}-{index}@example.com"
    created = await http.post(
        "/v1/auth/register",
        json={"email": email, "password": PASSWORD, "consent_emotion_processing": True},
    )
    created.raise_for_status()
    token = await http.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    token.raise_for_status()
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    await _feed_history(http, ledger_headers, created.json()["id"], f"sim-{run_id}-{index}", rng)
    mood = Mood(rng=rng, baseline_stress=rng.uniform(0.2, 0.5))
    return SimUser(index=index, headers=headers, mood=mood)


async def _stream_user(
    http: httpx.AsyncClient,
    user: SimUser,
    per_user_rate: float,
    deadline: float,
    stats: Stats,
) -> None:
    # Stagger the users so their batches do not all land in the same millisecond.
    await asyncio.sleep(user.mood.rng.uniform(0, BATCH_INTERVAL_SECONDS))
    while time.monotonic() < deadline:
        tick = time.monotonic()
        user.carry += per_user_rate * BATCH_INTERVAL_SECONDS
        n, user.carry = int(user.carry), user.carry - int(user.carry)
        if n:
            now = datetime.now(UTC)
            readings = []
            for i in range(n):
                sample = user.mood.sample(tick + i / max(n, 1), BATCH_INTERVAL_SECONDS / n)
                offset = timedelta(seconds=BATCH_INTERVAL_SECONDS * (n - 1 - i) / n)
                sample["event_id"] = str(uuid.uuid4())
                sample["occurred_at"] = (now - offset).isoformat()
                readings.append(sample)
            for start in range(0, n, 1000):
                chunk = readings[start : start + 1000]
                started = time.perf_counter()
                try:
                    response = await http.post(
                        "/v1/emotions", json={"readings": chunk}, headers=user.headers
                    )
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                stats.latencies_ms.append((time.perf_counter() - started) * 1000)
                stats.requests += 1
                stats.sent += len(chunk)
                stats.statuses[status] = stats.statuses.get(status, 0) + 1
                if status == 202:
                    stats.accepted += len(chunk)
        await asyncio.sleep(max(0.0, BATCH_INTERVAL_SECONDS - (time.monotonic() - tick)))


async def _request_credit(http: httpx.AsyncClient, user: SimUser) -> None:
    response = await http.post(
        "/v1/credit-decisions",
        headers={**user.headers, "Idempotency-Key": f"sim-{user.index}-{uuid.uuid4().hex}"},
    )
    if response.status_code < 300:
        user.decision_id = response.json()["id"]
    else:
        print(f"credit request of user {user.index} failed: {response.status_code}")


async def run_simulation(settings: Settings, args: argparse.Namespace) -> int:
    api_url = args.api_url or f"http://127.0.0.1:{settings.api_port}"
    rng = random.Random()
    run_id = uuid.uuid4().hex[:8]
    limits = httpx.Limits(max_connections=max(args.users, 10))
    ledger_headers = {"X-Ledger-Key": settings.ledger_key.get_secret_value()}
    async with httpx.AsyncClient(base_url=api_url, timeout=30, limits=limits) as http:
        semaphore = asyncio.Semaphore(8)

        async def setup(i: int) -> SimUser:
            async with semaphore:
                seeded = random.Random(rng.random())
                return await _setup_user(http, ledger_headers, run_id, i, seeded)

        print(f"setting up {args.users} users against {api_url} ...")
        users = await asyncio.gather(*(setup(i) for i in range(args.users)))
        stats = Stats()
        deadline = time.monotonic() + args.duration
        per_user = args.rate / max(args.users, 1)
        streams = [
            asyncio.create_task(_stream_user(http, u, per_user, deadline, stats)) for u in users
        ]
        await asyncio.sleep(min(2.0, args.duration / 4))  # some emotion history first
        askers = users[: max(0, min(args.credit_requests, len(users)))]
        await asyncio.gather(*(_request_credit(http, u) for u in askers))
        await asyncio.gather(*streams)
        outcomes: dict[str, int] = {}
        for user in askers:
            if user.decision_id is None:
                continue
            response = await http.get(
                f"/v1/credit-decisions/{user.decision_id}", headers=user.headers
            )
            status = response.json().get("status", "?") if response.status_code == 200 else "?"
            outcomes[status] = outcomes.get(status, 0) + 1

    elapsed = args.duration
    print("simulation summary")
    print(f"  users                 {args.users}")
    print(
        f"  readings sent         {stats.sent} ({stats.sent / elapsed:.1f}/s over {elapsed:.0f} s)"
    )
    print(f"  readings accepted     {stats.accepted}")
    by_status = dict(sorted(stats.statuses.items()))
    print(f"  requests              {stats.requests}  by status {by_status}")
    print(f"  ack latency p50       {percentile(stats.latencies_ms, 0.50, empty=0.0):.1f} ms")
    print(f"  ack latency p99       {percentile(stats.latencies_ms, 0.99, empty=0.0):.1f} ms")
    print(f"  credit decisions      {outcomes or 'none requested'}")
    return 0 if stats.sent and stats.accepted == stats.sent else 1
