"""Response models of the analyst insights (``/v1/insights/*``).

The figures are computed by ``ecs.insights``, which returns plain dataclasses; these models are
the HTTP view of them: field descriptions for the OpenAPI page, and money and rates serialised
at their full scale (``MoneyOut``, ``RateOut``). Each model validates from attributes, so a route
converts a report with one ``model_validate`` call.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import MoneyOut, RateOut
from ecs.insights.drift import PSI_MIN_SAMPLES, PsiReading
from ecs.insights.fairness import FairnessGroup


class _Report(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- emotions ------------------------------------------------------------------------------------


class EmotionDayPoint(_Report):
    day: date
    users: int = Field(description="Distinct consenting users with readings that day (>= k)")
    readings: int
    avg_positivity: float
    avg_intensity: float
    avg_stress: float
    distress_readings: int


class EmotionTakeaways(_Report):
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
    window_days: int
    first_day: date
    last_day: date
    k_anonymity: int
    suppressed_days: int = Field(description="Days with readings from fewer than k users")
    days: list[EmotionDayPoint]
    takeaways: EmotionTakeaways


# --- credit --------------------------------------------------------------------------------------


class BandStats(_Report):
    band: str
    decisions: int
    approved: int
    approval_rate: float
    avg_interest_rate: RateOut | None = Field(description="Average rate of approved decisions")


class Bucket(_Report):
    lower: MoneyOut
    upper: MoneyOut | None = Field(description="Exclusive; null for the open last bucket")
    count: int


class ReasonCount(_Report):
    code: str
    count: int
    share: float = Field(description="Share of decisions carrying this code")


class DayOutcomes(_Report):
    day: date = Field(description="UTC day")
    by_outcome: dict[str, int]


class CreditInsights(_Report):
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
    week_start: datetime
    week_end: datetime = Field(description="Exclusive; the newest week ends now")
    model_version: str
    decisions: int
    mean: float
    p50: float = Field(description="Nearest-rank median of the risk score")
    p90: float


class PsiReport(_Report):
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
    group: FairnessGroup
    decisions: int
    approved: int
    approval_rate: float | None
    avg_limit: MoneyOut | None = Field(description="Average limit of approved decisions")


class BandRateCheck(_Report):
    band: str
    avg_rate_distress: RateOut | None
    avg_rate_no_distress: RateOut | None
    difference: RateOut | None
    violation: bool


class FairnessReport(_Report):
    rule: str
    groups: list[GroupStats]
    rate_by_band: list[BandRateCheck]
    violation: bool


class ModelInsights(_Report):
    window_days: int
    since: datetime = Field(description="Start of the window: now minus window_days")
    model_version: str | None = Field(description="The model filter applied; null for all")
    policy_version: str | None = Field(description="The policy filter applied; null for all")
    drift: list[WeeklyScore]
    psi: PsiReport
    fairness: FairnessReport
