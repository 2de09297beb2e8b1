"""The customers' side of their credit decisions in the demo: ask, watch, answer the offer.

Each decision is polled through the customer's own API until it settles. An offer is answered
once: accepted (``ACCEPT_SHARE``), declined (``DECLINE_SHARE``) or left open to expire, so the
dashboard and the Temporal Web UI show every ending. Decisions seen in ``COOLING_OFF`` are
remembered, to report the pauses that happened.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter

import httpx

from ecs.demo.population import SimUser
from ecs.demo.progress import Counters

ACCEPT_SHARE, DECLINE_SHARE = 0.6, 0.15
OPEN = {"PENDING", "COOLING_OFF", "ACCEPTED"}
"""Statuses still moving: followed until they leave (ACCEPTED becomes ACTIVE once deployed)."""


async def request_credit(http: httpx.AsyncClient, user: SimUser, counters: Counters) -> None:
    response = await http.post(
        "/v1/credit-decisions",
        headers={**user.headers, "Idempotency-Key": f"sim-{user.index}-{uuid.uuid4().hex}"},
    )
    response.raise_for_status()
    user.decision_id = response.json()["id"]
    counters.decisions_requested += 1


async def follow_decisions(
    http: httpx.AsyncClient,
    askers: list[SimUser],
    counters: Counters,
    rng: random.Random,
    deadline: float,
) -> None:
    """Poll each decision until it settles; answer each offer once (accept, decline or wait)."""
    loop = asyncio.get_running_loop()
    answered: set[str] = set()
    while True:
        statuses: Counter[str] = Counter()
        for user in askers:
            if user.decision_id is None:
                continue
            path = f"/v1/credit-decisions/{user.decision_id}"
            status = (await http.get(path, headers=user.headers)).json().get("status", "?")
            if status == "COOLING_OFF":
                counters.paused.add(user.decision_id)
            if status == "OFFERED" and user.decision_id not in answered:
                answered.add(user.decision_id)
                status = await _answer_offer(http, user, rng, counters) or status
            statuses[status] += 1
        counters.outcomes = statuses
        if not (OPEN & set(statuses)) or loop.time() > deadline:
            return
        await asyncio.sleep(1.0)  # poll


async def _answer_offer(
    http: httpx.AsyncClient, user: SimUser, rng: random.Random, counters: Counters
) -> str | None:
    roll = rng.random()
    if roll >= ACCEPT_SHARE + DECLINE_SHARE:
        return None  # left open: it expires on its own
    action = "accept" if roll < ACCEPT_SHARE else "decline"
    response = await http.post(
        f"/v1/credit-decisions/{user.decision_id}/{action}", headers=user.headers
    )
    if response.status_code != 202:
        return None
    if action == "accept":
        counters.offers_accepted += 1
    else:
        counters.offers_declined += 1
    return str(response.json().get("status"))
