"""Outcomes per UTC day, the series behind the dashboard's outcomes-over-time chart."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from ecs.insights.credit import outcomes_by_day


def test_outcomes_are_counted_per_utc_day_oldest_first() -> None:
    late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    records = [
        (late, "APPROVED"),
        (late - timedelta(days=1), "DENIED"),
        (late, "REFERRED"),
        (late, "APPROVED"),
        # 01:30 on 3 March in UTC, although 22:30 on 2 March in São Paulo
        (datetime(2026, 3, 2, 22, 30, tzinfo=timezone(timedelta(hours=-3))), "DENIED"),
    ]
    days = outcomes_by_day((when.astimezone(UTC), outcome) for when, outcome in records)
    assert [(d.day, d.by_outcome) for d in days] == [
        (date(2026, 3, 1), {"DENIED": 1}),
        (date(2026, 3, 2), {"APPROVED": 2, "REFERRED": 1}),
        (date(2026, 3, 3), {"DENIED": 1}),
    ]


def test_no_records_no_days() -> None:
    assert outcomes_by_day([]) == []
