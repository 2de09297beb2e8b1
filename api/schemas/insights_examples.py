"""The OpenAPI examples of the insights reports (``api.schemas.insights``), apart from the models.

One realistic 30-day window: each report's example is built from its parts' examples, so the
parts and the whole agree. tests/api/test_openapi_examples.py validates every one of them.
"""

from __future__ import annotations

from typing import Any

DAY: dict[str, Any] = {
    "day": "2026-12-01",
    "users": 42,
    "readings": 3180,
    "avg_positivity": 0.12,
    "avg_intensity": 0.47,
    "avg_stress": 0.38,
    "distress_readings": 61,
}
TAKEAWAYS: dict[str, Any] = {
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
BAND: dict[str, Any] = {
    "band": "B",
    "decisions": 61,
    "approved": 58,
    "approval_rate": 0.9508,
    "avg_interest_rate": "0.1850",
}
BUCKET: dict[str, Any] = {"lower": "5000.00", "upper": "10000.00", "count": 37}
REASON: dict[str, Any] = {"code": "LOW_NET_CASH_FLOW", "count": 24, "share": 0.1132}
DAY_OUTCOMES: dict[str, Any] = {
    "day": "2026-12-01",
    "by_outcome": {"APPROVED": 9, "DENIED": 2, "REFERRED": 1},
}
WEEK: dict[str, Any] = {
    "week_start": "2026-11-25T14:00:00Z",
    "week_end": "2026-12-02T14:00:00Z",
    "model_version": "scorecard-1.0.1",
    "decisions": 74,
    "mean": 0.31,
    "p50": 0.29,
    "p90": 0.58,
}
PSI: dict[str, Any] = {
    "value": 0.042,
    "reading": "stable",
    "recent_since": "2026-11-25T14:00:00Z",
    "recent_count": 74,
    "reference_count": 138,
    "bin_edges": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
    "recent_shares": [0.27, 0.39, 0.2, 0.1, 0.04],
    "reference_shares": [0.3, 0.36, 0.2, 0.1, 0.04],
}
GROUP: dict[str, Any] = {
    "group": "distress",
    "decisions": 18,
    "approved": 11,
    "approval_rate": 0.6111,
    "avg_limit": "6200.00",
}
RATE_CHECK: dict[str, Any] = {
    "band": "B",
    "avg_rate_distress": "0.1850",
    "avg_rate_no_distress": "0.1850",
    "difference": "0.0000",
    "violation": False,
}
FAIRNESS: dict[str, Any] = {
    "rule": "distress = stress_events_30d > 0 or latest_stress >= 0.8 in the decision's feature "
    "snapshot; within a band the average rate must not differ between the groups",
    "groups": [
        GROUP,
        dict(
            GROUP,
            group="no_distress",
            decisions=194,
            approved=171,
            approval_rate=0.8814,
            avg_limit="9100.00",
        ),
    ],
    "rate_by_band": [RATE_CHECK],
    "violation": False,
}
