"""The accepted ``occurred_at`` range is cached for 0.1 s (``ecs.stream.messages``): it must still
follow the clock, or an API up for five minutes would refuse every fresh reading as future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from ecs.stream.messages import MAX_AGE, MAX_FUTURE, ReadingIn, _PlausibleWindow


def test_bounds_are_reused_within_the_refresh_interval_then_recomputed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tick = [100.0]
    monkeypatch.setattr("ecs.stream.messages.time.monotonic", lambda: tick[0])
    window = _PlausibleWindow()
    first = window.bounds()
    tick[0] = 100.05
    assert window.bounds() is first
    tick[0] = 100.2
    later = window.bounds()
    assert later is not first and later[1] >= first[1]


def test_bounds_are_now_minus_seven_days_to_now_plus_five_minutes() -> None:
    before = datetime.now(UTC)
    oldest, latest = _PlausibleWindow().bounds()
    after = datetime.now(UTC)
    assert before - MAX_AGE <= oldest <= after - MAX_AGE
    assert before + MAX_FUTURE <= latest <= after + MAX_FUTURE


def test_a_reading_at_the_edge_of_the_future_bound_is_judged_by_the_current_clock() -> None:
    adapter = TypeAdapter(ReadingIn)
    metrics = {"positivity": 0.5, "intensity": 0.5, "stress": 0.5}
    soon = datetime.now(UTC) + MAX_FUTURE - timedelta(seconds=5)
    adapter.validate_python({"occurred_at": soon.isoformat(), "metrics": metrics})
    too_far = datetime.now(UTC) + MAX_FUTURE + timedelta(seconds=5)
    with pytest.raises(ValidationError, match="in the future"):
        adapter.validate_python({"occurred_at": too_far.isoformat(), "metrics": metrics})
