"""Login and registration throttling over real HTTP, across two API instances sharing Redis.

Time is a clock the test moves (``AuthGuard.create(..., wall=clock)``), so "the window ended"
takes no waiting.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest
import redis.asyncio as aioredis

from api.main import create_app
from api.throttling import AuthGuard
from ecs import errors
from ecs.settings import Settings
from ecs.throttle import Limit, Throttle
from tests.api.conftest import PASSWORD, assert_problem, serve_app, unique_email

WINDOW = 900


class MovableClock:
    def __init__(self) -> None:
        self.now = WINDOW * 2_000_000 + 1.0  # just after a window starts

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


def _instances(
    settings: Settings, clock: MovableClock, count: int = 2, **limits: int
) -> Iterator[list[str]]:
    """``count`` API servers sharing one Redis and one set of (small) limits."""
    throttled = settings.model_copy(
        update={
            "throttle_key_prefix": f"throttle-{uuid.uuid4().hex[:8]}",
            "throttle_window_seconds": WINDOW,
            **limits,
        }
    )
    with ExitStack() as stack:
        urls = []
        for _ in range(count):
            app = create_app(throttled)
            urls.append(stack.enter_context(serve_app(app)))
            app.state.auth_guard = AuthGuard.create(app.state.resources, wall=clock)
        yield urls


def _register(url: str, email: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/auth/register", json={"email": email, "password": PASSWORD})


def _login(url: str, email: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(f"{url}/v1/auth/token", data={"username": email, "password": password})


def test_forty_wrong_passwords_lock_the_account_until_the_window_ends(
    settings: Settings, clock: MovableClock
) -> None:
    for urls in _instances(settings, clock, login_failures_per_account=10):
        email, bystander = unique_email(), unique_email()
        assert _register(urls[0], email).status_code == 201
        assert _register(urls[0], bystander).status_code == 201
        # Alternating instances gains the guesser nothing: the counters are in Redis.
        answers = [_login(urls[i % 2], email, f"wrong password {i}") for i in range(40)]
        assert [a.status_code for a in answers] == [401] * 10 + [429] * 30
        locked = _login(urls[1], email)  # the right password, too late
        body = assert_problem(locked, 429)
        assert str(body["type"]).endswith("/too-many-requests")
        assert locked.headers["retry-after"] == str(WINDOW - 1)
        # Another account from the same address is not locked out.
        assert _login(urls[0], bystander).status_code == 200

        clock.now += 60
        assert _login(urls[0], email).headers["retry-after"] == str(WINDOW - 61)
        clock.now += WINDOW
        assert _login(urls[0], email).status_code == 200


def test_successful_logins_do_not_count(settings: Settings, clock: MovableClock) -> None:
    for (url,) in _instances(settings, clock, count=1, login_failures_per_account=3):
        email = unique_email()
        assert _register(url, email).status_code == 201
        for _ in range(6):
            assert _login(url, email).status_code == 200
        assert [_login(url, email, "wrong password!").status_code for _ in range(4)] == [
            401, 401, 401, 429,
        ]  # fmt: skip


def test_failures_are_also_limited_per_client_address(
    settings: Settings, clock: MovableClock
) -> None:
    for (url,) in _instances(settings, clock, count=1, login_failures_per_address=5):
        email = unique_email()
        assert _register(url, email).status_code == 201
        # Five different (unknown) accounts from one address: the address is now locked...
        assert [_login(url, unique_email()).status_code for _ in range(5)] == [401] * 5
        # ...for everyone behind it, for this window.
        assert_problem(_login(url, email), 429)
        clock.now += WINDOW
        assert _login(url, email).status_code == 200


def test_registration_is_limited_per_address_and_per_e_mail(
    settings: Settings, clock: MovableClock
) -> None:
    limits = {"registrations_per_account": 2, "registrations_per_address": 4}
    for (url,) in _instances(settings, clock, count=1, **limits):
        email = unique_email()
        assert [_register(url, email).status_code for _ in range(3)] == [201, 409, 429]
        assert _register(url, unique_email()).status_code == 201
        response = _register(url, unique_email())  # the address's fifth attempt
        assert_problem(response, 429)
        assert int(response.headers["retry-after"]) > 0
        clock.now += WINDOW
        assert _register(url, unique_email()).status_code == 201


async def test_password_hashing_is_bounded_by_its_slots() -> None:
    """However many logins arrive at once, at most ``slots`` hash; the rest wait, then 503."""
    guard = AuthGuard.__new__(AuthGuard)  # only the hashing bound, no Redis needed
    guard.hash_slots, guard.hash_wait_seconds = asyncio.Semaphore(2), 30.0
    running = peak = 0
    full, release = asyncio.Event(), asyncio.Event()

    async def login() -> None:
        nonlocal running, peak
        async with guard.hashing():
            running += 1
            peak = max(peak, running)
            if running == 2:
                full.set()
            await release.wait()
            running -= 1

    tasks = [asyncio.create_task(login()) for _ in range(8)]
    await full.wait()
    guard.hash_wait_seconds = 0.05
    with pytest.raises(errors.Unavailable):  # every slot is taken for longer than the wait
        async with guard.hashing():
            pass
    release.set()
    await asyncio.gather(*tasks)
    assert peak == 2


async def test_redis_down_refuses_the_attempt_instead_of_skipping_the_limit() -> None:
    from tests.support import free_port

    down = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    throttle = Throttle(down, prefix="throttle-down")
    with pytest.raises(errors.Unavailable):
        await throttle.hit([(Limit("login-account", 10, WINDOW), "ana@example.com")])
    await down.aclose()
