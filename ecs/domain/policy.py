"""The lending policy: knock-outs, risk band, limit, rate, credit type and reason codes.

Pure and table-driven so that a policy change is a reviewable diff with a new
``POLICY_VERSION``, and so it can run inside the Temporal workflow sandbox.

How emotion is allowed to act (the "empathy is a safety mechanism" rule):

* The rate band is chosen from the *financial* score: the model's score with its emotional
  log-odds contributions removed. Emotions therefore never change the band, the rate, the credit
  type or whether the user is approved.
* Emotions may only *lower* the limit, through a caution multiplier in ``[MIN_CAUTION, 1]``,
  and never below ``MIN_LIMIT`` (so they cannot turn an approval into a denial either).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from ecs.domain.emotions import CoolingOff, is_acute_distress
from ecs.domain.features import EMOTIONAL_FEATURES, Features
from ecs.domain.reasons import ADVERSE_REASON_BY_FACTOR, FAVOURABLE_REASON_BY_FACTOR, ReasonCode
from ecs.domain.status import DecisionStatus
from ecs.risk.model import RiskScore

POLICY_VERSION = "policy-2026.11.1"
MAX_REASON_CODES = 4


class Decision(StrEnum):
    APPROVED = "APPROVED"
    DENIED = "DENIED"
    REFERRED = "REFERRED"


OUTCOME_STATUS: dict[Decision, DecisionStatus] = {
    Decision.APPROVED: DecisionStatus.OFFERED,
    Decision.DENIED: DecisionStatus.DENIED,
    Decision.REFERRED: DecisionStatus.REFERRED,
}
"""A decision's status once the policy (or an analyst) has decided: the one map."""


class CreditType(StrEnum):
    SHORT_TERM = "SHORT_TERM"
    LONG_TERM = "LONG_TERM"


