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
from ecs.insights.drift import PSI_MIN_SAMPLES, PsiReading
from ecs.insights.fairness import FairnessGroup


class _Report(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# The examples reuse each other, so a report's example is built from its parts' examples.
_DAY = {
    "day": "2026-12-01",
    "users": 42,
    "readings": 3180,
    "avg_positivity": 0.12,
    "avg_intensity": 0.47,
    "avg_stress": 0.38,
    "distress_readings": 61,
}
_TAKEAWAYS = {
    "avg_stress_last_7d": 0.38,
    "avg_stress_prev_7d": 0.35,
    "stress_change_wow": 0.0857,
    "active_users_7d": 57,
    "distress_user_share_7d": 0.14,
    "most_stressful_weekday": "Monday",
    "most_stressful_weekday_avg": 0.44,
    "summary": [
        "Average stress rose 8.6% week over week (0.35 to 0.38).",
        "14% of active users had at least one distress reading in the last 7 days.",
        "Mondays are the most stressful day (average stress 0.44).",
    ],
}
_BAND = {
    "band": "B",
    "decisions": 61,
    "approved": 58,
    "approval_rate": 0.9508,
    "avg_interest_rate": "0.1850",
}
_BUCKET = {"lower": "5000.00", "upper": "10000.00", "count": 37}
_REASON = {"code": "LOW_NET_CASH_FLOW", "count": 24, "share": 0.1132}
_DAY_OUTCOMES = {"day": "2026-12-01", "by_outcome": {"APPROVED": 9, "DENIED": 2, "REFERRED": 1}}
_WEEK = {
    "week_start": "2026-11-25T14:00:00Z",
    "week_end": "2026-12-02T14:00:00Z",
    "model_version": "scorecard-1.0.1",
    "decisions": 74,
    "mean": 0.31,
    "p50": 0.29,
    "p90": 0.58,
}
_PSI = {
    "value": 0.042,
    "reading": "stable",
    "recent_since": "2026-11-25T14:00:00Z",
    "recent_count": 74,
    "reference_count": 138,
    "bin_edges": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
    "recent_shares": [0.27, 0.39, 0.2, 0.1, 0.04],
    "reference_shares": [0.3, 0.36, 0.2, 0.1, 0.04],
}
_GROUP = {
    "group": "distress",
    "decisions": 18,
    "approved": 11,
    "approval_rate": 0.6111,
    "avg_limit": "6200.00",
}
_RATE_CHECK = {
    "band": "B",
    "avg_rate_distress": "0.1850",
    "avg_rate_no_distress": "0.1850",
    "difference": "0.0000",
    "violation": False,
}
_FAIRNESS = {
    "rule": "distress = stress_events_30d > 0 or latest_stress >= 0.8 in the decision's feature "
    "snapshot; within a band the average rate must not differ between the groups",
    "groups": [
        _GROUP,
        dict(
            _GROUP,
            group="no_distress",
            decisions=194,
            approved=171,
            approval_rate=0.8814,
            avg_limit="9100.00",
        ),
    ],
    "rate_by_band": [_RATE_CHECK],
    "violation": False,
}


# --- emotions ------------------------------------------------------------------------------------


class EmotionDayPoint(_Report):
    model_config = examples(_DAY)

    day: date
    users: int = Field(description="Distinct consenting users with readings that day (>= k)")
    readings: int
    avg_positivity: float
    avg_intensity: float
    avg_stress: float
    distress_readings: int


class EmotionTakeaways(_Report):
    model_config = examples(_TAKEAWAYS)

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
            "days": [_DAY],
            "takeaways": _TAKEAWAYS,
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
    model_config = examples(_BAND)

    band: str
    decisions: int
    approved: int
    approval_rate: float
    avg_interest_rate: RateOut | None = Field(description="Average rate of approved decisions")


class Bucket(_Report):
    model_config = examples(_BUCKET)

    lower: MoneyOut
    upper: MoneyOut | None = Field(description="Exclusive; null for the open last bucket")
    count: int


class ReasonCount(_Report):
    model_config = examples(_REASON)

    code: str
    count: int
    share: float = Field(description="Share of decisions carrying this code")


class DayOutcomes(_Report):
    model_config = examples(_DAY_OUTCOMES)

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
            "bands": [_BAND],
            "approved_limits": 171,
            "avg_approved_limit": "8750.00",
            "limit_histogram": [_BUCKET],
            "reason_codes": [_REASON],
            "referred_backlog": 3,
            "oldest_referred_at": "2026-12-01T16:20:05Z",
            "by_day": [_DAY_OUTCOMES],
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
    model_config = examples(_WEEK)

    week_start: datetime
    week_end: datetime = Field(description="Exclusive; the newest week ends now")
    model_version: str
    decisions: int
    mean: float
    p50: float = Field(description="Nearest-rank median of the risk score")
    p90: float


class PsiReport(_Report):
    model_config = examples(_PSI)

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
    model_config = examples(_GROUP)

    group: FairnessGroup
    decisions: int
    approved: int
    approval_rate: float | None
    avg_limit: MoneyOut | None = Field(description="Average limit of approved decisions")


class BandRateCheck(_Report):
    model_config = examples(_RATE_CHECK)

    band: str
    avg_rate_distress: RateOut | None
    avg_rate_no_distress: RateOut | None
    difference: RateOut | None
    violation: bool


class FairnessReport(_Report):
    model_config = examples(_FAIRNESS)

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
            "drift": [_WEEK],
            "psi": _PSI,
            "fairness": _FAIRNESS,
        }
    )

    window_days: int
    since: datetime = Field(description="Start of the window: now minus window_days")
    model_version: str | None = Field(description="The model filter applied; null for all")
    policy_version: str | None = Field(description="The policy filter applied; null for all")
    drift: list[WeeklyScore]
    psi: PsiReport
    fairness: FairnessReport
