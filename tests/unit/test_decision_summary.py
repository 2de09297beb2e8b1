"""The Web UI's texts tell each decision's story and carry no personal data.

``details_of`` is what the workflow's page shows (status, outcome and band, the offer's terms and
expiry or how it ended); ``static_summary`` is the list's one line. Both travel unencrypted
(the payload codec does not cover them), so neither may hold the user id, the feature values
behind the score, the score itself, reading ids or free text typed by people.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ecs.contracts import DecisionState, OfferView
from ecs.credit.workflow_input import static_summary
from ecs.db.tables import CreditDecision
from ecs.domain.policy import CreditType, Decision, PolicyOutcome, RiskBand
from ecs.domain.reasons import ReasonCode
from ecs.domain.status import DecisionStatus
from ecs.risk.model import RiskScore
from ecs.settings import Environment, Settings
from tests.unit.applicants import make_features
from workflows.summary import details_of

USER_ID = uuid.uuid4()
EVENT_ID = str(uuid.uuid4())
FEATURES = make_features(inflow_30d=4321.87, latest_stress=0.93)
SCORE = RiskScore(score=0.2317, model_name="scorecard", model_version="s-1", contributions={})
EXPIRES = datetime(2026, 12, 9, 14, 3, tzinfo=UTC)
APPROVED = PolicyOutcome(
    decision=Decision.APPROVED,
    risk_band=RiskBand.B,
    credit_limit=Decimal("7500.00"),
    interest_rate=Decimal("0.1850"),
    credit_type=CreditType.SHORT_TERM,
    reason_codes=[ReasonCode.LOW_NET_CASH_FLOW],
    policy_version="policy-test",
)
DENIED = APPROVED.model_copy(
    update={
        "decision": Decision.DENIED,
        "risk_band": RiskBand.E,
        "credit_limit": Decimal(0),
        "interest_rate": Decimal(0),
        "credit_type": None,
        "reason_codes": [ReasonCode.RISK_SCORE_TOO_HIGH],
    }
)
OFFER = OfferView(
    offer_id=str(uuid.uuid4()),
    credit_limit=Decimal("7500.00"),
    interest_rate=Decimal("0.1850"),
    credit_type="SHORT_TERM",
    expires_at=EXPIRES,
)


def _state(**changes: object) -> DecisionState:
    base = DecisionState(
        features=FEATURES, score=SCORE, seen=[EVENT_ID], last_event_id=EVENT_ID, signals=2
    )
    return base.model_copy(update=changes)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (
            _state(status=DecisionStatus.PENDING, score=None),
            ["**Status:** PENDING", "**Emotion signals:** 2"],
        ),
        (
            _state(status=DecisionStatus.OFFERED, outcome=APPROVED, offer=OFFER),
            [
                "**Status:** OFFERED",
                "**Outcome:** APPROVED, band B",
                "**Offer:** 7500.00 at 18.50% a year short-term, open until 2026-12-09 14:03 UTC",
                "**Reasons:** LOW_NET_CASH_FLOW",
            ],
        ),
        (
            _state(
                status=DecisionStatus.ACTIVE, outcome=APPROVED, offer=OFFER, settlement="ACCEPTED"
            ),
            ["**Status:** ACTIVE", "**Offer:** 7500.00 at 18.50% a year short-term, accepted"],
        ),
        (
            _state(status=DecisionStatus.EXPIRED, outcome=APPROVED, offer=OFFER),
            ["**Offer:** 7500.00 at 18.50% a year short-term, expired 2026-12-09 14:03 UTC"],
        ),
        (
            _state(status=DecisionStatus.DENIED, outcome=DENIED),
            ["**Outcome:** DENIED, band E", "**Reasons:** RISK_SCORE_TOO_HIGH"],
        ),
        (
            _state(
                status=DecisionStatus.COOLING_OFF,
                cooling_off_until=datetime(2026, 12, 2, 15, 0, 5, tzinfo=UTC),
                cooling_off_reason="latest stress 0.93",
            ),
            ["**Status:** COOLING_OFF", "**Cooling-off until:** 2026-12-02 15:00:05 UTC"],
        ),
    ],
    ids=["pending", "offered", "active", "expired", "denied", "cooling-off"],
)
def test_details_tell_the_story(state: DecisionState, expected: list[str]) -> None:
    details = details_of(state)
    lines = details.split("\n\n")
    for line in expected:
        assert line in lines, details
    # Nothing personal: no ids of the user or their readings, no score, no feature values.
    for secret in (str(USER_ID), EVENT_ID, "0.2317", "4321.87", "0.93", "inflow", "stress_"):
        assert secret not in details, (secret, details)
    # A denial shows no terms.
    if state.outcome is DENIED:
        assert "% a year" not in details


def test_static_summary_says_when_and_for_how_long_without_ids() -> None:
    decision = CreditDecision(
        user_id=USER_ID,
        workflow_id="credit-decision-x",
        requested_at=datetime(2026, 12, 2, 14, 3, 11, tzinfo=UTC),
    )
    settings = Settings(env=Environment.TEST, offer_ttl_seconds=7 * 86400)
    summary = static_summary(decision, settings)
    assert summary == "Credit decision, requested 2026-12-02 14:03 UTC; an offer is valid 7 d"
    assert str(USER_ID) not in summary
    assert static_summary(decision, settings.model_copy(update={"offer_ttl_seconds": 5400})) == (
        "Credit decision, requested 2026-12-02 14:03 UTC; an offer is valid 1.5 h"
    )