class RiskBand(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"


class PolicyOutcome(BaseModel):
    """What the policy decided; stored append-only with the decision record."""

    model_config = ConfigDict(frozen=True)

    decision: Decision
    risk_band: RiskBand | None
    credit_limit: Decimal
    interest_rate: Decimal
    credit_type: CreditType | None
    reason_codes: list[ReasonCode] = Field(max_length=MAX_REASON_CODES)
    policy_version: str
    emotional_caution: float = Field(default=1.0, ge=0.0, le=1.0)
    """Multiplier the emotional caution applied to the limit (1.0 = none); kept for audit."""


# --- Tables -----------------------------------------------------------------------------------

BAND_UPPER_BOUNDS: tuple[tuple[RiskBand, float], ...] = (
    (RiskBand.A, 0.04),
    (RiskBand.B, 0.12),
    (RiskBand.C, 0.20),
    (RiskBand.D, 0.32),
)
"""A score strictly below the bound falls in the band; anything else is E (declined)."""


class BandTerms(NamedTuple):
    annual_rate: Decimal
    income_multiple: Decimal  # limit = multiple x monthly inflow - existing exposure
    cap: Decimal


BAND_TERMS: dict[RiskBand, BandTerms] = {
    RiskBand.A: BandTerms(Decimal("0.1290"), Decimal("1.50"), Decimal("20000")),
    RiskBand.B: BandTerms(Decimal("0.1890"), Decimal("1.20"), Decimal("15000")),
    RiskBand.C: BandTerms(Decimal("0.2690"), Decimal("0.90"), Decimal("10000")),
    RiskBand.D: BandTerms(Decimal("0.3690"), Decimal("0.50"), Decimal("5000")),
}
"""Riskier bands get a higher rate, a lower income multiple and a lower cap (property-tested)."""

LIMIT_STEP = Decimal("50")
MIN_LIMIT = Decimal("100")
"""Below this the offer is not worth making: the user is declined for capacity."""

LONG_TERM_BANDS = frozenset({RiskBand.A, RiskBand.B})
LONG_TERM_MAX_VOLATILITY = 0.35  # monthly net-flow stddev / monthly inflow
LONG_TERM_MIN_AGE_DAYS = 180

MIN_ACCOUNT_AGE_DAYS = 7
MAX_EXPOSURE_TO_90D_INFLOW = 2.0  # i.e. six months of income

MIN_CAUTION = 0.6
EMOTIONAL_LOAD_NOISE = 0.05  # below this the model's emotional push is not worth a code
FACTOR_NOISE = 0.05  # contributions smaller than this (log-odds) did not really weigh


class _Caution(NamedTuple):
    multiplier: float
    code: ReasonCode


def _rule_cautions(f: Features, cooling_off: CoolingOff) -> list[_Caution]:
    """Policy-owned emotional caution, independent of any model's weights."""
    out: list[_Caution] = []
    if (
        f.latest_stress is not None
        and f.latest_intensity is not None
        and is_acute_distress(f.latest_stress, f.latest_intensity, cooling_off)
    ):
        out.append(_Caution(0.75, ReasonCode.ELEVATED_STRESS))
    if f.stress_events_30d >= 3:
        out.append(_Caution(0.80, ReasonCode.RECENT_EMOTIONAL_DISTRESS))
    if f.stress_trend >= 0.15:
        out.append(_Caution(0.85, ReasonCode.RISING_STRESS_TREND))
    return out


# --- Rules ------------------------------------------------------------------------------------


def knock_out(features: Features) -> list[ReasonCode]:
    """Hard rules checked before the model; any hit declines without scoring.

    Deliberately financial only: nobody is declined because of how they feel.
    """
    codes: list[ReasonCode] = []
    if features.account_age_days < MIN_ACCOUNT_AGE_DAYS:
        codes.append(ReasonCode.ACCOUNT_TOO_NEW)
    if features.inflow_90d <= 0.0:
        codes.append(ReasonCode.NO_RECENT_INFLOW)
    elif features.credit_exposure > MAX_EXPOSURE_TO_90D_INFLOW * features.inflow_90d:
        codes.append(ReasonCode.EXPOSURE_TOO_HIGH)
    return codes


def band_for(score: float) -> RiskBand:
    """Monotone: a higher score never maps to a better band."""
    for band, upper in BAND_UPPER_BOUNDS:
        if score < upper:
            return band
    return RiskBand.E


def financial_score(score: RiskScore) -> float:
    """The score with the model's emotional log-odds removed, used for band and rate."""
    emotional = sum(v for k, v in score.contributions.items() if k in EMOTIONAL_FEATURES)
    if emotional == 0.0:
        return score.score
    p = min(max(score.score, 1e-12), 1.0 - 1e-12)
    z = math.log(p / (1.0 - p)) - emotional
    return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


def _floor_to_step(x: Decimal) -> Decimal:
    if x <= 0:
        return Decimal(0)
    return (x / LIMIT_STEP).to_integral_value(rounding=ROUND_FLOOR) * LIMIT_STEP


def base_limit(band: RiskBand, features: Features) -> Decimal:
    """Limit before emotional caution: income multiple minus exposure, capped, floored to 50."""
    terms = BAND_TERMS[band]
    monthly_inflow = Decimal(repr(features.inflow_90d)) / 3
    raw = terms.income_multiple * monthly_inflow - Decimal(repr(features.credit_exposure))
    return _floor_to_step(min(raw, terms.cap))


def emotional_caution(
    features: Features, score: RiskScore, cooling_off: CoolingOff
) -> tuple[float, list[ReasonCode]]:
    """Limit multiplier in ``[MIN_CAUTION, 1]`` and the codes explaining it (strongest first).

    Two sources, the stronger wins (they are not multiplied, so they never stack): the policy's
    own rules on the emotional features, and the model's emotional load mapped to
    ``exp(-load)``.
    """
    cautions = _rule_cautions(features, cooling_off)
    emotional = {k: v for k, v in score.contributions.items() if k in EMOTIONAL_FEATURES}
    load = sum(v for v in emotional.values() if v > 0.0)
    if load >= EMOTIONAL_LOAD_NOISE:
        top = max(emotional, key=lambda k: emotional[k])
        code = ADVERSE_REASON_BY_FACTOR.get(top, ReasonCode.ELEVATED_STRESS)
        cautions.append(_Caution(math.exp(-load), code))
    if not cautions:
        return 1.0, []
    cautions.sort(key=lambda c: c.multiplier)
    multiplier = max(MIN_CAUTION, min(1.0, cautions[0].multiplier))
    return multiplier, _unique(c.code for c in cautions)


def _unique(codes: Iterable[ReasonCode]) -> list[ReasonCode]:
    out: list[ReasonCode] = []
    for c in codes:
        if c not in out:
            out.append(c)
    return out


def _adverse_financial(score: RiskScore) -> list[ReasonCode]:
    """Codes for financial factors that pushed risk up, largest push first."""
    items = [
        (v, ADVERSE_REASON_BY_FACTOR[k])
        for k, v in score.contributions.items()
        if k not in EMOTIONAL_FEATURES and k in ADVERSE_REASON_BY_FACTOR and v > FACTOR_NOISE
    ]
    items.sort(key=lambda kv: (-kv[0], kv[1].value))
    return _unique(code for _, code in items)


def _favourable(score: RiskScore) -> list[ReasonCode]:
    items = [
        (v, FAVOURABLE_REASON_BY_FACTOR[k])
        for k, v in score.contributions.items()
        if k in FAVOURABLE_REASON_BY_FACTOR and v < -FACTOR_NOISE
    ]
    items.sort(key=lambda kv: (kv[0], kv[1].value))
    return _unique(code for _, code in items)


def credit_type_for(band: RiskBand, features: Features) -> CreditType:
    """Long-term credit only for good bands with stable cash flow and some history."""
    monthly_inflow = max(features.inflow_90d / 3.0, 1.0)
    stable = features.monthly_net_volatility_90d / monthly_inflow <= LONG_TERM_MAX_VOLATILITY
    if band in LONG_TERM_BANDS and stable and features.account_age_days >= LONG_TERM_MIN_AGE_DAYS:
        return CreditType.LONG_TERM
    return CreditType.SHORT_TERM


def _outcome(
    decision: Decision,
    codes: list[ReasonCode],
    band: RiskBand | None = None,
    limit: Decimal = Decimal(0),
    rate: Decimal = Decimal(0),
    credit_type: CreditType | None = None,
    caution: float = 1.0,
) -> PolicyOutcome:
    return PolicyOutcome(
        decision=decision,
        risk_band=band,
        credit_limit=limit,
        interest_rate=rate,
        credit_type=credit_type,
        reason_codes=_unique(codes)[:MAX_REASON_CODES],
        policy_version=POLICY_VERSION,
        emotional_caution=caution,
    )


def decide(features: Features, score: RiskScore | None, cooling_off: CoolingOff) -> PolicyOutcome:
    """Apply the policy. Denied and referred outcomes carry limit 0 and rate 0 (no offer).

    ``cooling_off`` is the configured distress rule (``CoolingOff.from_settings``), the same one
    the decision's workflow pauses on: a reading that pauses a decision also lowers its limit.
    """
    knocked = knock_out(features)
    if knocked:
        return _outcome(Decision.DENIED, knocked)
    if score is None:
        return _outcome(Decision.REFERRED, [ReasonCode.MODEL_UNAVAILABLE, ReasonCode.MANUAL_REVIEW])

    band = band_for(financial_score(score))
    adverse = _adverse_financial(score)
    if band is RiskBand.E:
        return _outcome(Decision.DENIED, [ReasonCode.RISK_SCORE_TOO_HIGH, *adverse], band)

    base = base_limit(band, features)
    if base < MIN_LIMIT:
        return _outcome(Decision.DENIED, [ReasonCode.INSUFFICIENT_CAPACITY, *adverse], band)

    caution, caution_codes = emotional_caution(features, score, cooling_off)
    limit = max(MIN_LIMIT, _floor_to_step(base * Decimal(repr(caution))))
    # At most two caution codes so the financial factors that set the band stay visible.
    # A model without explanations still yields an explainable approval.
    codes = [*caution_codes[:2], *adverse] or _favourable(score) or [ReasonCode.LOW_RISK_SCORE]
    return _outcome(
        Decision.APPROVED,
        codes,
        band,
        limit,
        BAND_TERMS[band].annual_rate,
        credit_type_for(band, features),
        caution,
    )
