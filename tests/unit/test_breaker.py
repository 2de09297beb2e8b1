"""Circuit breaker state machine, driven by a fake monotonic clock."""

from __future__ import annotations

import asyncio
import contextlib
import itertools

import pytest

from ecs.risk.breaker import RESET_SECONDS, BreakerState, CircuitBreaker, CircuitOpen
from ecs.risk.model import ModelUnavailable
from workflows.options import MODEL_RETRY, retry_delays


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Boom(Exception):
    pass


class Backend:
    """Counts calls so tests can tell "rejected by the breaker" from "called and failed"."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail = True

    async def __call__(self) -> str:
        self.calls += 1
        if self.fail:
            raise Boom("down")
        return "ok"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, reset_timeout=10.0, clock=clock)


def state(breaker: CircuitBreaker) -> BreakerState:
    """Read through a function so mypy does not narrow the property across clock moves."""
    return breaker.state


async def trip(breaker: CircuitBreaker, backend: Backend) -> None:
    for _ in range(breaker.failure_threshold):
        with pytest.raises(Boom):
            await breaker.call(backend)


async def test_opens_after_n_consecutive_failures(breaker: CircuitBreaker) -> None:
    backend = Backend()
    for i in range(2):
        with pytest.raises(Boom):
            await breaker.call(backend)
        assert state(breaker) is BreakerState.CLOSED
        assert breaker.consecutive_failures == i + 1
    with pytest.raises(Boom):
        await breaker.call(backend)
    assert state(breaker) is BreakerState.OPEN
    with pytest.raises(CircuitOpen):
        await breaker.call(backend)
    assert backend.calls == 3, "an open breaker must not call the backend"


async def test_open_error_is_model_unavailable(breaker: CircuitBreaker) -> None:
    await trip(breaker, Backend())
    with pytest.raises(ModelUnavailable):
        await breaker.call(Backend())


async def test_success_resets_the_failure_count(breaker: CircuitBreaker) -> None:
    backend = Backend()
    for _ in range(2):
        with pytest.raises(Boom):
            await breaker.call(backend)
    backend.fail = False
    assert await breaker.call(backend) == "ok"
    assert breaker.consecutive_failures == 0
    backend.fail = True
    for _ in range(2):
        with pytest.raises(Boom):
            await breaker.call(backend)
    assert state(breaker) is BreakerState.CLOSED


async def test_half_open_after_timeout_then_close_on_success(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    backend = Backend()
    await trip(breaker, backend)
    clock.now += 9.999
    assert state(breaker) is BreakerState.OPEN
    clock.now += 0.001
    assert state(breaker) is BreakerState.HALF_OPEN
    backend.fail = False
    assert await breaker.call(backend) == "ok"
    assert state(breaker) is BreakerState.CLOSED
    assert breaker.consecutive_failures == 0


async def test_failed_trial_reopens_for_a_full_timeout(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    backend = Backend()
    await trip(breaker, backend)
    clock.now += 10.0
    with pytest.raises(Boom):
        await breaker.call(backend)
    assert state(breaker) is BreakerState.OPEN
    assert backend.calls == 4
    clock.now += 5.0
    with pytest.raises(CircuitOpen):
        await breaker.call(backend)
    clock.now += 5.0
    assert state(breaker) is BreakerState.HALF_OPEN


async def test_only_one_trial_call_while_half_open(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    await trip(breaker, Backend())
    clock.now += 10.0
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow() -> str:
        started.set()
        await release.wait()
        return "ok"

    trial = asyncio.create_task(breaker.call(slow))
    await asyncio.wait_for(started.wait(), 1)
    with pytest.raises(CircuitOpen):  # wait_for: a broken breaker must fail, not hang
        await asyncio.wait_for(breaker.call(slow), 1)
    release.set()
    assert await asyncio.wait_for(trial, 1) == "ok"
    assert state(breaker) is BreakerState.CLOSED


async def test_cancelled_trial_frees_the_slot_and_is_not_a_failure(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    await trip(breaker, Backend())
    clock.now += 10.0
    started = asyncio.Event()

    async def hang() -> str:
        started.set()
        await asyncio.Event().wait()
        return "never"

    task = asyncio.create_task(breaker.call(hang))
    await asyncio.wait_for(started.wait(), 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert state(breaker) is BreakerState.HALF_OPEN
    ok = Backend()
    ok.fail = False
    assert await breaker.call(ok) == "ok"


def test_rejects_bad_configuration() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=0)
    with pytest.raises(ValueError):
        CircuitBreaker(reset_timeout=-1)


async def test_a_blip_shorter_than_the_retry_budget_refers_nobody(clock: FakeClock) -> None:
    """Issue 9.5: a 1 s model outage, decisions arriving every 100 ms for 30 s, each retrying on
    the workflow's own schedule, against the breaker the model client builds by default. With
    the old 30 s reset every decision in the ~23 s after the blip was referred unscored."""
    breaker, backend = CircuitBreaker(clock=clock), Backend()
    assert breaker.reset_timeout == RESET_SECONDS
    offsets = list(itertools.accumulate(retry_delays(MODEL_RETRY), initial=0.0))
    assert offsets == [0.0, 1.0, 3.0, 7.0]  # the ~7 s budget the reset must fit inside
    start, blip_ends = clock.now, clock.now + 1.0
    attempts = sorted(
        (start + arrival / 10 + offset, arrival) for arrival in range(300) for offset in offsets
    )
    scored: set[int] = set()
    for at, decision in attempts:
        if decision in scored:
            continue
        clock.now = at
        backend.fail = at < blip_ends
        with contextlib.suppress(Boom, CircuitOpen):
            await breaker.call(backend)
            scored.add(decision)
    assert scored == set(range(300)), f"referred: {sorted(set(range(300)) - scored)}"
    assert breaker.state is BreakerState.CLOSED
    assert backend.calls < len(attempts)  # while open, attempts did not reach the model
