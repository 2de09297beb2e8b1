"""Deterministic logistic scorecard, the default ``RiskModel``.

``score = sigmoid(INTERCEPT + sum(contributions))``. Each financial factor contributes
``weight * (x - reference)`` where ``x`` is a clamped, scale-free transform of a feature, so a
reference applicant (10% savings rate, 3,000/month income, 1-year-old account, ...) sits exactly at
the intercept (about 10% risk) and every contribution reads as "log-odds above or below that
applicant". Clamping bounds every contribution, so no single feature can dominate.

Emotional factors are caution-only and bounded: each is ``>= 0`` (a calm or happy user never gets
a better score, so nobody is rewarded for performing emotions, and missing emotion data is
neutral), and together they add at most ``EMOTIONAL_CAP`` = 0.5 log-odds (odds x1.65 at most).
The policy additionally strips these contributions before choosing the rate band, so emotions can
only lower a limit, never raise a price.

Bump ``MODEL_VERSION`` whenever a weight, reference or transform changes: it is stored with every
decision.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ecs.domain.features import Features
from ecs.risk.model import RiskScore

MODEL_NAME = "scorecard"
MODEL_VERSION = "scorecard-1.0.1"  # 1.0.1: the score is no longer rounded (see score())
INTERCEPT = -2.2
EMOTIONAL_CAP = 0.5


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, x))


def _monthly_income(f: Features) -> float:
    return max(f.inflow_90d / 3.0, 1.0)


@dataclass(frozen=True, slots=True)
class Factor:
    """One scorecard line: transform a feature, then ``weight * (x - reference)``."""

    name: str
    weight: float
    reference: float
    transform: Callable[[Features], float]

    def contribution(self, f: Features) -> float:
        return self.weight * (self.transform(f) - self.reference)


FINANCIAL_FACTORS: tuple[Factor, ...] = (
    # Savings rate over 90 days, in [-1, 1].
    Factor(
        "net_cash_flow_90d",
        -2.0,
        0.10,
        lambda f: _clamp(f.net_cash_flow_90d / max(f.inflow_90d, 1.0), -1.0, 1.0),
    ),
    # Last month's net flow relative to monthly income, in [-1, 1].
    Factor(
        "net_cash_flow_30d",
        -0.8,
        0.10,
        lambda f: _clamp(f.net_cash_flow_30d / _monthly_income(f), -1.0, 1.0),
    ),
    # Income level on a log scale: log10(1 + monthly inflow), in [0, 5].
    Factor(
        "inflow_90d",
        -0.8,
        math.log10(3001.0),
        lambda f: _clamp(math.log10(1.0 + f.inflow_90d / 3.0), 0.0, 5.0),
    ),
    # Coefficient of variation of monthly net flow, in [0, 2].
    Factor(
        "monthly_net_volatility_90d",
        1.2,
        0.25,
        lambda f: _clamp(f.monthly_net_volatility_90d / _monthly_income(f), 0.0, 2.0),
    ),
    # Account age in years, saturating at two.
    Factor("account_age_days", -0.6, 1.0, lambda f: min(f.account_age_days, 730) / 365.0),
    # Existing exposure in months of income, in [0, 3].
    Factor(
        "credit_exposure",
        0.9,
        0.5,
        lambda f: _clamp(f.credit_exposure / _monthly_income(f), 0.0, 3.0),
    ),
    # Activity: log(1 + transactions in 90 days), saturating at 300.
    Factor("tx_count_90d", -0.35, math.log1p(30.0), lambda f: math.log1p(min(f.tx_count_90d, 300))),
)


def _emotional_contributions(f: Features) -> dict[str, float]:
    """Caution-only terms, each >= 0, scaled down together to respect ``EMOTIONAL_CAP``."""
    raw = {
        # Up to 0.30: 0.06 per distress event in 30 days, saturating at 5 events.
        "stress_events_30d": 0.06 * min(f.stress_events_30d, 5),
        # Up to 0.40: only a *rising* trend counts, saturating at +0.5.
        "stress_trend": 0.8 * _clamp(f.stress_trend, 0.0, 0.5),
        # Up to 0.30: stress above 0.5 on the latest reading.
        "latest_stress": 0.6 * max(0.0, (f.latest_stress or 0.0) - 0.5),
    }
    total = sum(raw.values())
    if total > EMOTIONAL_CAP:
        scale = EMOTIONAL_CAP / total
        raw = {k: v * scale for k, v in raw.items()}
    return raw


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


class ScorecardModel:
    """In-process, deterministic ``RiskModel``: same features, same score, on any machine."""

    name: str = MODEL_NAME
    version: str = MODEL_VERSION

    def score(self, features: Features) -> RiskScore:
        """Synchronous core, usable from the policy tests and the model server alike."""
        contributions = {fac.name: fac.contribution(features) for fac in FINANCIAL_FACTORS}
        contributions.update(_emotional_contributions(features))
        rounded = {k: round(v, 6) + 0.0 for k, v in contributions.items()}  # no -0.0
        # The score is the sigmoid of the *rounded* contributions, itself unrounded: rounding the
        # probability to 6 decimals lost all precision near 0 (a very safe applicant's 4e-7 read
        # as 0 or 1e-6), so the policy's "score minus the emotional log-odds" landed in another
        # band than the same applicant without emotions — emotions changed the price.
        logit = INTERCEPT + sum(rounded.values())
        return RiskScore(
            score=_sigmoid(logit),
            model_name=self.name,
            model_version=self.version,
            contributions=rounded,
        )

    async def predict(self, features: Features) -> RiskScore:
        return self.score(features)
