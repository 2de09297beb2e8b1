"""An asyncio circuit breaker for the remote risk model.

When the model is down, waiting for every call to time out would stall each credit decision for
the full timeout and pile load onto a struggling service. The breaker fails fast with
``ModelUnavailable`` instead (the decision is then referred to manual review) and lets a single
trial call through after ``reset_timeout`` to find out whether the model is back.

The reset is deliberately short (``RESET_SECONDS``): the workflow retries the model for about
7 s (1 s, 2 s, 4 s apart; ``workflows/options.py``), and a breaker that stays open longer than
that referred every decision in the half-minute after a one-second blip without calling the
model. Opening still saves the failing calls in between; the half-open probe after 2 s lets the
first retry that follows it find a recovered model. ``tests/unit/test_breaker.py`` replays a
blip against the workflow's real retry schedule to pin this.

The clock is injectable so tests can move time without sleeping. State changes happen only in
synchronous code between awaits, so no lock is needed on a single event loop.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import TypeVar

from ecs.risk.model import ModelUnavailable

T = TypeVar("T")

RESET_SECONDS = 2.0
"""Open → half-open after this long: shorter than the gaps of the workflow's model retries."""


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpen(ModelUnavailable):
    """Raised without calling the model because the breaker is open (or its trial is busy)."""


class CircuitBreaker:
    """Opens after ``failure_threshold`` consecutive failures; half-opens after ``reset_timeout``
    seconds, when exactly one trial call is allowed: success closes, failure re-opens."""

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout: float = RESET_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
        name: str = "risk-model",
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        if reset_timeout < 0:
            raise ValueError("reset_timeout must be >= 0")
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.name = name
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        """Current state, moving OPEN -> HALF_OPEN lazily once the reset timeout has passed."""
        if (
            self._state is BreakerState.OPEN
            and self._clock() - self._opened_at >= self.reset_timeout
        ):
            self._state = BreakerState.HALF_OPEN
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()

    def _on_success(self) -> None:
        self._state = BreakerState.CLOSED
        self._failures = 0

    def _on_failure(self) -> None:
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
            self._open()

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn`` under the breaker. Any ``Exception`` from ``fn`` counts as a failure and is
        re-raised unchanged; cancellation is not a failure (the caller gave up, not the model)."""
        state = self.state
        if state is BreakerState.OPEN:
            raise CircuitOpen(f"circuit {self.name!r} is open")
        trial = state is BreakerState.HALF_OPEN
        if trial:
            if self._trial_in_flight:
                raise CircuitOpen(f"circuit {self.name!r} is half-open; trial in progress")
            self._trial_in_flight = True
        try:
            result = await fn()
        except Exception:
            self._on_failure()
            raise
        else:
            self._on_success()
            return result
        finally:
            if trial:
                self._trial_in_flight = False
