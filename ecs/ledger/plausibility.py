"""Plausibility of one ledger entry: pure rules, no I/O, no clock of their own.

The ledger is trusted, but a bug, a misconfigured replay or a compromised feed must not be able
to hand a customer decades of history or an absurd inflow (both moved the risk score more than
any real behaviour could). Each rule names what it protects:

* not before the ledger's go-live (``ledger_earliest_date``), and not more than
  ``ledger_max_days_before_signup`` before the customer registered: the account-age feature
  counts from the oldest transaction, so an early date alone bought a better band;
* not in the future beyond ``ledger_future_skew_seconds`` (clocks drift, but "future" income is
  not income);
* an amount within ``[ledger_min_amount, ledger_max_amount]``;
* a currency ECS sums (features add amounts up, so one currency; no silent FX).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from ecs.ledger.entries import Account, LedgerTransaction, Refusal
from ecs.settings import Settings


@dataclass(frozen=True)
class Rules:
    earliest: datetime
    max_before_signup: timedelta
    future_skew: timedelta
    min_amount: Decimal
    max_amount: Decimal
    currencies: frozenset[str]

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return cls(
            earliest=datetime.combine(settings.ledger_earliest_date, time(), tzinfo=UTC),
            max_before_signup=timedelta(days=settings.ledger_max_days_before_signup),
            future_skew=timedelta(seconds=settings.ledger_future_skew_seconds),
            min_amount=settings.ledger_min_amount,
            max_amount=settings.ledger_max_amount,
            currencies=frozenset(settings.ledger_currencies),
        )

    def check(
        self, entry: LedgerTransaction, account: Account, now: datetime
    ) -> tuple[Refusal, str] | None:
        """The first rule the entry breaks, with a sentence for the ledger's operators."""
        try:
            occurred = entry.occurred_at.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 has no UTC equivalent
            return Refusal.OUT_OF_RANGE, "occurred_at has no representable UTC time"
        if occurred < self.earliest:
            return Refusal.BEFORE_LEDGER, f"occurred_at is before {self.earliest.date()}"
        opened = account.created_at - self.max_before_signup
        if occurred < opened:
            return (
                Refusal.BEFORE_ACCOUNT,
                f"occurred_at is more than {self.max_before_signup.days} days before the "
                "customer's account was opened",
            )
        if occurred > now + self.future_skew:
            return Refusal.IN_FUTURE, "occurred_at is in the future"
        if not self.min_amount <= entry.amount <= self.max_amount:
            return (
                Refusal.AMOUNT_OUT_OF_BOUNDS,
                f"amount must be between {self.min_amount} and {self.max_amount}",
            )
        if entry.currency not in self.currencies:
            return Refusal.CURRENCY, f"currency must be one of {sorted(self.currencies)}"
        return None
