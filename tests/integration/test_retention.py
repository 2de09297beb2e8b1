"""Retention of emotional data against the suite's real database (SQLite or PostgreSQL).

``apply_retention`` runs with a clock in the year 2001, so its cut-offs fall in 2000 and 1999:
only rows this test dates there are old enough, and data of other tests sharing the database (all
dated around today) is never touched by the age rules.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from ecs.db.tables import EmotionDaily, EmotionEvent, User
from ecs.retention import apply_retention, cutoffs
from ecs.settings import Settings

NOW = datetime(2001, 1, 1, 12, 0, tzinfo=UTC)


def _user(engine: Engine, *, consent: bool = True, erased: bool = False) -> uuid.UUID:
    user = User(
        email=f"retention-{uuid.uuid4().hex[:12]}@example.com",
        password_hash="not-used",
        consent_emotion_processing=consent,
        erased_at=NOW if erased else None,
    )
    with Session(engine) as session:
        session.add(user)
        session.commit()
        return user.id


def _events(engine: Engine, user_id: uuid.UUID, *stamps: datetime) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in stamps]
    with Session(engine) as session:
        for event_id, stamp in zip(ids, stamps, strict=True):
            session.add(
                EmotionEvent(
                    event_id=event_id,
                    user_id=user_id,
                    occurred_at=stamp,
                    kind="reading",
                    positivity=0.5,
                    intensity=0.5,
                    stress=0.5,
                )
            )
        session.commit()
    return ids


def _days(engine: Engine, user_id: uuid.UUID, *days: date) -> None:
    with Session(engine) as session:
        for day in days:
            session.add(EmotionDaily(user_id=user_id, day=day, readings=1, stress_sum=0.5))
        session.commit()


def _remaining(engine: Engine, user_id: uuid.UUID) -> tuple[set[uuid.UUID], set[date]]:
    with Session(engine) as session:
        events = session.exec(
            select(EmotionEvent.event_id).where(col(EmotionEvent.user_id) == user_id)
        ).all()
        days = session.exec(
            select(col(EmotionDaily.day)).where(col(EmotionDaily.user_id) == user_id)
        ).all()
        return set(events), set(days)


def test_retention_deletes_exactly_the_rows_past_the_cutoffs(
    engine: Engine, base_settings: Settings
) -> None:
    readings_cutoff, daily_cutoff = cutoffs(base_settings, NOW)
    assert readings_cutoff == NOW - timedelta(days=90)
    assert daily_cutoff == (NOW - timedelta(days=730)).date()

    user = _user(engine)
    old = _events(
        engine,
        user,
        readings_cutoff - timedelta(seconds=1),
        *(readings_cutoff - timedelta(days=100 + i) for i in range(5)),
    )
    kept = _events(
        engine,
        user,
        readings_cutoff,  # exactly at the cut-off: not older, kept
        readings_cutoff + timedelta(seconds=1),
        NOW - timedelta(days=1),
    )
    _days(
        engine,
        user,
        daily_cutoff - timedelta(days=1),
        daily_cutoff - timedelta(days=40),
        daily_cutoff,
        NOW.date() - timedelta(days=1),
    )
    # Rows of users without a legal basis go whatever their age.
    withdrawn, erased = _user(engine, consent=False), _user(engine, erased=True)
    for other in (withdrawn, erased):
        _events(engine, other, NOW - timedelta(hours=1), NOW - timedelta(days=1))
        _days(engine, other, NOW.date())

    # Batches of 2: several statements per table, so the batching loop itself is exercised.
    report = apply_retention(engine, base_settings, NOW, batch_size=2)

    events, days = _remaining(engine, user)
    assert events == set(kept) and not events & set(old)
    assert days == {daily_cutoff, NOW.date() - timedelta(days=1)}
    assert _remaining(engine, withdrawn) == (set(), set())
    assert _remaining(engine, erased) == (set(), set())
    assert report.readings_cutoff == readings_cutoff and report.daily_cutoff == daily_cutoff
    assert report.readings_deleted >= len(old) and report.daily_deleted >= 2
    assert report.unconsented_readings_deleted >= 4 and report.unconsented_daily_deleted >= 2

    again = apply_retention(engine, base_settings, NOW, batch_size=2)
    assert (again.readings_deleted, again.daily_deleted) == (0, 0)  # idempotent
    assert _remaining(engine, user) == (set(kept), days)


def test_retention_honours_the_configured_periods(engine: Engine, base_settings: Settings) -> None:
    short = base_settings.model_copy(
        update={"emotion_retention_days": 1, "emotion_daily_retention_days": 2}
    )
    user = _user(engine)
    (gone,) = _events(engine, user, NOW - timedelta(days=1, seconds=1))
    (stays,) = _events(engine, user, NOW - timedelta(hours=23))
    _days(engine, user, NOW.date() - timedelta(days=3), NOW.date() - timedelta(days=2))

    apply_retention(engine, short, NOW)

    events, days = _remaining(engine, user)
    assert gone not in events and events == {stays}
    assert days == {NOW.date() - timedelta(days=2)}


def test_ecs_retention_command(engine: Engine, base_settings: Settings) -> None:
    """The operator's entry point (cron / CronJob), with periods of a century so that, at the
    real clock, only the rows dated a century ago by this test are old enough."""
    now = datetime.now(UTC)
    user = _user(engine)
    (ancient,) = _events(engine, user, now - timedelta(days=36_500 + 2))
    (recent,) = _events(engine, user, now - timedelta(days=1))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECS_")}
    env |= {
        "ECS_DATABASE_URL": base_settings.effective_database_url,
        "ECS_EMOTION_RETENTION_DAYS": "36500",
        "ECS_EMOTION_DAILY_RETENTION_DAYS": "36500",
    }
    result = subprocess.run(
        [sys.executable, "-m", "ecs", "retention", "--batch-size", "100"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "retention: deleted" in result.stdout and "raw emotion readings" in result.stdout
    assert '"msg":"retention applied"' in result.stdout
    events, _days_left = _remaining(engine, user)
    assert ancient not in events and recent in events
