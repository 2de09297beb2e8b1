"""Emotion trends: the daily averages of consenting users and the takeaways read from them.

Every average is derived from sums weighted by readings (a day with 50 readings weighs more than
a day with 5) and is never an average of averages. Only days that pass the k-anonymity rule are
shown, and the takeaways are computed from those days only, so a suppressed day cannot leak back
through a weekly figure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from ecs.insights.anonymity import K_ANONYMITY, k_anonymous, publishable
from ecs.insights.measures import DIGITS, RECENT_DAYS, rounded

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class EmotionDayPoint:
    day: date
    users: int
    readings: int
    avg_positivity: float
    avg_intensity: float
    avg_stress: float
    distress_readings: int


@dataclass(frozen=True)
class DayAggregate:
    """One day's sums over users (the shape SQL returns; averages are derived, never summed)."""

    day: date
    users: int
    readings: int
    positivity_sum: float
    intensity_sum: float
    stress_sum: float
    distress_readings: int

    def point(self) -> EmotionDayPoint:
        n = max(self.readings, 1)
        return EmotionDayPoint(
            day=self.day,
            users=self.users,
            readings=self.readings,
            avg_positivity=round(self.positivity_sum / n, DIGITS),
            avg_intensity=round(self.intensity_sum / n, DIGITS),
            avg_stress=round(self.stress_sum / n, DIGITS),
            distress_readings=self.distress_readings,
        )


@dataclass(frozen=True)
class EmotionTakeaways:
    avg_stress_last_7d: float | None
    avg_stress_prev_7d: float | None
    stress_change_wow: float | None
    active_users_7d: int | None
    distress_user_share_7d: float | None
    most_stressful_weekday: str | None
    most_stressful_weekday_avg: float | None
    summary: list[str]


@dataclass(frozen=True)
class EmotionInsights:
    window_days: int
    first_day: date
    last_day: date
    k_anonymity: int
    suppressed_days: int
    days: list[EmotionDayPoint]
    takeaways: EmotionTakeaways


def first_day(last_day: date, days: int) -> date:
    """The first day of a ``days``-long window ending (inclusive) at ``last_day``."""
    return last_day - timedelta(days=days - 1)


def recent_start(last_day: date) -> date:
    """The first day of the takeaways' last week (``RECENT_DAYS`` ending at ``last_day``)."""
    return first_day(last_day, RECENT_DAYS)


def avg_stress(days: Iterable[DayAggregate]) -> float | None:
    """Average stress over the readings of ``days``; None when there are no readings."""
    readings = stress = 0.0
    for d in days:
        readings += d.readings
        stress += d.stress_sum
    return stress / readings if readings else None


def _most_stressful_weekday(days: Sequence[DayAggregate]) -> tuple[int, str | None, float | None]:
    """(weekdays seen, the weekday with the highest average stress, that average).

    Ties go to the earlier weekday (Monday first), so the answer does not depend on row order."""
    by_weekday: dict[int, list[DayAggregate]] = defaultdict(list)
    for d in days:
        by_weekday[d.day.weekday()].append(d)
    ranked = sorted(
        ((avg, w) for w, ds in by_weekday.items() if (avg := avg_stress(ds)) is not None),
        key=lambda x: (-x[0], x[1]),
    )
    if not ranked:
        return 0, None, None
    return len(ranked), WEEKDAYS[ranked[0][1]], ranked[0][0]


def emotion_takeaways(
    days: Sequence[DayAggregate],
    last_day: date,
    active_users_7d: int | None,
    distressed_users_7d: int | None,
) -> EmotionTakeaways:
    """Key takeaways from *published* (k-anonymous) days only, weighted by readings.

    ``active_users_7d`` / ``distressed_users_7d`` are distinct-user counts over the last 7 days
    (they cannot be derived from daily rows, a user active on two days would count twice); pass
    ``None`` when they are below k.
    """
    recent = recent_start(last_day)
    prev = recent - timedelta(days=RECENT_DAYS)
    last7 = avg_stress(d for d in days if recent <= d.day <= last_day)
    prev7 = avg_stress(d for d in days if prev <= d.day < recent)
    change = (last7 - prev7) / prev7 if last7 is not None and prev7 else None
    weekdays_seen, top_weekday, top_avg = _most_stressful_weekday(days)
    share = (
        distressed_users_7d / active_users_7d
        if active_users_7d and distressed_users_7d is not None
        else None
    )

    summary: list[str] = []
    if change is not None and last7 is not None and prev7 is not None:
        direction = "rose" if change > 0 else "fell" if change < 0 else "held steady"
        summary.append(
            f"Average stress {direction} {abs(change):.0%} week over week "
            f"({prev7:.2f} → {last7:.2f})."
        )
    elif last7 is not None:
        summary.append(f"Average stress over the last 7 days was {last7:.2f}.")
    if share is not None:
        summary.append(
            f"{share:.0%} of {active_users_7d} active users had at least one distress reading "
            "in the last 7 days."
        )
    if top_weekday is not None and top_avg is not None and weekdays_seen > 1:
        summary.append(f"Stress is highest on {top_weekday}s (average {top_avg:.2f}).")
    if not summary:
        summary.append(
            f"Not enough data yet: a day is shown once at least {K_ANONYMITY} users have readings."
        )
    return EmotionTakeaways(
        avg_stress_last_7d=rounded(last7),
        avg_stress_prev_7d=rounded(prev7),
        stress_change_wow=rounded(change),
        active_users_7d=active_users_7d,
        distress_user_share_7d=rounded(share),
        most_stressful_weekday=top_weekday,
        most_stressful_weekday_avg=rounded(top_avg),
        summary=summary,
    )


def emotion_report(
    all_days: Sequence[DayAggregate],
    *,
    window_days: int,
    last_day: date,
    active_users_7d: int,
    distressed_users_7d: int,
) -> EmotionInsights:
    """The published trend: suppression applied to the days and to the 7-day user counts.

    ``all_days`` are every day of the window with readings, before suppression; the counts are
    distinct users over the last ``RECENT_DAYS`` (both withheld together when below k)."""
    published = k_anonymous(all_days)
    week_shown = publishable(active_users_7d)
    return EmotionInsights(
        window_days=window_days,
        first_day=first_day(last_day, window_days),
        last_day=last_day,
        k_anonymity=K_ANONYMITY,
        suppressed_days=len(all_days) - len(published),
        days=[d.point() for d in published],
        takeaways=emotion_takeaways(
            published,
            last_day,
            active_users_7d if week_shown else None,
            distressed_users_7d if week_shown else None,
        ),
    )
