"""Who the demo's customers are: financial profiles and moods, as pure data generators.

Each profile is a way of living with money (a salary, how much of it is spent, how regular it
is, how long the bank account has existed) chosen so that the real policy, scoring the history
the ledger feed delivers, lands the customer in a known place: every risk band, and each kind of
denial (a new account, no income, a score too high). ``tests/unit/test_demo_profiles.py`` checks
each profile against ``ecs.domain`` so a policy change that moves one is noticed.

Moods are a mean-reverting walk around a personal baseline; a share of the customers live
through distress episodes (high stress and intensity), and the ``distressed`` ones are in one
when they ask for credit, so the workflow's cooling-off pause happens in the demo.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

LEDGER_MIN_DAYS = 100
"""Ledger history is at least this long: the policy reads the last 90 days of cash flow."""

READINGS_PER_DAY = 24
"""Backfilled emotion readings per customer and day (one an hour, with jitter)."""


@dataclass(frozen=True)
class Profile:
    name: str
    expected: str  # what the policy should make of it: a band, or the denial reason
    salary: float | None  # monthly; None = no income at all
    spend_ratio: float  # of the salary, per month
    jitter: float  # month-to-month variation of income and spending (0 = clockwork)
    account_days: int  # how far back the bank account's ledger history goes
    purchases_per_month: int
    distress: bool = False  # episodes in the emotional history, and one at request time


PROFILES: tuple[Profile, ...] = (
    Profile("prime saver", "A", 14000, 0.45, 0.02, 720, 25),
    Profile("steady earner", "B", 3200, 0.97, 0.08, 365, 8),
    Profile("stretched", "C", 2200, 1.1, 0.2, 250, 8),
    Profile("gig worker", "D", 2000, 1.05, 0.3, 160, 8),
    Profile("overspender", "E", 1500, 1.6, 0.3, 90, 8),
    Profile("brand-new account", "ACCOUNT_TOO_NEW", 3000, 0.6, 0.05, 3, 4),
    Profile("no income", "NO_RECENT_INFLOW", None, 0.0, 0.2, 200, 10),
    Profile("steady earner under stress", "B", 3200, 0.97, 0.08, 365, 8, distress=True),
    Profile("stretched under stress", "C", 2200, 1.1, 0.2, 250, 8, distress=True),
)
"""The cast, in the order customers are assigned to it (round robin)."""


def profile_for(index: int) -> Profile:
    return PROFILES[index % len(PROFILES)]


def ledger_entries(
    profile: Profile, user_id: str, now: datetime, days: int, rng: random.Random, prefix: str
) -> list[dict[str, Any]]:
    """The bank's view of ``days`` (at least ``LEDGER_MIN_DAYS``, at most the account's age) of
    this customer's life, oldest first, as ledger-feed transactions, plus the deposit that
    opened the account ``profile.account_days`` ago (the account's age counts from it)."""
    span = min(max(days, LEDGER_MIN_DAYS), profile.account_days)
    start = now - timedelta(days=span)
    entries: list[dict[str, Any]] = []
    opened = now - timedelta(days=profile.account_days, hours=1)

    def add(amount: float, direction: str, at: datetime, description: str) -> None:
        if amount < 0.01 or (at <= start and at != opened) or at > now:
            return
        entries.append(
            {
                "ledger_id": f"{prefix}-{len(entries)}",
                "user_id": user_id,
                "amount": f"{amount:.2f}",
                "currency": "BRL",
                "direction": direction,
                "occurred_at": at.isoformat(),
                "description": description,
            }
        )

    add(100.0, "in", opened, "opening deposit")
    base = profile.salary or 1500.0  # spending of someone without income comes from savings
    month = 0
    while (payday := now - timedelta(days=30 * month + 1)) > start:
        # Irregular incomes alternate between good and lean months, so volatility is by design
        # and the profile's band does not depend on the dice.
        swing = 1.0 + profile.jitter * (1 if month % 2 else -1)
        if profile.salary is not None:
            add(profile.salary * swing, "in", payday, "salary")
        add(base * profile.spend_ratio * 0.35, "out", payday + timedelta(hours=6), "rent")
        weights = [rng.uniform(0.5, 1.5) for _ in range(profile.purchases_per_month)]
        budget = base * profile.spend_ratio * 0.65
        for weight in weights:
            at = payday - timedelta(days=rng.uniform(0, 29))
            add(budget * weight / sum(weights), "out", at, "card purchase")
        month += 1
    entries.sort(key=lambda e: str(e["occurred_at"]))
    return entries


@dataclass
class Mood:
    """Stress and positivity walking around a baseline; distress episodes on demand."""

    rng: random.Random
    baseline_stress: float
    stress: float = 0.3
    positivity: float = 0.6

    def calm(self) -> dict[str, Any]:
        self.stress += 0.3 * (self.baseline_stress - self.stress) + self.rng.gauss(0, 0.05)
        self.positivity += 0.2 * (0.6 - self.positivity) + self.rng.gauss(0, 0.05)
        stress = min(max(self.stress, 0.0), 0.7)
        positivity = min(max(self.positivity, 0.0), 1.0)
        intensity = min(max(self.rng.gauss(0.3 + 0.4 * stress, 0.1), 0.0), 1.0)
        kind = (
            "calm"
            if stress < 0.3 and intensity < 0.4
            else "joy"
            if positivity > 0.75
            else ("sadness" if positivity < 0.3 else "reading")
        )
        return _metrics(kind, positivity, intensity, stress)

    def distress(self) -> dict[str, Any]:
        """Acute distress: at or above the cooling-off thresholds (0.8 stress, 0.6 intensity)."""
        self.stress = self.rng.uniform(0.85, 0.98)
        return _metrics(
            self.rng.choice(["stress", "fear", "anger"]),
            self.rng.uniform(0.0, 0.2),
            self.rng.uniform(0.7, 0.95),
            self.stress,
        )

    def recovered(self) -> dict[str, Any]:
        """A clearly calm reading (stress well below 0.5): it ends a cooling-off pause."""
        self.stress = self.rng.uniform(0.05, 0.2)
        return _metrics("calm", self.rng.uniform(0.5, 0.8), self.rng.uniform(0.1, 0.3), self.stress)


def _metrics(kind: str, positivity: float, intensity: float, stress: float) -> dict[str, Any]:
    return {
        "kind": kind,
        "metrics": {
            "positivity": round(positivity, 4),
            "intensity": round(intensity, 4),
            "stress": round(stress, 4),
        },
    }


def emotion_history(
    profile: Profile, mood: Mood, now: datetime, days: int, rng: random.Random
) -> list[dict[str, Any]]:
    """``days`` of hourly readings ending an hour ago (oldest first); distressed profiles have
    an episode every other day or so. Each reading carries its own ``event_id``."""
    readings: list[dict[str, Any]] = []
    for hour in range(days * 24 - 1, 0, -24 // READINGS_PER_DAY):
        at = now - timedelta(hours=hour, minutes=rng.uniform(0, 50))
        episode = profile.distress and rng.random() < 0.5 / READINGS_PER_DAY * 4
        sample = mood.distress() if episode else mood.calm()
        sample["event_id"] = str(uuid.uuid4())
        sample["occurred_at"] = at.isoformat()
        readings.append(sample)
    return readings
