"""The ledger's plausibility rules at their edges, and production's refusal of a weak key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ecs.ledger.entries import Account, LedgerTransaction, Refusal
from ecs.ledger.plausibility import Rules
from ecs.settings import InsecureConfiguration, Settings

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
ACCOUNT = Account(uuid.uuid4(), created_at=NOW - timedelta(days=30))
RULES = Rules.from_settings(Settings(_env_file=None))


def _entry(
    occurred_at: datetime, amount: str = "10.00", currency: str = "BRL"
) -> LedgerTransaction:
    return LedgerTransaction.model_validate(
        {
            "ledger_id": "tx-1",
            "user_id": str(ACCOUNT.user_id),
            "amount": amount,
            "currency": currency,
            "direction": "in",
            "occurred_at": occurred_at.isoformat(),
        }
    )


def _refusal(entry: LedgerTransaction) -> Refusal | None:
    found = RULES.check(entry, ACCOUNT, NOW)
    return None if found is None else found[0]


def test_edges_of_every_rule() -> None:
    opened = ACCOUNT.created_at - timedelta(days=730)
    assert _refusal(_entry(opened)) is None
    assert _refusal(_entry(opened - timedelta(seconds=1))) is Refusal.BEFORE_ACCOUNT
    assert _refusal(_entry(NOW + timedelta(seconds=300))) is None
    assert _refusal(_entry(NOW + timedelta(seconds=301))) is Refusal.IN_FUTURE
    assert _refusal(_entry(NOW, "0.01")) is None and _refusal(_entry(NOW, "1000000.00")) is None
    assert _refusal(_entry(NOW, "0.00")) is Refusal.AMOUNT_OUT_OF_BOUNDS
    assert _refusal(_entry(NOW, "1000000.01")) is Refusal.AMOUNT_OUT_OF_BOUNDS
    assert _refusal(_entry(NOW, currency="EUR")) is Refusal.CURRENCY
    assert _entry(NOW, "12.50").amount == Decimal("12.50")


def test_nothing_predates_the_ledger_even_for_old_accounts() -> None:
    old = Account(ACCOUNT.user_id, created_at=datetime(2015, 6, 1, tzinfo=UTC))
    entry = _entry(datetime(2014, 12, 31, 23, 59, tzinfo=UTC))
    found = RULES.check(entry, old, NOW)
    assert found is not None and found[0] is Refusal.BEFORE_LEDGER


def test_production_refuses_a_short_ledger_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("ECS_ENV", "ECS_LEDGER_KEY"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(InsecureConfiguration, match="ECS_LEDGER_KEY is too weak"):
        Settings(_env_file=None, env="production", ledger_key="short-ledger-key")
