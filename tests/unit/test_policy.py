"""Policy tables and rules, example by example."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal

import pytest

from ecs.domain.emotions import CoolingOff
from ecs.domain.features import Features
from ecs.domain.policy import (
    BAND_TERMS,
    BAND_UPPER_BOUNDS,
    MIN_CAUTION,
    POLICY_VERSION,
    CreditType,
    Decision,
    PolicyOutcome,
    RiskBand,
    band_for,
    decide,
    emotional_caution,
    financial_score,
    knock_out,
)
from ecs.domain.reasons import ReasonCode, describe
from ecs.risk.model import RiskScore
from tests.unit.applicants import make_features

RULE = CoolingOff()  # the default rule; tests of configured rules build their own


def rs(score: float, **contributions: float) -> RiskScore:
    return RiskScore(score=score, model_name="t", model_version="t", contributions=contributions)


def test_policy_version_pinned() -> None:
    assert POLICY_VERSION == "policy-2026.11.1"


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0.0, RiskBand.A),
        (0.0399, RiskBand.A),
        (0.04, RiskBand.B),
        (0.1199, RiskBand.B),
        (0.12, RiskBand.C),
        (0.20, RiskBand.D),
        (0.3199, RiskBand.D),
        (0.32, RiskBand.E),
        (1.0, RiskBand.E),
    ],
)
def test_band_table_edges(score: float, band: RiskBand) -> None:
    assert band_for(score) is band


def test_tables_get_stricter_with_risk() -> None:
    bounds = [b for _, b in BAND_UPPER_BOUNDS]
    assert bounds == sorted(bounds)
    rows = [BAND_TERMS[b] for b in (RiskBand.A, RiskBand.B, RiskBand.C, RiskBand.D)]
    for better, worse in itertools.pairwise(rows):
        assert worse.annual_rate > better.annual_rate
        assert worse.income_multiple <= better.income_multiple
        assert worse.cap <= better.cap
    assert RiskBand.E not in BAND_TERMS


@pytest.mark.parametrize(
    ("overrides", "codes"),
    [
        ({}, []),
        ({"account_age_days": 6}, [ReasonCode.ACCOUNT_TOO_NEW]),
        ({"account_age_days": 7}, []),
        ({"inflow_90d": 0.0}, [ReasonCode.NO_RECENT_INFLOW]),
        ({"credit_exposure": 18000.0}, []),  # exactly 2x 90-day inflow is allowed
        ({"credit_exposure": 18000.01}, [ReasonCode.EXPOSURE_TOO_HIGH]),
        (
            {"account_age_days": 0, "inflow_90d": 0.0},
            [ReasonCode.ACCOUNT_TOO_NEW, ReasonCode.NO_RECENT_INFLOW],
        ),
        # Emotions never knock anyone out.
        ({"latest_stress": 1.0, "latest_intensity": 1.0, "stress_events_30d": 99}, []),
    ],
)
def test_knock_outs(overrides: dict[str, object], codes: list[ReasonCode]) -> None:
    assert knock_out(make_features(**overrides)) == codes


def test_knock_out_denies_before_the_model() -> None:
    f = make_features(account_age_days=2)
    for score in (None, rs(0.01)):
        out = decide(f, score, RULE)
        assert out.decision is Decision.DENIED
        assert out.risk_band is None
        assert out.credit_limit == 0 and out.interest_rate == 0 and out.credit_type is None
        assert out.reason_codes == [ReasonCode.ACCOUNT_TOO_NEW]


def test_model_unavailable_is_referred_never_denied() -> None:
    out = decide(make_features(), None, RULE)
    assert out.decision is Decision.REFERRED
    assert out.reason_codes == [ReasonCode.MODEL_UNAVAILABLE, ReasonCode.MANUAL_REVIEW]
    assert out.credit_limit == 0 and out.risk_band is None
    assert out.policy_version == POLICY_VERSION


def test_band_e_is_denied_with_the_adverse_factors() -> None:
    out = decide(
        make_features(), rs(0.5, credit_exposure=1.2, account_age_days=0.3, tx_count_90d=0.01), RULE
    )
    assert out.decision is Decision.DENIED
    assert out.risk_band is RiskBand.E
    assert out.credit_limit == 0 and out.interest_rate == 0
    # tx_count_90d is below the noise floor: it did not really weigh.
    assert out.reason_codes == [
        ReasonCode.RISK_SCORE_TOO_HIGH,
        ReasonCode.HIGH_EXISTING_EXPOSURE,
        ReasonCode.SHORT_ACCOUNT_HISTORY,
    ]


@pytest.mark.parametrize(
    ("score", "overrides", "band", "limit", "rate"),
    [
        # monthly inflow 3000: A 1.5x = 4500, B 1.2x = 3600, C 0.9x = 2700, D 0.5x = 1500
        (0.01, {}, RiskBand.A, "4500", "0.1290"),
        (0.10, {}, RiskBand.B, "3600", "0.1890"),
        (0.15, {}, RiskBand.C, "2700", "0.2690"),
        (0.25, {}, RiskBand.D, "1500", "0.3690"),
        # exposure is subtracted, then floored to 50: 3600 - 1234 = 2366 -> 2350
        (0.10, {"credit_exposure": 1234.0}, RiskBand.B, "2350", "0.1890"),
        # cap: 1.5 x 20000 = 30000 -> capped at 20000 for band A
        (0.01, {"inflow_90d": 60000.0}, RiskBand.A, "20000", "0.1290"),
        (0.25, {"inflow_90d": 60000.0}, RiskBand.D, "5000", "0.3690"),
    ],
)
def test_limit_and_rate_tables(
    score: float, overrides: dict[str, object], band: RiskBand, limit: str, rate: str
) -> None:
    out = decide(make_features(**overrides), rs(score), RULE)
    assert out.decision is Decision.APPROVED
    assert out.risk_band is band
    assert out.credit_limit == Decimal(limit)
    assert out.interest_rate == Decimal(rate)
    assert out.emotional_caution == 1.0


def test_too_little_capacity_is_denied() -> None:
    # D: 0.5 x 3000 - 1450 = 50 < 100
    out = decide(make_features(credit_exposure=1450.0), rs(0.25, credit_exposure=0.4), RULE)
    assert out.decision is Decision.DENIED
    assert out.risk_band is RiskBand.D
    assert out.credit_limit == 0
    assert out.reason_codes == [ReasonCode.INSUFFICIENT_CAPACITY, ReasonCode.HIGH_EXISTING_EXPOSURE]


@pytest.mark.parametrize(
    ("score", "overrides", "credit_type"),
    [
        (0.01, {}, CreditType.LONG_TERM),
        (0.10, {}, CreditType.LONG_TERM),
        (0.15, {}, CreditType.SHORT_TERM),  # band C
        (0.01, {"monthly_net_volatility_90d": 1051.0}, CreditType.SHORT_TERM),  # cv 0.35+
        (0.01, {"monthly_net_volatility_90d": 1050.0}, CreditType.LONG_TERM),  # cv exactly 0.35
        (0.01, {"account_age_days": 179}, CreditType.SHORT_TERM),
    ],
)
def test_credit_type(score: float, overrides: dict[str, object], credit_type: CreditType) -> None:
    assert decide(make_features(**overrides), rs(score), RULE).credit_type is credit_type


def test_acute_distress_lowers_the_limit_but_not_the_rate() -> None:
    calm = decide(make_features(), rs(0.10), RULE)
    stressed = decide(make_features(latest_stress=0.9, latest_intensity=0.7), rs(0.10), RULE)
    assert stressed.decision is Decision.APPROVED
    assert stressed.interest_rate == calm.interest_rate
    assert stressed.credit_limit == Decimal("2700")  # 3600 x 0.75
    assert stressed.emotional_caution == 0.75
    assert stressed.reason_codes[0] is ReasonCode.ELEVATED_STRESS


def test_strongest_caution_wins_without_stacking() -> None:
    f = make_features(
        latest_stress=0.9, latest_intensity=0.9, stress_events_30d=3, stress_trend=0.2
    )
    mult, codes = emotional_caution(f, rs(0.1), RULE)
    assert mult == 0.75
    assert codes == [
        ReasonCode.ELEVATED_STRESS,
        ReasonCode.RECENT_EMOTIONAL_DISTRESS,
        ReasonCode.RISING_STRESS_TREND,
    ]
    out = decide(f, rs(0.1, credit_exposure=0.3), RULE)
    # Only two caution codes, so the financial factor stays visible.
    assert out.reason_codes == [
        ReasonCode.ELEVATED_STRESS,
        ReasonCode.RECENT_EMOTIONAL_DISTRESS,
        ReasonCode.HIGH_EXISTING_EXPOSURE,
    ]


def test_model_emotional_load_becomes_a_limit_multiplier() -> None:
    out = decide(make_features(), rs(0.10, stress_trend=0.4), RULE)
    assert out.emotional_caution == pytest.approx(math.exp(-0.4))
    assert out.credit_limit == Decimal("2400")  # floor50(3600 x 0.6703)
    assert out.reason_codes == [ReasonCode.RISING_STRESS_TREND]
    # Below the noise floor the model's emotional push is ignored.
    assert decide(make_features(), rs(0.10, stress_trend=0.01), RULE).emotional_caution == 1.0


def test_caution_is_floored() -> None:
    out = decide(make_features(), rs(0.5, stress_trend=5.0), RULE)
    # A (misbehaving) model's 5.0 emotional log-odds is stripped for pricing...
    assert out.risk_band is RiskBand.A
    # ...and caps the limit reduction at MIN_CAUTION.
    assert out.emotional_caution == MIN_CAUTION
    assert out.credit_limit == Decimal("2700")  # 4500 x 0.6


def test_emotional_caution_never_pushes_below_min_limit() -> None:
    # Band D, base = 0.5 x 3000 - 1350 = 150; x 0.6 = 90 -> held at the 100 minimum.
    f = make_features(credit_exposure=1350.0, latest_stress=1.0, latest_intensity=1.0)
    out = decide(f, rs(0.4, stress_trend=0.6), RULE)  # financial score 0.268 -> D, exp(-0.6) < 0.6
    assert out.decision is Decision.APPROVED
    assert out.risk_band is RiskBand.D
    assert out.emotional_caution == MIN_CAUTION
    assert out.credit_limit == Decimal("100")


def test_financial_score_strips_emotional_contributions() -> None:
    s = rs(0.2, stress_events_30d=0.3, stress_trend=0.2, credit_exposure=0.5)
    expected = 1 / (1 + math.exp(-(math.log(0.2 / 0.8) - 0.5)))
    assert financial_score(s) == pytest.approx(expected)
    assert band_for(s.score) is RiskBand.D
    assert decide(make_features(), s, RULE).risk_band is RiskBand.C
    assert financial_score(rs(0.2, credit_exposure=0.5)) == 0.2


def test_approval_without_adverse_factors_lists_favourable_ones() -> None:
    out = decide(
        make_features(),
        rs(0.01, net_cash_flow_90d=-0.9, credit_exposure=-0.45, tx_count_90d=-0.01),
        RULE,
    )
    assert out.reason_codes == [ReasonCode.STRONG_CASH_FLOW, ReasonCode.LOW_EXISTING_EXPOSURE]


def test_reason_codes_capped_at_four_and_ordered_by_weight() -> None:
    s = rs(
        0.1,
        net_cash_flow_90d=0.2,
        net_cash_flow_30d=0.9,
        inflow_90d=0.3,
        monthly_net_volatility_90d=0.5,
        account_age_days=0.6,
        credit_exposure=0.7,
        tx_count_90d=0.8,
        unknown_factor=3.0,
    )
    out = decide(make_features(), s, RULE)
    assert out.reason_codes == [
        ReasonCode.DECLINING_RECENT_CASH_FLOW,
        ReasonCode.FEW_TRANSACTIONS,
        ReasonCode.HIGH_EXISTING_EXPOSURE,
        ReasonCode.SHORT_ACCOUNT_HISTORY,
    ]


def test_outcome_round_trips_as_json() -> None:
    out = decide(make_features(latest_stress=0.95, latest_intensity=0.9), rs(0.05), RULE)
    assert PolicyOutcome.model_validate_json(out.model_dump_json()) == out
    assert '"interest_rate":"0.1890"' in out.model_dump_json()


def test_every_reason_code_has_a_description() -> None:
    for code in ReasonCode:
        assert describe(code).strip()
        assert describe(code.value) == describe(code)
    with pytest.raises(ValueError):
        describe("NOT_A_CODE")


def test_make_features_is_valid() -> None:
    assert isinstance(make_features(), Features)
