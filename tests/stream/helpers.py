"""Builders shared by the stream tests: users in the database, readings, isolated streams."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select

from ecs.db.tables import EmotionDaily, EmotionEvent, User
from ecs.settings import Settings
from ecs.stream.messages import StreamReading

EVENTS = EmotionEvent.__table__  # type: ignore[attr-defined]
DAILY = EmotionDaily.__table__  # type: ignore[attr-defined]
USERS = User.__table__  # type: ignore[attr-defined]


def isolated(settings: Settings, **overrides: Any) -> Settings:
    """A private stream and group per test, so tests never see each other's entries."""
    suffix = uuid.uuid4().hex[:10]
    values: dict[str, Any] = {
        "stream_name": f"emotions-t-{suffix}",
        "stream_group": f"group-t-{suffix}",
    }
    values.update(overrides)
    return settings.model_copy(update=values)


def make_users(engine: Engine, n: int, *, consent: bool = True) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(n)]
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(USERS),
            [
                {
                    "id": uid,
                    "email": f"{uid.hex}@stream.test",
                    "password_hash": "x",
                    "role": "customer",
                    "consent_emotion_processing": consent,
                    "consent_updated_at": now,
                    "created_at": now,
                }
                for uid in ids
            ],
        )
    return ids


def reading(
    user_id: uuid.UUID,
    *,
    stress: float | None = None,
    intensity: float | None = None,
    positivity: float | None = None,
    occurred_at: datetime | None = None,
    rng: random.Random | None = None,
) -> StreamReading:
    rng = rng or random.Random()
    now = datetime.now(UTC)
    return StreamReading(
        event_id=uuid.uuid4(),
        user_id=user_id,
        occurred_at=occurred_at or now - timedelta(seconds=rng.randint(0, 3 * 86400)),
        kind="reading",
        positivity=round(rng.random(), 4) if positivity is None else positivity,
        intensity=round(rng.random(), 4) if intensity is None else intensity,
        stress=round(rng.random(), 4) if stress is None else stress,
        context={"screen": "home"},
        received_at=now,
    )


def reference_daily(
    readings: list[StreamReading], distress_stress: float = 0.8, distress_intensity: float = 0.6
) -> dict[tuple[uuid.UUID, date], tuple[int, float, float, float, int]]:
    """Independent of the production code: plain loops over the raw readings."""
    unique = {r.event_id: r for r in readings}.values()
    acc: dict[tuple[uuid.UUID, date], list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0, 0])
    for r in unique:
        a = acc[(r.user_id, r.occurred_at.astimezone(UTC).date())]
        a[0] += 1
        a[1] += r.positivity
        a[2] += r.intensity
        a[3] += r.stress
        a[4] += int(r.stress >= distress_stress and r.intensity >= distress_intensity)
    return {k: (int(v[0]), v[1], v[2], v[3], int(v[4])) for k, v in acc.items()}


def stored_daily(
    engine: Engine, user_ids: list[uuid.UUID]
) -> dict[tuple[uuid.UUID, date], tuple[int, float, float, float, int]]:
    query = select(
        DAILY.c.user_id,
        DAILY.c.day,
        DAILY.c.readings,
        DAILY.c.positivity_sum,
        DAILY.c.intensity_sum,
        DAILY.c.stress_sum,
        DAILY.c.distress_count,
    ).where(DAILY.c.user_id.in_(user_ids))
    with engine.connect() as conn:
        return {(r[0], r[1]): (r[2], r[3], r[4], r[5], r[6]) for r in conn.execute(query)}


def count_events(engine: Engine, user_ids: list[uuid.UUID]) -> int:
    query = select(func.count()).select_from(EVENTS).where(EVENTS.c.user_id.in_(user_ids))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def stored_event_ids(engine: Engine, user_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    query = select(EVENTS.c.event_id).where(EVENTS.c.user_id.in_(user_ids))
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def assert_daily_matches(
    engine: Engine, user_ids: list[uuid.UUID], readings: list[StreamReading]
) -> None:
    expected = reference_daily(readings)
    actual = stored_daily(engine, user_ids)
    assert set(actual) == set(expected)
    for key, (n, p, i, s, d) in expected.items():
        got = actual[key]
        assert got[0] == n and got[4] == d, (key, got, expected[key])
        for a, b in zip(got[1:4], (p, i, s), strict=True):
            assert abs(a - b) < 1e-6, (key, got, expected[key])
