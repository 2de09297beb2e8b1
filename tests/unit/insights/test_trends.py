"""Emotion trend formulas: weighted averages, the week boundaries, the takeaways' sentences and
the suppression of small groups in the published report."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ecs.insights.trends import (
    DayAggregate,
    avg_stress,
    emotion_report,
    emotion_takeaways,
    first_day,
    recent_start,
)

LAST = date(2026, 3, 15)  # a Sunday


def day(d: date, stress_sum: float, readings: int = 10, users: int = 10) -> DayAggregate:
    return DayAggregate(d, users, readings, 0.5 * readings, 0.25 * readings, stress_sum, 0)


def ago(days: int) -> date:
    return LAST - timedelta(days=days)


def test_averages_are_weighted_by_readings_not_averages_of_averages() -> None:
    days = [day(ago(0), 2.0, readings=10), day(ago(1), 15.0, readings=30)]  # 0.2 and 0.5
    assert avg_stress(days) == pytest.approx(17 / 40)  # 0.425, not (0.2 + 0.5) / 2
    assert avg_stress([]) is None


def test_a_day_point_rounds_to_four_decimals_and_survives_zero_readings() -> None:
    point = DayAggregate(LAST, 5, 3, 1.0, 2.0, 0.5, 1).point()
    assert (point.avg_positivity, point.avg_intensity, point.avg_stress) == (0.3333, 0.6667, 0.1667)
    assert (point.users, point.readings, point.distress_readings) == (5, 3, 1)
    empty = DayAggregate(LAST, 5, 0, 0.0, 0.0, 0.0, 0).point()
    assert empty.avg_stress == 0.0


def test_window_days_are_inclusive_of_today() -> None:
    assert first_day(LAST, 1) == LAST
    assert first_day(LAST, 30) == date(2026, 2, 14)
    assert recent_start(LAST) == ago(6)


def test_the_last_week_is_seven_days_ending_today_and_the_week_before_is_the_comparison() -> None:
    days = [
        day(ago(6), 5.0),  # first day of the last week
        day(ago(7), 1.0),  # last day of the week before
        day(ago(13), 3.0),  # first day of the week before
        day(ago(14), 9.0),  # older than both: ignored by the week-over-week figures
    ]
    t = emotion_takeaways(days, LAST, None, None)
    assert t.avg_stress_last_7d == 0.5
    assert t.avg_stress_prev_7d == 0.2
    assert t.stress_change_wow == 1.5  # (0.5 - 0.2) / 0.2
    assert t.summary[0] == "Average stress rose 150% week over week (0.20 → 0.50)."


@pytest.mark.parametrize(
    ("last", "prev", "word"), [(1.0, 2.0, "fell 50%"), (2.0, 2.0, "held steady 0%")]
)
def test_the_direction_of_the_change(last: float, prev: float, word: str) -> None:
    t = emotion_takeaways([day(ago(0), last), day(ago(7), prev)], LAST, None, None)
    assert t.summary[0].startswith(f"Average stress {word} week over week")


def test_without_a_previous_week_there_is_no_change_only_the_level() -> None:
    t = emotion_takeaways([day(ago(0), 3.0)], LAST, None, None)
    assert t.stress_change_wow is None and t.avg_stress_prev_7d is None
    assert t.summary == ["Average stress over the last 7 days was 0.30."]
    # a calm previous week (average 0) gives no relative change either, rather than infinity
    t = emotion_takeaways([day(ago(0), 3.0), day(ago(7), 0.0)], LAST, None, None)
    assert t.avg_stress_prev_7d == 0.0 and t.stress_change_wow is None


def test_the_weekday_sentence_needs_two_weekdays_and_ties_go_to_the_earlier_one() -> None:
    one = emotion_takeaways([day(ago(0), 3.0), day(ago(7), 3.0)], LAST, None, None)  # Sundays
    assert one.most_stressful_weekday == "Sunday"
    assert not any("highest" in s for s in one.summary)
    tie = emotion_takeaways([day(ago(0), 4.0), day(ago(6), 4.0)], LAST, None, None)
    assert tie.most_stressful_weekday == "Monday"  # Monday 03-09 and Sunday 03-15 tie at 0.4
    assert tie.summary[-1] == "Stress is highest on Mondays (average 0.40)."


def test_the_distress_share_is_over_distinct_active_users() -> None:
    t = emotion_takeaways([], LAST, active_users_7d=8, distressed_users_7d=3)
    assert t.distress_user_share_7d == 0.375
    assert t.summary == [
        "38% of 8 active users had at least one distress reading in the last 7 days."
    ]


def test_the_report_suppresses_small_days_and_small_weeks() -> None:
    days = [
        day(ago(2), 2.0, users=5),
        day(ago(1), 10.0, users=4),  # four users: suppressed, and kept out of the takeaways
        day(ago(0), 4.0, users=6),
    ]
    report = emotion_report(
        days, window_days=30, last_day=LAST, active_users_7d=4, distressed_users_7d=1
    )
    assert [p.day for p in report.days] == [ago(2), ago(0)]
    assert report.suppressed_days == 1 and report.k_anonymity == 5
    assert (report.first_day, report.last_day, report.window_days) == (date(2026, 2, 14), LAST, 30)
    assert report.takeaways.avg_stress_last_7d == 0.3  # (2 + 4) / 20, the 4-user day left out
    # four active users in the week: both counts are withheld together
    assert report.takeaways.active_users_7d is None
    assert report.takeaways.distress_user_share_7d is None

    shown = emotion_report(
        days, window_days=30, last_day=LAST, active_users_7d=5, distressed_users_7d=1
    )
    assert shown.takeaways.active_users_7d == 5 and shown.takeaways.distress_user_share_7d == 0.2


def test_a_report_with_nothing_published_says_so() -> None:
    report = emotion_report(
        [day(LAST, 1.0, users=1)],
        window_days=7,
        last_day=LAST,
        active_users_7d=1,
        distressed_users_7d=0,
    )
    assert report.days == [] and report.suppressed_days == 1
    assert report.takeaways.summary[0].startswith("Not enough data yet")
