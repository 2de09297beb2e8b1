"""Property tests: the invariants the lending policy promises for *any* input."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ecs.domain.emotions import CoolingOff
from ecs.domain.features import EMOTIONAL_FEATURES, Features
from ecs.domain.policy import (
    BAND_TERMS,
    BAND_UPPER_BOUNDS,
    LIMIT_STEP,
    MAX_REASON_CODES,
    MIN_CAUTION,
    MIN_LIMIT,
    Decision,
    band_for,
    base_limit,
    decide,
    emotional_caution,
)
from ecs.domain.reasons import ADVERSE_REASON_BY_FACTOR
from ecs.risk.model import RiskScore
from ecs.risk.scorecard import ScorecardModel

money = st.floats(min_value=0.0, max_value=200_000.0, allow_nan=False)
unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)

RULE = CoolingOff()  # the default rule; tests of configured rules build their own


@st.composite
def features_strategy(draw: st.DrawFn, approvable: bool = False) -> Features:
    """Arbitrary but internally consistent features (nets equal inflow minus outflow).

    ``approvable=True`` keeps clear of knock-outs and capacity denials, so the comparisons
    between approved outcomes in every band actually get exercised.
    """
    in30, out30 = draw(money), draw(money)
    in90, out90 = in30 + draw(money), out30 + draw(money)
    exposure = draw(money)
    age = draw(st.integers(0, 5000))
    if approvable:
        in90 = in30 + draw(st.floats(min_value=3000.0, max_value=300_000.0))
        exposure = draw(st.floats(min_value=0.0, max_value=0.3)) * in90 / 3
        age = draw(st.integers(7, 5000))
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
        account_age_days=age,
        credit_exposure=exposure,
        emotion_readings_7d=draw(st.integers(0, 1000)),
        avg_positivity_7d=draw(st.none() | unit),
        stress_events_30d=draw(st.integers(0, 100)),
        stress_trend=draw(st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)),
        latest_stress=draw(st.none() | unit),
        latest_positivity=draw(st.none() | unit),
        latest_intensity=draw(st.none() | unit),
    )


any_features = st.one_of(features_strategy(), features_strategy(approvable=True))


FACTORS = sorted(ADVERSE_REASON_BY_FACTOR)
contributions_strategy = st.dictionaries(
    st.sampled_from(FACTORS),
    st.floats(min_value=-3.0, max_value=3.0, allow_nan=False),
    max_size=len(FACTORS),
)
_edges = [b for _, b in BAND_UPPER_BOUNDS]
scores = st.one_of(
    st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
    # Hypothesis favours "simple" floats; make sure every approvable band is well covered.
    st.floats(min_value=0.0, max_value=0.4, allow_nan=False),
    st.sampled_from([e + d for e in _edges for d in (-1e-9, 0.0, 1e-9)]),
)


def rs(score: float, contributions: dict[str, float]) -> RiskScore:
    return RiskScore(score=score, model_name="p", model_version="p", contributions=contributions)


@st.composite
def emotional_overrides(draw: st.DrawFn) -> dict[str, object]:
    """New values for the emotional features only."""
    return {
        "emotion_readings_7d": draw(st.integers(0, 1000)),
        "avg_positivity_7d": draw(st.none() | unit),
        "stress_events_30d": draw(st.integers(0, 100)),
        "stress_trend": draw(st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)),
        "latest_stress": draw(st.none() | unit),
        "latest_positivity": draw(st.none() | unit),
        "latest_intensity": draw(st.none() | unit),
    }


NO_EMOTION: dict[str, object] = {
    "emotion_readings_7d": 0,
    "avg_positivity_7d": None,
    "stress_events_30d": 0,
    "stress_trend": 0.0,
    "latest_stress": None,
    "latest_positivity": None,
    "latest_intensity": None,
}
assert set(NO_EMOTION) == EMOTIONAL_FEATURES

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(any_features, scores, st.floats(min_value=0.0, max_value=0.2), contributions_strategy)
def test_riskier_score_never_higher_limit_or_lower_rate(
    f: Features, safer: float, delta: float, contributions: dict[str, float]
) -> None:
    # A small delta keeps both scores in the same or adjacent bands, where table mistakes hide.
    riskier = min(1.0, safer + delta)
    o_safe = decide(f, rs(safer, contributions), RULE)
    o_risk = decide(f, rs(riskier, contributions), RULE)
    assert o_risk.credit_limit <= o_safe.credit_limit
    if o_risk.decision is Decision.APPROVED:
        assert o_safe.decision is Decision.APPROVED
        assert o_risk.interest_rate >= o_safe.interest_rate


@SETTINGS
@given(any_features, emotional_overrides(), scores, contributions_strategy)
def test_emotional_features_never_change_rate_or_approval(
    f: Features, emo: dict[str, object], score: float, contributions: dict[str, float]
) -> None:
    s = rs(score, contributions)
    plain = decide(f.model_copy(update=NO_EMOTION), s, RULE)
    felt = decide(f.model_copy(update=emo), s, RULE)
    assert felt.interest_rate == plain.interest_rate
    assert felt.decision is plain.decision
    assert felt.risk_band is plain.risk_band
    assert felt.credit_type is plain.credit_type
    assert felt.credit_limit <= plain.credit_limit


@SETTINGS
@given(any_features, emotional_overrides())
def test_end_to_end_with_scorecard_emotions_only_lower_the_limit(
    f: Features, emo: dict[str, object]
) -> None:
    """Through the real model too: the scorecard's emotional push is stripped before pricing."""
    model = ScorecardModel()
    calm_f = f.model_copy(update=NO_EMOTION)
    felt_f = f.model_copy(update=emo)
    plain = decide(calm_f, model.score(calm_f), RULE)
    felt = decide(felt_f, model.score(felt_f), RULE)
    assert felt.interest_rate == plain.interest_rate
    assert felt.decision is plain.decision
    assert felt.risk_band is plain.risk_band
    assert felt.credit_limit <= plain.credit_limit


