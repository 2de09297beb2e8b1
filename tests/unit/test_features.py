"""Feature extraction against small, hand-computed histories."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from ecs.domain.features import (
    EmotionDay,
    EmotionSnapshot,
    Features,
    TransactionRecord,
    UserHistory,
    compute_features,
)

AS_OF = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def tx(amount: str, direction: str, days_ago: float) -> TransactionRecord:
    return TransactionRecord.model_validate(
        {
            "amount": amount,
            "direction": direction,
            "occurred_at": AS_OF - timedelta(days=days_ago),
        }
    )


def day(
    days_ago: int, readings: int, stress: float, pos: float = 0.0, distress: int = 0
) -> EmotionDay:
    return EmotionDay(
        day=AS_OF.date() - timedelta(days=days_ago),
        readings=readings,
        positivity_sum=pos,
        intensity_sum=0.0,
        stress_sum=stress,
        distress_count=distress,
    )


def history(**kw: object) -> UserHistory:
    base: dict[str, object] = {
        "user_id": "u1",
        "as_of": AS_OF,
        "account_created_at": AS_OF - timedelta(days=100),
        "transactions": [],
        "credit_exposure": Decimal("0"),
        "emotion_days": [],
        "latest_emotion": None,
    }
    base.update(kw)
    return UserHistory.model_validate(base)


def test_empty_history_gives_zeros_and_nones() -> None:
    f = compute_features(history())
    assert f.inflow_30d == f.outflow_30d == f.net_cash_flow_30d == 0.0
    assert f.inflow_90d == f.outflow_90d == f.net_cash_flow_90d == 0.0
    assert f.tx_count_30d == f.tx_count_90d == 0
    assert f.avg_ticket_30d == f.avg_ticket_90d == 0.0
    assert f.monthly_net_volatility_90d == 0.0
    assert f.account_age_days == 100
    assert f.credit_exposure == 0.0
    assert f.emotion_readings_7d == 0
    assert f.avg_positivity_7d is None
    assert f.stress_events_30d == 0
    assert f.stress_trend == 0.0
    assert f.latest_stress is None and f.latest_positivity is None and f.latest_intensity is None


def test_hand_computed_cash_flows() -> None:
    h = history(
        transactions=[
            tx("1000.00", "in", 1),
            tx("200.00", "out", 2),
            tx("300.00", "out", 10),
            tx("900.00", "in", 45),  # bucket 1 (30..60 days)
            tx("600.00", "out", 50),
            tx("500.00", "in", 70),  # bucket 2 (60..90 days)
        ],
        credit_exposure=Decimal("250.50"),
    )
    f = compute_features(h)
    assert f.inflow_30d == 1000.0
    assert f.outflow_30d == 500.0
    assert f.net_cash_flow_30d == 500.0
    assert f.tx_count_30d == 3
    assert f.avg_ticket_30d == pytest.approx(1500.0 / 3)
    assert f.inflow_90d == 2400.0
    assert f.outflow_90d == 1100.0
    assert f.net_cash_flow_90d == 1300.0
    assert f.tx_count_90d == 6
    assert f.avg_ticket_90d == pytest.approx(3500.0 / 6)
    # Monthly nets 500, 300, 500 -> population standard deviation around their mean.
    m = 1300.0 / 3
    expected = math.sqrt(((500 - m) ** 2 + (300 - m) ** 2 + (500 - m) ** 2) / 3)
    assert f.monthly_net_volatility_90d == pytest.approx(expected)
    assert expected == pytest.approx(94.2809, abs=1e-4)
    assert f.credit_exposure == 250.5


def test_window_boundaries_are_open_at_the_old_end_and_closed_at_as_of() -> None:
    h = history(
        transactions=[
            tx("1", "in", 0),  # exactly as_of: inside both windows
            tx("10", "in", 30),  # exactly 30 days old: outside 30d, inside 90d (bucket 1)
            tx("100", "in", 29.999),  # just inside 30d
            tx("1000", "in", 90),  # exactly 90 days old: outside
            tx("10000", "in", 89.999),  # just inside 90d
            tx("100000", "in", -0.001),  # after as_of: ignored everywhere
        ]
    )
    f = compute_features(h)
    assert f.inflow_30d == 101.0
    assert f.tx_count_30d == 2
    assert f.inflow_90d == 10111.0
    assert f.tx_count_90d == 4


def test_volatility_uses_three_30_day_buckets() -> None:
    h = history(transactions=[tx("300", "in", 5), tx("300", "out", 35), tx("0.01", "in", 95)])
    f = compute_features(h)
    # nets: 300, -300, 0 -> pstdev = sqrt((300^2 + 300^2 + 0)/3)
    assert f.monthly_net_volatility_90d == pytest.approx(math.sqrt(60000.0))


def test_naive_datetimes_are_treated_as_utc() -> None:
    naive = datetime(2026, 11, 24, 12, 0)
    h = history(
        as_of=naive,
        account_created_at=naive - timedelta(days=10),
        transactions=[{"amount": "5", "direction": "in", "occurred_at": naive - timedelta(days=1)}],
    )
    f = compute_features(h)
    assert f.inflow_30d == 5.0
    assert h.as_of.tzinfo is not None


def test_account_age_never_negative() -> None:
    f = compute_features(history(account_created_at=AS_OF + timedelta(days=3)))
    assert f.account_age_days == 0


def test_emotion_windows_trend_and_distress() -> None:
    h = history(
        emotion_days=[
            day(0, readings=2, stress=1.6, pos=0.4, distress=1),  # recent: avg stress 0.8
            day(6, readings=2, stress=1.4, pos=1.0),  # recent (oldest day of the 7)
            day(7, readings=4, stress=1.2, distress=2),  # prior window starts here
            day(29, readings=1, stress=0.0, distress=1),  # last day of the 30d window
            day(30, readings=5, stress=5.0, distress=7),  # outside 30d
            day(-1, readings=9, stress=9.0, distress=9),  # future: ignored
        ]
    )
    f = compute_features(h)
    assert f.emotion_readings_7d == 4
    assert f.avg_positivity_7d == pytest.approx(1.4 / 4)
    assert f.stress_events_30d == 4
    # recent avg stress = 3.0/4 = 0.75 ; prior = 1.2/5 = 0.24
    assert f.stress_trend == pytest.approx(0.75 - 0.24)


def test_trend_is_zero_without_both_windows() -> None:
    only_recent = compute_features(history(emotion_days=[day(1, 3, 2.7)]))
    assert only_recent.stress_trend == 0.0
    assert only_recent.avg_positivity_7d == 0.0
    only_prior = compute_features(history(emotion_days=[day(10, 3, 2.7)]))
    assert only_prior.stress_trend == 0.0
    assert only_prior.emotion_readings_7d == 0
    assert only_prior.avg_positivity_7d is None


def test_latest_emotion_copied_and_future_reading_ignored() -> None:
    snap = EmotionSnapshot(
        event_id="e1",
        occurred_at=AS_OF - timedelta(minutes=5),
        kind="reading",
        positivity=0.2,
        intensity=0.7,
        stress=0.9,
    )
    f = compute_features(history(latest_emotion=snap))
    assert (f.latest_stress, f.latest_positivity, f.latest_intensity) == (0.9, 0.2, 0.7)
    future = snap.model_copy(update={"occurred_at": AS_OF + timedelta(seconds=1)})
    assert compute_features(history(latest_emotion=future)).latest_stress is None


def test_validation_rejects_bad_inputs() -> None:
    with pytest.raises(ValidationError):
        tx("0", "in", 1)
    with pytest.raises(ValidationError):
        tx("5", "sideways", 1)
    with pytest.raises(ValidationError):
        EmotionSnapshot(
            event_id="e", occurred_at=AS_OF, kind="k", positivity=1.2, intensity=0, stress=0
        )


def test_features_round_trip_json_and_are_frozen() -> None:
    f = compute_features(history(transactions=[tx("12.34", "in", 3)]))
    assert Features.model_validate_json(f.model_dump_json()) == f
    with pytest.raises(ValidationError):
        f.inflow_30d = 1.0  # type: ignore[misc]


def test_deterministic() -> None:
    h = history(transactions=[tx("10", "in", 3), tx("4", "out", 40)], emotion_days=[day(1, 1, 0.3)])
    assert compute_features(h) == compute_features(h)
