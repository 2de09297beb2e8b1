"""The API's per-instance caches: consent, verified tokens and account usability.

Each keeps the database (or a JWT verification) off a hot path, each takes its time from an
injected ``ecs.clock.Clock`` so tests drive expiry instead of sleeping, and each can ``forget`` a
user at once: a consent withdrawal or an erasure served by this instance applies immediately;
other instances follow within the cache's TTL. ``ApiCaches`` holds one of each per app (two apps in
one process never share entries) and forgets a user in all of them with one call.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import orjson
from sqlalchemy import Engine, bindparam, select

from ecs.clock import Clock, monotonic, wall
from ecs.db.tables import User

CONSENT_TTL_SECONDS = 10.0
ACCOUNT_TTL_SECONDS = 10.0
MAX_ENTRIES = 100_000

# Built once: a statement built per lookup doubled its cost (construction and cache-key work).
_CONSENT_OF = select(User.id, User.consent_emotion_processing, User.erased_at).where(  # type: ignore[call-overload]
    User.id.in_(bindparam("ids", expanding=True))  # type: ignore[attr-defined]
)


class ConsentCache:
    """user id → consented?, refreshed from ``users`` about every ``ttl`` seconds per user.

    Built so the database is never on the hot path, even when entries expire:

    * an expired entry is still answered from memory (for up to ``MAX_STALENESS`` times ``ttl``)
      while one background lookup refreshes it — without this, every entry expiring at once
      sent hundreds of concurrent requests into their own lookups and set the ingest p99;
    * concurrent misses for the same user share one lookup (single flight);
    * lookups are coalesced: while one is in flight, every user who misses or expires meanwhile
      queues for the next, which reads them all with one query. Per-user lookups cost ~0.5 ms
      of API CPU each (SQLAlchemy checkout, pre-ping, execute); with 100,000 users on a 10 s
      TTL that would be 10,000 a second, more than the API's cores. Coalesced, a lookup grows
      with the load instead (up to ``MAX_LOOKUP`` users, ~20 µs each) and their number stays
      bounded by the query's round trip;
    * expiries are jittered so a burst of new users does not expire as a burst.

    A withdrawal made through this instance applies at once (``forget``); one made elsewhere
    within about ``ttl``, and the stream consumer drops readings of users without consent anyway.
    """

    MAX_STALENESS = 3.0
    MAX_LOOKUP = 1000

    def __init__(
        self, engine: Engine, ttl: float = CONSENT_TTL_SECONDS, clock: Clock = monotonic
    ) -> None:
        self.engine = engine
        self.ttl = ttl
        self.clock = clock
        self.lookups = 0  # database round trips, for tests
        self._entries: dict[uuid.UUID, tuple[bool, float]] = {}  # (allowed, fresh until)
        self._inflight: dict[uuid.UUID, asyncio.Future[bool]] = {}
        self._queued: dict[uuid.UUID, asyncio.Future[bool]] = {}  # for the next lookup, in order
        self._lookup_task: asyncio.Task[None] | None = None

    async def consented(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, bool]:
        now = self.clock()
        answer: dict[uuid.UUID, bool] = {}
        missing: list[uuid.UUID] = []
        stale: list[uuid.UUID] = []
        for user_id in user_ids:
            cached = self._entries.get(user_id)
            if cached is None or now - cached[1] > self.ttl * (self.MAX_STALENESS - 1):
                missing.append(user_id)
                continue
            answer[user_id] = cached[0]
            if cached[1] <= now and user_id not in self._inflight:
                stale.append(user_id)
        if stale:
            self._start_lookup(stale)  # answered from memory now, refreshed in the background
        if missing:
            new = [u for u in missing if u not in self._inflight]
            if new:
                self._start_lookup(new)
            waits = {user_id: self._inflight[user_id] for user_id in missing}
            for user_id, future in waits.items():
                answer[user_id] = await asyncio.shield(future)
        return answer

    def _start_lookup(self, user_ids: list[uuid.UUID]) -> None:
        loop = asyncio.get_running_loop()
        futures = {u: loop.create_future() for u in user_ids}
        self._inflight.update(futures)
        self._queued.update(futures)
        if self._lookup_task is None or self._lookup_task.done():
            self._lookup_task = loop.create_task(self._drain())

    async def _drain(self) -> None:
        """One lookup at a time, each taking every user queued so far (up to ``MAX_LOOKUP``)."""
        while self._queued:
            batch = dict(itertools.islice(self._queued.items(), self.MAX_LOOKUP))
            for user_id in batch:
                del self._queued[user_id]
            await self._resolve(batch)

    async def _resolve(self, futures: dict[uuid.UUID, asyncio.Future[bool]]) -> None:
        try:
            self.lookups += 1
            found = await asyncio.to_thread(self._lookup, list(futures))
        except Exception as exc:
            for user_id, future in futures.items():
                self._inflight.pop(user_id, None)
                if not future.done():
                    future.set_exception(exc)
                    future.exception()  # retrieved: a background refresh may have no waiter
            return
        if len(self._entries) > MAX_ENTRIES:
            self._entries.clear()
        now = self.clock()
        for user_id, future in futures.items():
            allowed = found.get(user_id, False)
            if self._inflight.get(user_id) is future:  # not forgotten while we were reading
                self._entries[user_id] = (allowed, now + self.ttl * random.uniform(0.8, 1.2))
                del self._inflight[user_id]
            if not future.done():
                future.set_result(allowed)

    def _lookup(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, bool]:
        with self.engine.connect() as conn:
            rows = conn.execute(_CONSENT_OF, {"ids": user_ids})
            return {row[0]: bool(row[1]) and row[2] is None for row in rows}

    def forget(self, user_id: uuid.UUID) -> None:
        """Apply a change immediately (a lookup already in flight may have read the old value,
        so its answer is not cached)."""
        self._entries.pop(user_id, None)
        self._inflight.pop(user_id, None)


class TokenCache:
    """Verified bearer tokens → user id, until the token's own ``exp``.

    Verifying an HS256 JWT costs ~45 µs; a phone streaming readings presents the same token for
    up to an hour, so each token is verified once per process. Only tokens that ``verify``
    accepted (signature, audience, issuer, expiry) are cached, and never past ``exp`` — which is
    wall-clock time, so this cache's clock is ``ecs.clock.wall``.
    """

    def __init__(self, max_size: int = 50_000, clock: Clock = wall) -> None:
        self.max_size = max_size
        self.clock = clock
        self._entries: dict[str, tuple[uuid.UUID, float]] = {}

    def user_id(self, token: str, verify: Callable[[str], uuid.UUID]) -> uuid.UUID:
        """The token's user; ``verify`` (which raises when the token is invalid) on a miss."""
        cached = self._entries.get(token)
        if cached is not None and cached[1] > self.clock():
            return cached[0]
        user_id = verify(token)
        if len(self._entries) >= self.max_size:
            self._entries.clear()
        self._entries[token] = (user_id, _expiry(token))
        return user_id

    def forget(self, user_id: uuid.UUID) -> None:
        """Drop the user's tokens (rare: erasure), so the next request verifies them again."""
        self._entries = {t: e for t, e in self._entries.items() if e[0] != user_id}


