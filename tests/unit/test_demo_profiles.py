"""The demo's cast lands where the README and ``ecs simulate --days`` say it does.

Each profile's ledger history is scored by the real features, scorecard and policy (what the
worker runs), so a policy or scorecard change that moves a profile to another band fails here
rather than silently emptying a band of the demo dashboard.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ecs.demo.profiles import PROFILES, Mood, Profile, emotion_history, ledger_entries
from ecs.domain.emotions import CoolingOffThresholds, is_acute_distress
from ecs.domain.features import TransactionRecord, UserHistory, compute_features
from ecs.domain.policy import decide
from ecs.risk.scorecard import ScorecardModel
from ecs.stream.messages import MAX_AGE

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def _outcome(profile: Profile, seed: int, days: int) -> str:
    entries = ledger_entries(profile, "user", NOW, days, random.Random(seed), "demo")
    transactions = [
        TransactionRecord(
            amount=Decimal(e["amount"]),
            direction=e["direction"],
            occurred_at=datetime.fromisoformat(e["occurred_at"]),
        )
        for e in entries
    ]
    opened = min(t.occurred_at for t in transactions)
    history = UserHistory(
        user_id="user", as_of=NOW, account_created_at=opened, transactions=transactions
    )
    features = compute_features(history)
    outcome = decide(features, ScorecardModel().score(features), CoolingOffThresholds())
    return outcome.risk_band.value if outcome.risk_band else outcome.reason_codes[0].value


@pytest.mark.parametrize("profile", PROFILES, ids=[p.name for p in PROFILES])
@pytest.mark.parametrize(("seed", "days"), [(1, 7), (2, 30), (3, 120)])
def test_each_profile_gets_its_expected_outcome(profile: Profile, seed: int, days: int) -> None:
    assert _outcome(profile, seed, days) == profile.expected


def test_the_cast_covers_every_band_and_denial() -> None:
    expected = {p.expected for p in PROFILES}
    assert expected >= {"A", "B", "C", "D", "E", "ACCOUNT_TOO_NEW", "NO_RECENT_INFLOW"}
    assert any(p.distress for p in PROFILES)


def test_ledger_ids_are_unique_and_nothing_is_in_the_future() -> None:
    entries = ledger_entries(PROFILES[0], "user", NOW, 60, random.Random(0), "demo-1")
    assert len({e["ledger_id"] for e in entries}) == len(entries)
    assert all(datetime.fromisoformat(e["occurred_at"]) <= NOW for e in entries)


def test_emotion_history_stays_within_what_the_ingest_api_accepts() -> None:
    distressed = next(p for p in PROFILES if p.distress)
    rng = random.Random(4)
    readings = emotion_history(distressed, Mood(rng, 0.3), NOW, 7, rng)
    times = [datetime.fromisoformat(r["occurred_at"]) for r in readings]
    assert min(times) > NOW - MAX_AGE and max(times) < NOW - timedelta(minutes=5)
    thresholds = CoolingOffThresholds()
    episodes = [
        r
        for r in readings
        if is_acute_distress(r["metrics"]["stress"], r["metrics"]["intensity"], thresholds)
    ]
    assert episodes, "a distressed profile lives through distress episodes"
    calm = next(p for p in PROFILES if not p.distress)
    quiet = emotion_history(calm, Mood(rng, 0.3), NOW, 7, rng)
    assert not any(
        is_acute_distress(r["metrics"]["stress"], r["metrics"]["intensity"], thresholds)
        for r in quiet
    )
