"""Who may contest, review and confirm: the workflow's validators as pure functions.

Each case is one sentence of the rule in ``ecs.domain.review`` and ``workflows.rules``; the
end-to-end flows are in tests/api/test_contest.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ecs.contracts import (
    ConfirmRequest,
    ContestRequest,
    DecisionInput,
    DecisionState,
    OfferView,
    ReviewRequest,
)
from ecs.domain.emotions import CoolingOff
from ecs.domain.policy import Decision, PolicyOutcome
from ecs.domain.review import ReviewRules
from ecs.domain.status import DecisionStatus
from workflows import rules

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
USER, FIRST, SECOND = (str(uuid.uuid4()) for _ in range(3))


def _input(review_rules: ReviewRules | None = ReviewRules()) -> DecisionInput:
    return DecisionInput(
        decision_id=str(uuid.uuid4()),
        user_id=USER,
        offer_ttl_seconds=3600,
        cooling_off=CoolingOff(),
        review_rules=review_rules,
    )


def _outcome(decision: Decision) -> PolicyOutcome:
    return PolicyOutcome(
        decision=decision,
        risk_band=None,
        credit_limit=Decimal("1000.00") if decision is Decision.APPROVED else Decimal("0"),
        interest_rate=Decimal("0.2000") if decision is Decision.APPROVED else Decimal("0"),
        credit_type=None,
        reason_codes=[],
        policy_version="test",
    )


def _denied(**update: object) -> DecisionState:
    state = DecisionState(
        status=DecisionStatus.DENIED,
        outcome=_outcome(Decision.DENIED),
        contest_open_until=NOW + timedelta(days=15),
    )
    return state.model_copy(update=update)


def _contest(user: str = USER) -> ContestRequest:
    return ContestRequest(user_id=user, reason="paid in cash")


def test_a_denial_is_contestable_within_its_window_only() -> None:
    rules.check_contest(_denied(), _input(), _contest(), NOW)
    with pytest.raises(ValueError, match="window"):
        rules.check_contest(_denied(), _input(), _contest(), NOW + timedelta(days=15))
    with pytest.raises(ValueError, match="window"):  # a zero window never opens one
        rules.check_contest(_denied(contest_open_until=None), _input(), _contest(), NOW)


def test_only_the_customer_contests_once_an_automated_decision() -> None:
    with pytest.raises(ValueError, match="another user"):
        rules.check_contest(_denied(), _input(), _contest(FIRST), NOW)
    with pytest.raises(ValueError, match="already"):
        rules.check_contest(_denied(contest=_contest()), _input(), _contest(), NOW)
    with pytest.raises(ValueError, match="already"):
        rules.check_contest(_denied(contest_pending=True), _input(), _contest(), NOW)
    with pytest.raises(ValueError, match="not automated"):
        rules.check_contest(_denied(reviewed=True), _input(), _contest(), NOW)
    with pytest.raises(ValueError, match="before contesting existed"):
        rules.check_contest(_denied(), _input(review_rules=None), _contest(), NOW)


def test_an_open_offer_is_contestable_until_it_expires() -> None:
    offer = OfferView(
        offer_id=str(uuid.uuid4()),
        credit_limit=Decimal("1000.00"),
        interest_rate=Decimal("0.2000"),
        credit_type="SHORT_TERM",
        expires_at=NOW + timedelta(hours=1),
    )
    offered = DecisionState(
        status=DecisionStatus.OFFERED, outcome=_outcome(Decision.APPROVED), offer=offer
    )
    rules.check_contest(offered, _input(), _contest(), NOW)
    with pytest.raises(ValueError, match="expired"):
        rules.check_contest(offered, _input(), _contest(), NOW + timedelta(hours=1))
    accepted = offered.model_copy(update={"settlement": "ACCEPTED"})
    with pytest.raises(ValueError, match="only a denial or an open offer"):
        rules.check_contest(accepted, _input(), _contest(), NOW)
    with pytest.raises(ValueError, match="being contested"):  # no accept while it is opened
        rules.check_accept(
            offered.model_copy(update={"contest_pending": True}), _input(), USER, NOW
        )


def _review(approve: bool, reviewer: str = FIRST) -> ReviewRequest:
    terms = (
        {
            "credit_limit": Decimal("1000.00"),
            "interest_rate": Decimal("0.2"),
            "credit_type": "LONG_TERM",
        }
        if approve
        else {}
    )
    return ReviewRequest(reviewer_id=reviewer, approve=approve, comment="checked", **terms)


def test_a_contested_offer_is_upheld_or_repriced_never_withdrawn() -> None:
    contested = DecisionState(
        status=DecisionStatus.CONTESTED, outcome=_outcome(Decision.APPROVED), contest=_contest()
    )
    rules.check_review(contested, _input(), _review(approve=True))
    with pytest.raises(ValueError, match="not withdrawn"):
        rules.check_review(contested, _input(), _review(approve=False))
    denial = contested.model_copy(update={"outcome": _outcome(Decision.DENIED)})
    rules.check_review(denial, _input(), _review(approve=False))  # an upheld denial
    with pytest.raises(ValueError, match="only a REFERRED decision"):  # without rules
        rules.check_review(denial, _input(review_rules=None), _review(approve=False))


def test_four_eyes_needs_a_second_different_analyst() -> None:
    confirming = DecisionState(status=DecisionStatus.CONFIRMING, proposal=_review(approve=True))
    rules.check_confirm(
        confirming, _input(), ConfirmRequest(reviewer_id=SECOND, confirm=True, comment="fine")
    )
    with pytest.raises(ValueError, match="second analyst"):
        rules.check_confirm(
            confirming, _input(), ConfirmRequest(reviewer_id=FIRST, confirm=True, comment="fine")
        )
    with pytest.raises(ValueError, match="own credit request"):
        rules.check_confirm(
            confirming, _input(), ConfirmRequest(reviewer_id=USER, confirm=True, comment="fine")
        )
    referred = confirming.model_copy(update={"status": DecisionStatus.REFERRED})
    with pytest.raises(ValueError, match="only a CONFIRMING"):
        rules.check_confirm(
            referred, _input(), ConfirmRequest(reviewer_id=SECOND, confirm=True, comment="fine")
        )


def test_the_limit_itself_needs_one_analyst_above_it_two() -> None:
    limit = ReviewRules(four_eyes_limit=Decimal("20000.00"))
    assert not limit.needs_second_analyst(Decimal("20000.00"))
    assert limit.needs_second_analyst(Decimal("20000.01"))
    assert not limit.needs_second_analyst(None)
