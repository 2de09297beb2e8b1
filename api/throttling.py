"""Login and registration throttling, and a bound on concurrent password hashing.

Two FastAPI dependencies that ``api.routes.auth`` attaches to its routes:

* ``guard_login``: failed logins are counted per account (the e-mail address tried) and per
  client address; a success gives its attempt back, so only failures count. Over either limit
  the answer is 429 with ``Retry-After`` *before* the password is checked, so the right password
  does not get through a locked account either, and a locked account costs no hash.
* ``guard_registration``: every registration attempt counts, per e-mail address and per client
  address (sign-up is where an attacker makes accounts in bulk and probes for taken addresses).

Both then hold one of ``password_hash_slots`` (default: the CPU cores) while the route runs: each
argon2id hash takes 64 MiB and a core for ~50 ms, and eight concurrent logins took the API from
153 to 678 MB. Waiting longer than ``password_hash_wait_seconds`` for a slot is a 503.

The client address is the ASGI peer: behind a reverse proxy run uvicorn with
``--proxy-headers --forwarded-allow-ips`` so it is the customer's, not the proxy's.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import Request

from api.resources import Resources
from ecs import clock, errors
from ecs.settings import Settings
from ecs.throttle import Limit, Throttle


@dataclass
class AuthGuard:
    throttle: Throttle
    login_account: Limit
    login_address: Limit
    register_account: Limit
    register_address: Limit
    hash_slots: asyncio.Semaphore
    hash_wait_seconds: float

    @classmethod
    def create(cls, resources: Resources, wall: clock.Clock = clock.wall) -> AuthGuard:
        s: Settings = resources.settings
        window = s.throttle_window_seconds
        return cls(
            throttle=Throttle(resources.redis, prefix=s.throttle_key_prefix, wall=wall),
            login_account=Limit("login-account", s.login_failures_per_account, window),
            login_address=Limit("login-address", s.login_failures_per_address, window),
            register_account=Limit("register-account", s.registrations_per_account, window),
            register_address=Limit("register-address", s.registrations_per_address, window),
            hash_slots=asyncio.Semaphore(s.password_hash_slots or os.cpu_count() or 1),
            hash_wait_seconds=s.password_hash_wait_seconds,
        )

    @asynccontextmanager
    async def hashing(self) -> AsyncIterator[None]:
        try:
            await asyncio.wait_for(self.hash_slots.acquire(), self.hash_wait_seconds)
        except TimeoutError as exc:
            busy = "Too many sign-ins at once; retry shortly."
            raise errors.Unavailable(busy, retry_after=1) from exc
        try:
            yield
        finally:
            self.hash_slots.release()


def auth_guard(request: Request) -> AuthGuard:
    """One guard per app (its semaphore belongs to the app's event loop), made on first use.

    Tests install their own in ``app.state.auth_guard`` (with a clock they move).
    """
    guard: AuthGuard | None = getattr(request.app.state, "auth_guard", None)
    if guard is None:
        guard = AuthGuard.create(request.app.state.resources)
        request.app.state.auth_guard = guard
    return guard


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _account(value: object) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


async def guard_login(request: Request) -> AsyncIterator[None]:
    guard = auth_guard(request)
    form = await request.form()  # parsed once: Starlette caches it for the route's own form
    checks = [
        (guard.login_account, _account(form.get("username"))),
        (guard.login_address, _address(request)),
    ]
    attempt = await guard.throttle.hit(checks)
    async with guard.hashing():
        yield  # the route runs here; an exception (401, 422) keeps the attempt counted
    await guard.throttle.give_back(attempt)


async def guard_registration(request: Request) -> AsyncIterator[None]:
    guard = auth_guard(request)
    try:
        email = _account(json.loads(await request.body()).get("email"))
    except (ValueError, AttributeError):
        email = ""  # a malformed body still counts against the address; the route says why
    checks = [(guard.register_account, email), (guard.register_address, _address(request))]
    await guard.throttle.hit(checks)
    async with guard.hashing():
        yield