def _expiry(token: str) -> float:
    """``exp`` of a token whose signature was just verified (so its payload can be trusted)."""
    payload = token.split(".")[1]
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return float(claims["exp"])


class AccountCache:
    """user id → account usable (exists, not erased), so a token issued before an erasure stops
    working: one indexed lookup per user and ``ttl`` instead of one per request."""

    def __init__(
        self, engine: Engine, ttl: float = ACCOUNT_TTL_SECONDS, clock: Clock = monotonic
    ) -> None:
        self.engine = engine
        self.ttl = ttl
        self.clock = clock
        self.lookups = 0  # database round trips, for tests
        self._entries: dict[uuid.UUID, tuple[float, bool]] = {}  # (checked at, usable)

    async def usable(self, user_id: uuid.UUID) -> bool:
        now = self.clock()
        cached = self._entries.get(user_id)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        self.lookups += 1
        usable = await asyncio.to_thread(self._lookup, user_id)
        if len(self._entries) > MAX_ENTRIES:
            self._entries.clear()
        self._entries[user_id] = (now, usable)
        return usable

    def _lookup(self, user_id: uuid.UUID) -> bool:
        query = select(User.erased_at).where(User.id == user_id)  # type: ignore[call-overload]
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return row is not None and row[0] is None

    def forget(self, user_id: uuid.UUID) -> None:
        self._entries.pop(user_id, None)


@dataclass
class ApiCaches:
    """One of each cache per app (on ``Resources``)."""

    consent: ConsentCache
    accounts: AccountCache
    tokens: TokenCache = field(default_factory=TokenCache)

    @classmethod
    def create(cls, engine: Engine) -> ApiCaches:
        return cls(consent=ConsentCache(engine), accounts=AccountCache(engine))

    def forget(self, user_id: uuid.UUID) -> None:
        """A consent change or an erasure served here: every cache re-reads the user."""
        self.consent.forget(user_id)
        self.tokens.forget(user_id)
        self.accounts.forget(user_id)
