"""Response models of the analyst insights (``/v1/insights/*``).

The figures are computed by ``ecs.insights``, which returns plain dataclasses; these models are
the HTTP view of them: field descriptions for the OpenAPI page, and money and rates serialised
at their full scale (``MoneyOut``, ``RateOut``). Each model validates from attributes, so a route
converts a report with one ``model_validate`` call.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import MoneyOut, RateOut, examples
from api.schemas.insights_examples import (
    BAND,
    BUCKET,
    DAY,
    DAY_OUTCOMES,
    FAIRNESS,
    GROUP,
    PSI,
    RATE_CHECK,
    REASON,
    TAKEAWAYS,
    WEEK,
)
from ecs.insights.drift import PSI_MIN_SAMPLES, PsiReading
from ecs.insights.fairness import FairnessGroup


class _Report(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- emotions ------------------------------------------------------------------------------------


class EmotionDayPoint(_Report):
    model_config = examples(DAY)

    day: date
    users: int = Field(description="Distinct consenting users with readings that day (>= k)")
    readings: int
    avg_positivity: float
    avg_intensity: float
    avg_stress: float
    distress_readings: int


class EmotionTakeaways(_Report):
    model_config = examples(TAKEAWAYS)

    avg_stress_last_7d: float | None
    avg_stress_prev_7d: float | None
    stress_change_wow: float | None = Field(
        description="Relative week-over-week change of average stress (0.1 = +10%)"
    )
    active_users_7d: int | None = Field(description="Null when fewer than k users were active")
    distress_user_share_7d: float | None = Field(
        description="Share of active users with at least one distress reading in the last 7 days"
    )
    most_stressful_weekday: str | None
    most_stressful_weekday_avg: float | None
    summary: list[str] = Field(description="The takeaways as sentences, for people")


class EmotionInsights(_Report):
    model_config = examples(
        {
            "window_days": 30,
            "first_day": "2026-11-03",
            "last_day": "2026-12-02",
            "k_anonymity": 5,
            "suppressed_days": 2,
            "days": [DAY],
            "takeaways": TAKEAWAYS,
        }
    )

    window_days: int
    first_day: date
    last_day: date
    k_anonymity: int
    suppressed_days: int = Field(description="Days with readings from fewer than k users")
    days: list[EmotionDayPoint]
    takeaways: EmotionTakeaways


# --- credit --------------------------------------------------------------------------------------


class BandStats(_Report):
    model_config = examples(BAND)

    band: str
    decisions: int
    approved: int
    approval_rate: float
    avg_interest_rate: RateOut | None = Field(description="Average rate of approved decisions")


class Bucket(_Report):
    model_config = examples(BUCKET)

    lower: MoneyOut
    upper: MoneyOut | None = Field(description="Exclusive; null for the open last bucket")
    count: int


class ReasonCount(_Report):
    model_config = examples(REASON)

    code: str
    count: int
    share: float = Field(description="Share of decisions carrying this code")


class DayOutcomes(_Report):
    model_config = examples(DAY_OUTCOMES)

    day: date = Field(description="UTC day")
    by_outcome: dict[str, int]


class CreditInsights(_Report):
    model_config = examples(
        {
            "window_days": 30,
            "since": "2026-11-02T14:00:00Z",
            "model_version": "scorecard-1.0.1",
            "policy_version": "policy-2026.11.1",
            "decisions": 212,
            "by_outcome": {"APPROVED": 171, "DENIED": 29, "REFERRED": 12},
            "approval_rate": 0.8066,
            "unbanded": 19,
            "bands": [BAND],
            "approved_limits": 171,
            "avg_approved_limit": "8750.00",
            "limit_histogram": [BUCKET],
            "reason_codes": [REASON],
            "referred_backlog": 3,
            "oldest_referred_at": "2026-12-01T16:20:05Z",
            "by_day": [DAY_OUTCOMES],
            "model_versions": ["scorecard-1.0.1"],
            "policy_versions": ["policy-2026.11.1"],
        }
    )

    window_days: int
    since: datetime = Field(description="Start of the window: now minus window_days")
    model_version: str | None = Field(description="The model filter applied; null for all")
    policy_version: str | None = Field(description="The policy filter applied; null for all")
    decisions: int = Field(description="Decisions counted once, by their latest automated record")
    by_outcome: dict[str, int]
    approval_rate: float | None
    unbanded: int = Field(description="Decisions without a risk band (knock-outs, referrals)")
    bands: list[BandStats]
    approved_limits: int
    avg_approved_limit: MoneyOut | None
    limit_histogram: list[Bucket]
    reason_codes: list[ReasonCount]
    referred_backlog: int = Field(description="Decisions waiting for an analyst now (all time)")
    oldest_referred_at: datetime | None
    by_day: list[DayOutcomes] = Field(description="Outcomes per UTC day with decisions")
    model_versions: list[str] = Field(description="Model versions in the window (unfiltered)")
    policy_versions: list[str] = Field(description="Policy versions in the window (unfiltered)")


# --- model: drift and fairness -----------------------------------------------------------------


class WeeklyScore(_Report):
    model_config = examples(WEEK)

    week_start: datetime
    week_end: datetime = Field(description="Exclusive; the newest week ends now")
    model_version: str
    decisions: int
    mean: float
    p50: float = Field(description="Nearest-rank median of the risk score")
    p90: float


class PsiReport(_Report):
    model_config = examples(PSI)

    value: float | None = Field(
        description=f"Null when either window has fewer than {PSI_MIN_SAMPLES} scores"
    )
    reading: PsiReading
    recent_since: datetime = Field(description="Scores since then are the recent sample")
    recent_count: int
    reference_count: int = Field(description="Scores of the window before recent_since")
    bin_edges: list[float] = Field(description="Equal-width score bins over [0, 1]")
    recent_shares: list[float]
    reference_shares: list[float]


class GroupStats(_Report):
    model_config = examples(GROUP)

    group: FairnessGroup
    decisions: int
    approved: int
    approval_rate: float | None
    avg_limit: MoneyOut | None = Field(description="Average limit of approved decisions")


class BandRateCheck(_Report):
    model_config = examples(RATE_CHECK)

    band: str
    avg_rate_distress: RateOut | None
    avg_rate_no_distress: RateOut | None
    difference: RateOut | None
    violation: bool


class FairnessReport(_Report):
    model_config = examples(FAIRNESS)

    rule: str
    groups: list[GroupStats]
    rate_by_band: list[BandRateCheck]
    violation: bool


class ModelInsights(_Report):
    model_config = examples(
        {
            "window_days": 30,
            "since": "2026-11-02T14:00:00Z",
            "model_version": "scorecard-1.0.1",
            "policy_version": "policy-2026.11.1",
            "drift": [WEEK],
            "psi": PSI,
            "fairness": FAIRNESS,
        }
    )

    window_days: int
    since: datetime = Field(description="Start of the window: now minus window_days")
    model_version: str | None = Field(description="The model filter applied; null for all")
    policy_version: str | None = Field(description="The policy filter applied; null for all")
    drift: list[WeeklyScore]
    psi: PsiReport
    fairness: FairnessReport
