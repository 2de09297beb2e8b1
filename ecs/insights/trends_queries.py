"""The SQL behind the emotion trend: per-day sums and 7-day distinct users of consenting users.

Reads ``emotion_daily`` (per-user daily sums kept by the stream consumer), never raw readings,
and only users who consent to emotion processing and are not erased. Suppression is not done
here: ``trends.emotion_report`` applies the k-anonymity rule to what this fetches.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, case, distinct, func, select
from sqlmodel import Session, col

from ecs.db.tables import EmotionDaily, User
from ecs.insights.trends import (
    DayAggregate,
    EmotionInsights,
    emotion_report,
    first_day,
    recent_start,
)


def _consenting_days(start: date, end: date) -> list[ColumnElement[bool]]:
    """Days from ``start`` to ``end`` (inclusive) with readings, of consenting users only."""
    return [
        col(EmotionDaily.day) >= start,
        col(EmotionDaily.day) <= end,
        col(EmotionDaily.readings) > 0,
        col(User.consent_emotion_processing).is_(True),
        col(User.erased_at).is_(None),
    ]


def daily_aggregates(session: Session, start: date, end: date) -> list[DayAggregate]:
    """One row per day with readings, oldest first, before any suppression."""
    daily = (
        select(
            col(EmotionDaily.day),
            func.count(),
            func.sum(col(EmotionDaily.readings)),
            func.sum(col(EmotionDaily.positivity_sum)),
            func.sum(col(EmotionDaily.intensity_sum)),
            func.sum(col(EmotionDaily.stress_sum)),
            func.sum(col(EmotionDaily.distress_count)),
        )
        .join(User, col(User.id) == col(EmotionDaily.user_id))
        .where(*_consenting_days(start, end))
        .group_by(col(EmotionDaily.day))
        .order_by(col(EmotionDaily.day))
    )
    return [
        DayAggregate(day, users, int(n), float(pos), float(inten), float(stress), int(distress))
        for day, users, n, pos, inten, stress, distress in session.execute(daily)
    ]


def distinct_users(session: Session, start: date, end: date) -> tuple[int, int]:
    """(active users, users with at least one distress reading) over the days, each counted
    once however many days they were active: daily rows cannot give this."""
    distressed_user = case((col(EmotionDaily.distress_count) > 0, col(EmotionDaily.user_id)))
    week = (
        select(
            func.count(distinct(col(EmotionDaily.user_id))),
            func.count(distinct(distressed_user)),
        )
        .join(User, col(User.id) == col(EmotionDaily.user_id))
        .where(*_consenting_days(start, end))
    )
    active, distressed = session.execute(week).one()
    return int(active), int(distressed)


def emotion_insights(session: Session, *, days: int, today: date) -> EmotionInsights:
    """The daily trend over the ``days`` ending today, with its takeaways (k-anonymous)."""
    active, distressed = distinct_users(session, recent_start(today), today)
    return emotion_report(
        daily_aggregates(session, first_day(today, days), today),
        window_days=days,
        last_day=today,
        active_users_7d=active,
        distressed_users_7d=distressed,
    )