@SETTINGS
@given(any_features, scores, contributions_strategy)
def test_emotional_multiplier_never_raises_the_limit(
    f: Features, score: float, contributions: dict[str, float]
) -> None:
    s = rs(score, contributions)
    multiplier, codes = emotional_caution(f, s, RULE)
    assert MIN_CAUTION <= multiplier <= 1.0
    assert (multiplier == 1.0) == (not codes)
    out = decide(f, s, RULE)
    if out.decision is Decision.APPROVED:
        assert out.risk_band is not None
        assert out.credit_limit <= base_limit(out.risk_band, f)


@SETTINGS
@given(any_features, st.none() | scores, contributions_strategy)
def test_outcome_invariants(
    f: Features, score: float | None, contributions: dict[str, float]
) -> None:
    out = decide(f, None if score is None else rs(score, contributions), RULE)
    assert len(out.reason_codes) <= MAX_REASON_CODES
    assert len(set(out.reason_codes)) == len(out.reason_codes)
    assert out.reason_codes, "every decision must be explainable"
    if out.decision is not Decision.APPROVED:
        assert out.credit_limit == 0
        assert out.interest_rate == 0
        assert out.credit_type is None
    else:
        assert out.risk_band is not None
        terms = BAND_TERMS[out.risk_band]
        assert MIN_LIMIT <= out.credit_limit <= terms.cap
        assert out.credit_limit % LIMIT_STEP == 0
        assert out.interest_rate == terms.annual_rate
        assert out.credit_type is not None
    assert isinstance(out.credit_limit, Decimal)


@given(scores, scores)
def test_band_for_is_monotone(a: float, b: float) -> None:
    assume(a <= b)
    order = "ABCDE"
    assert order.index(band_for(a)) <= order.index(band_for(b))
