"""How a re-scored line compares with its current terms: one pure rule, tested alone.

Worse terms (a lower limit, or the same limit at a higher rate) are a decrease: applied only after
notice. Better terms (a higher limit, or the same limit at a lower rate) are an increase: offered,
applied only if the customer accepts. A policy denial (or a referral: the model is unavailable) on a
line the customer is using is not an automatic cut: it is flagged for an analyst, since a lender
must be able to explain a withdrawal of credit, and the denial's reasons (knock-outs, a band-E
score) are exactly the cases a human should look at before a line is closed.
"""

from __future__ import annotations

from decimal import Decimal

from ecs.credit_lines.contract import ChangeKind
from ecs.domain.policy import Decision, PolicyOutcome


def compare(outcome: PolicyOutcome, limit: Decimal, rate: Decimal) -> ChangeKind:
    if outcome.decision is not Decision.APPROVED:
        return ChangeKind.FLAGGED
    if outcome.credit_limit < limit or (
        outcome.credit_limit == limit and outcome.interest_rate > rate
    ):
        return ChangeKind.DECREASE_NOTICED
    if outcome.credit_limit > limit or outcome.interest_rate < rate:
        return ChangeKind.INCREASE_OFFERED
    return ChangeKind.NO_CHANGE
