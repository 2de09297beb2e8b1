"""Attempt counters in Redis: fixed windows shared by every API instance.

Login and registration are throttled per account and per client address (``api.throttling``
says which limits apply where). The counters live in Redis, not in the process, so ten API
instances behind a load balancer allow what one would: a password guesser gains nothing by
spreading attempts over instances.

Each limit counts attempts in fixed windows of ``window_seconds``: the key names the window
(``{<prefix>}:<limit>:<window number>:<subject digest>``), one ``INCR`` and one ``EXPIRE`` in a
MULTI count an attempt atomically, and the window's end is the ``Retry-After``. Windows come
from an injected wall clock (``ecs.clock``), so tests move time instead of sleeping; all
instances must share a wall clock (NTP), as they already must for token expiry. Subjects are
hashed: e-mail addresses and client addresses are personal data and do not belong in key names.

A fixed window lets a guesser spend two windows' worth of attempts around a boundary; at ten
failures per fifteen minutes that is twenty, which an argon2id hash and a 12-character minimum
password make worthless. Redis being down refuses the attempt (``Unavailable``): an outage must
not switch throttling off.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ecs import clock, errors


@dataclass(frozen=True)
class Limit:
    """At most ``attempts`` per subject in each window of ``window_seconds``."""

    name: str
    attempts: int
    window_seconds: int


@dataclass
class Attempt:
    """The counters one attempt incremented, so a success can give them back."""

    keys: list[str] = field(default_factory=list)


class Throttle:
    def __init__(
        self, redis: aioredis.Redis, *, prefix: str, wall: clock.Clock = clock.wall
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.wall = wall

    async def hit(self, checks: Sequence[tuple[Limit, str]]) -> Attempt:
        """Count one attempt for each ``(limit, subject)``; ``RateLimited`` if any is over.

        Refused attempts are counted too (they cost nothing but a Redis round trip), and the
        window does not move, so hammering a locked account never extends the lock.
        """
        now = self.wall()
        keyed = [(limit, self._key(limit, subject, now)) for limit, subject in checks]
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for limit, key in keyed:
                    pipe.incr(key)
                    pipe.expire(key, limit.window_seconds + 1)
                replies = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise errors.Unavailable(
                "Sign-in is briefly unavailable; retry shortly.", retry_after=5
            ) from exc
        counts = replies[::2]
        over = [limit for (limit, _), n in zip(keyed, counts, strict=True) if n > limit.attempts]
        if over:
            retry_after = max(_until_window_ends(limit, now) for limit in over)
            raise errors.RateLimited(
                f"Too many attempts; retry in {retry_after} s.",
                retry_after=retry_after,
                limit=over[0].name,
            )
        return Attempt([key for _, key in keyed])

    async def give_back(self, attempt: Attempt) -> None:
        """Uncount an attempt that succeeded (best effort: a lost DECR only tightens the limit)."""
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for key in attempt.keys:
                    pipe.decr(key)
                await pipe.execute()
        except (RedisError, OSError):
            pass

    def _key(self, limit: Limit, subject: str, now: float) -> str:
        window = int(now // limit.window_seconds)
        digest = hashlib.sha256(subject.encode("utf-8", "surrogateescape")).hexdigest()[:32]
        # The prefix is a hash tag: on a Redis Cluster every counter shares one slot, so one
        # attempt's MULTI over several counters stays legal (throttle traffic is small).
        return f"{{{self.prefix}}}:{limit.name}:{window}:{digest}"


def _until_window_ends(limit: Limit, now: float) -> int:
    end = (int(now // limit.window_seconds) + 1) * limit.window_seconds
    return max(1, math.ceil(end - now))
