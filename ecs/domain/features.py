"""Feature extraction: a user's history, frozen at ``as_of``, turned into model inputs.

The same ``Features`` object is fed to the model, to the policy, and stored with the decision, so
a decision can be re-derived and audited later. Computation is a pure function of
``UserHistory``; in particular it never reads the clock, which keeps it replay-safe inside a
Temporal workflow.

Window convention (tested at the edges): an N-day window is the half-open interval
``(as_of - N days, as_of]``. Anything after ``as_of`` is ignored, so a history fetched a little
late cannot leak the future into a decision. Emotion aggregates are per calendar day (UTC); the
7-day window is ``as_of``'s UTC day and the six days before it, the 30-day window that day and the
29 before it.
"""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _as_utc(value: datetime) -> datetime:
    """Treat naive datetimes as UTC: SQLite drops the offset, and comparing naive with aware
    datetimes raises at decision time instead of at the boundary."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
"""A datetime normalised to UTC at validation time."""

Unit = Annotated[float, Field(ge=0.0, le=1.0)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, allow_inf_nan=False)


class TransactionRecord(_Frozen):
    """One money movement; the sign lives in ``direction`` so amounts can be validated > 0."""

    amount: Decimal = Field(gt=0)
    direction: Literal["in", "out"]
    occurred_at: UtcDatetime


class EmotionDay(_Frozen):
    """Per-user daily aggregate kept by the stream consumer (sums, so days can be merged)."""

    day: date
    readings: int = Field(ge=0)
    positivity_sum: float = Field(ge=0.0)
    intensity_sum: float = Field(ge=0.0)
    stress_sum: float = Field(ge=0.0)
    distress_count: int = Field(ge=0)


class EmotionSnapshot(_Frozen):
    """The latest emotion reading; ``event_id`` lets the workflow de-duplicate signals."""

    event_id: str
    occurred_at: UtcDatetime
    kind: str
    positivity: Unit
    intensity: Unit
    stress: Unit


class UserHistory(_Frozen):
    """Everything the feature computation may look at, fetched once by an activity."""

    user_id: str
    as_of: UtcDatetime
    account_created_at: UtcDatetime
    transactions: list[TransactionRecord] = Field(default_factory=list)
    credit_exposure: Decimal = Field(default=Decimal("0"), ge=0)
    emotion_days: list[EmotionDay] = Field(default_factory=list)
    latest_emotion: EmotionSnapshot | None = None


NonNegFloat = Annotated[float, Field(ge=0.0)]
NonNegInt = Annotated[int, Field(ge=0)]


class Features(_Frozen):
    """The feature snapshot stored with every decision; plain floats/ints so it is JSON-friendly."""

    inflow_30d: NonNegFloat
    outflow_30d: NonNegFloat
    net_cash_flow_30d: float
    tx_count_30d: NonNegInt
    avg_ticket_30d: NonNegFloat
    inflow_90d: NonNegFloat
    outflow_90d: NonNegFloat
    net_cash_flow_90d: float
    tx_count_90d: NonNegInt
    avg_ticket_90d: NonNegFloat
    monthly_net_volatility_90d: NonNegFloat
    account_age_days: NonNegInt
    credit_exposure: NonNegFloat
    emotion_readings_7d: NonNegInt
    avg_positivity_7d: Unit | None
    stress_events_30d: NonNegInt
    stress_trend: Annotated[float, Field(ge=-1.0, le=1.0)]
    latest_stress: Unit | None
    latest_positivity: Unit | None
    latest_intensity: Unit | None


EMOTIONAL_FEATURES: frozenset[str] = frozenset(
    {
        "emotion_readings_7d",
        "avg_positivity_7d",
        "stress_events_30d",
        "stress_trend",
        "latest_stress",
        "latest_positivity",
        "latest_intensity",
    }
)
"""Feature names that come from emotion data; the policy keeps these away from pricing."""


class _Flow:
    """Inflow/outflow totals of one window, in Decimal until the very end to avoid drift."""

    __slots__ = ("count", "inflow", "outflow")

    def __init__(self) -> None:
        self.inflow = Decimal(0)
        self.outflow = Decimal(0)
        self.count = 0

    def add(self, tx: TransactionRecord) -> None:
        if tx.direction == "in":
            self.inflow += tx.amount
        else:
            self.outflow += tx.amount
        self.count += 1

    @property
    def net(self) -> Decimal:
        return self.inflow - self.outflow

    @property
    def avg_ticket(self) -> float:
        return float((self.inflow + self.outflow) / self.count) if self.count else 0.0


def _age_bucket(as_of: datetime, at: datetime) -> int | None:
    """Index k of the 30-day bucket ``(as_of - 30(k+1)d, as_of - 30k d]`` holding ``at``."""
    if at > as_of:
        return None
    age = as_of - at
    if age >= timedelta(days=90):
        return None
    # age == 30d exactly belongs to bucket 1 (the window is open at its old end).
    return age // timedelta(days=30)


def _avg(total: float, count: int) -> float | None:
    return total / count if count else None


def compute_features(history: UserHistory) -> Features:
    """Derive the feature snapshot; deterministic for a given history."""
    as_of = history.as_of
    buckets = [_Flow(), _Flow(), _Flow()]
    for tx in history.transactions:
        k = _age_bucket(as_of, tx.occurred_at)
        if k is not None:
            buckets[k].add(tx)
    last30 = buckets[0]
    last90 = _Flow()
    for b in buckets:
        last90.inflow += b.inflow
        last90.outflow += b.outflow
        last90.count += b.count

    today = as_of.date()
    readings_7d_n = prior_n = distress_30d = 0
    pos_7d = stress_7d_sum = prior_stress = 0.0
    for d in history.emotion_days:
        back = (today - d.day).days
        if back < 0 or back >= 30:
            continue
        distress_30d += d.distress_count
        if back < 7:
            readings_7d_n += d.readings
            pos_7d += d.positivity_sum
            stress_7d_sum += d.stress_sum
        else:
            prior_n += d.readings
            prior_stress += d.stress_sum

    recent_stress = _avg(stress_7d_sum, readings_7d_n)
    earlier_stress = _avg(prior_stress, prior_n)
    trend = 0.0
    if recent_stress is not None and earlier_stress is not None:
        trend = _clamp(recent_stress - earlier_stress, -1.0, 1.0)
    avg_pos = _avg(pos_7d, readings_7d_n)

    latest = history.latest_emotion
    if latest is not None and latest.occurred_at > as_of:
        latest = None

    return Features(
        inflow_30d=float(last30.inflow),
        outflow_30d=float(last30.outflow),
        net_cash_flow_30d=float(last30.net),
        tx_count_30d=last30.count,
        avg_ticket_30d=last30.avg_ticket,
        inflow_90d=float(last90.inflow),
        outflow_90d=float(last90.outflow),
        net_cash_flow_90d=float(last90.net),
        tx_count_90d=last90.count,
        avg_ticket_90d=last90.avg_ticket,
        monthly_net_volatility_90d=statistics.pstdev(float(b.net) for b in buckets),
        account_age_days=max(0, (as_of - history.account_created_at).days),
        credit_exposure=float(history.credit_exposure),
        emotion_readings_7d=readings_7d_n,
        avg_positivity_7d=None if avg_pos is None else _clamp(avg_pos, 0.0, 1.0),
        stress_events_30d=distress_30d,
        stress_trend=trend,
        latest_stress=None if latest is None else latest.stress,
        latest_positivity=None if latest is None else latest.positivity,
        latest_intensity=None if latest is None else latest.intensity,
    )


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, x))
