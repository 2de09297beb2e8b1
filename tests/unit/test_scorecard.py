"""The default scorecard: determinism, version, bounded and caution-only emotions."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecs.domain.features import EMOTIONAL_FEATURES, Features
from ecs.risk.model import RiskModel, RiskScore
from ecs.risk.scorecard import (
    EMOTIONAL_CAP,
    INTERCEPT,
    MODEL_NAME,
    MODEL_VERSION,
    ScorecardModel,
)
from tests.unit.applicants import make_features

MODEL = ScorecardModel()


money = st.floats(min_value=0.0, max_value=200_000.0, allow_nan=False)
unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def features_strategy(draw: st.DrawFn) -> Features:
    """Arbitrary but internally consistent features (nets equal inflow minus outflow)."""
    in30, out30 = draw(money), draw(money)
    in90, out90 = in30 + draw(money), out30 + draw(money)
    return Features(
        inflow_30d=in30,
        outflow_30d=out30,
        net_cash_flow_30d=in30 - out30,
        tx_count_30d=draw(st.integers(0, 500)),
        avg_ticket_30d=draw(money),
        inflow_90d=in90,
        outflow_90d=out90,
        net_cash_flow_90d=in90 - out90,
        tx_count_90d=draw(st.integers(0, 1500)),
        avg_ticket_90d=draw(money),
        monthly_net_volatility_90d=draw(money),
        account_age_days=draw(st.integers(0, 5000)),
        credit_exposure=draw(money),
        emotion_readings_7d=draw(st.integers(0, 1000)),
        avg_positivity_7d=draw(st.none() | unit),
        stress_events_30d=draw(st.integers(0, 100)),
        stress_trend=draw(st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)),
        latest_stress=draw(st.none() | unit),
        latest_positivity=draw(st.none() | unit),
        latest_intensity=draw(st.none() | unit),
    )


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_version_and_name_are_pinned() -> None:
    assert MODEL_VERSION == "scorecard-1.0.1"
    s = MODEL.score(make_features())
    assert (s.model_name, s.model_version) == (MODEL_NAME, MODEL_VERSION)
    assert isinstance(MODEL, RiskModel)


def test_reference_applicant_sits_at_the_intercept() -> None:
    ref = make_features(
        inflow_90d=9000.0,
        outflow_90d=8100.0,
        net_cash_flow_90d=900.0,
        inflow_30d=3000.0,
        outflow_30d=2700.0,
        net_cash_flow_30d=300.0,
        monthly_net_volatility_90d=750.0,
        account_age_days=365,
        credit_exposure=1500.0,
        tx_count_90d=30,
    )
    s = MODEL.score(ref)
    assert all(abs(v) < 1e-6 for v in s.contributions.values()), s.contributions
    assert s.score == pytest.approx(1 / (1 + math.exp(-INTERCEPT)), abs=1e-6)


def test_pinned_score_for_a_known_profile() -> None:
    """Golden value: if this changes, the model changed and MODEL_VERSION must be bumped."""
    s = MODEL.score(make_features())
    # By hand: volatility 1.2*(300/3000-0.25) = -0.18; age -0.6*(400/365-1) = -0.057534;
    # exposure 0.9*(0-0.5) = -0.45; every other factor sits at its reference.
    assert s.contributions["monthly_net_volatility_90d"] == pytest.approx(-0.18)
    assert s.contributions["account_age_days"] == pytest.approx(-0.057534)
    assert s.contributions["credit_exposure"] == pytest.approx(-0.45)
    assert s.score == pytest.approx(1 / (1 + math.exp(2.2 + 0.687534)), abs=1e-6)
    assert round(s.score, 12) == 0.052773253565


async def test_predict_equals_score_and_is_deterministic() -> None:
    f = make_features(credit_exposure=2500.0, stress_events_30d=4)
    a = await MODEL.predict(f)
    b = await MODEL.predict(Features.model_validate_json(f.model_dump_json()))
    assert a == b == MODEL.score(f)


def test_score_is_logistic_sum_of_contributions() -> None:
    s = MODEL.score(make_features(stress_trend=0.3, latest_stress=0.9, stress_events_30d=2))
    assert logit(s.score) == pytest.approx(INTERCEPT + sum(s.contributions.values()), abs=1e-4)


def test_adverse_factors_push_score_up() -> None:
    base = MODEL.score(make_features())
    worse = MODEL.score(make_features(credit_exposure=9000.0, account_age_days=10))
    assert worse.score > base.score
    assert worse.contributions["credit_exposure"] > 0
    assert worse.contributions["account_age_days"] > 0


@settings(max_examples=300, deadline=None)
@given(features_strategy())
def test_emotions_only_add_caution_and_are_capped(f: Features) -> None:
    s = MODEL.score(f)
    assert 0.0 <= s.score <= 1.0
    emotional = {k: v for k, v in s.contributions.items() if k in EMOTIONAL_FEATURES}
    assert set(emotional) == {"stress_events_30d", "stress_trend", "latest_stress"}
    assert all(v >= 0.0 for v in emotional.values())
    assert sum(emotional.values()) <= EMOTIONAL_CAP + 1e-5
    calm = f.model_copy(
        update={
            "stress_events_30d": 0,
            "stress_trend": 0.0,
            "latest_stress": None,
            "avg_positivity_7d": None,
        }
    )
    assert MODEL.score(calm).score <= s.score


def test_maxed_out_emotions_hit_the_cap_exactly() -> None:
    s = MODEL.score(make_features(stress_events_30d=50, stress_trend=1.0, latest_stress=1.0))
    emotional = sum(v for k, v in s.contributions.items() if k in EMOTIONAL_FEATURES)
    assert emotional == pytest.approx(EMOTIONAL_CAP, abs=1e-5)


def test_risk_score_validates_range() -> None:
    with pytest.raises(ValueError):
        RiskScore(score=1.5, model_name="m", model_version="v")
