"""A reference applicant shared by the pure-domain tests: healthy finances, no emotion data."""

from __future__ import annotations

from ecs.domain.features import Features

BASE_FEATURES: dict[str, object] = {
    "inflow_30d": 3000.0,
    "outflow_30d": 2700.0,
    "net_cash_flow_30d": 300.0,
    "tx_count_30d": 10,
    "avg_ticket_30d": 190.0,
    "inflow_90d": 9000.0,
    "outflow_90d": 8100.0,
    "net_cash_flow_90d": 900.0,
    "tx_count_90d": 30,
    "avg_ticket_90d": 190.0,
    "monthly_net_volatility_90d": 300.0,
    "account_age_days": 400,
    "credit_exposure": 0.0,
    "emotion_readings_7d": 0,
    "avg_positivity_7d": None,
    "stress_events_30d": 0,
    "stress_trend": 0.0,
    "latest_stress": None,
    "latest_positivity": None,
    "latest_intensity": None,
}


def make_features(**overrides: object) -> Features:
    """A healthy, emotion-free applicant; tests override what they exercise."""
    return Features.model_validate({**BASE_FEATURES, **overrides})
