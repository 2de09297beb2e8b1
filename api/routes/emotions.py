"""``POST /v1/emotions``: the app's (or the trusted ingest service's) firehose entrance.

The hot path does three things and nothing else: authenticate, validate, XADD. A 202 means the
readings are in the Redis stream; persistence, aggregates and workflow signals happen in the
stream consumer. To keep it fast (it is the busiest endpoint by far):

* the body is parsed with orjson and validated in one pydantic-core call for the whole batch
  (FastAPI's body machinery would go through stdlib ``json`` and ``jsonable_encoder``);
* the consent check hits an in-process cache (``CONSENT_TTL_SECONDS``), not the database;
* the whole request becomes one stream entry — measured faster end to end than one XADD per
  reading (see ``bench/ingest.py`` and the README) — and concurrent requests share pipelined
  round trips (``CoalescingPublisher``), each still acknowledged only once its entry is stored;
* the route is matched first and directly (``api.main``), and successful calls are logged at
  DEBUG (``api.middleware.QUIET_PATHS``);
* the response is pre-serialised bytes.

Consent: readings of a user who has not consented to emotion processing (or has withdrawn it, or
was erased) are refused with 403 rather than silently dropped, so the app can stop sending and
show the user why. A withdrawal takes effect within ``CONSENT_TTL_SECONDS`` on each API instance.
"""

from __future__ import annotations

import asyncio
import base64
import random
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import TypeAdapter, ValidationError
from redis.exceptions import RedisError
from sqlalchemy import Engine, select

from api.problems import TYPE_BASE, Problem
from api.resources import Resources
from api.security import api_key_matches, decode_token
from ecs.db.tables import User
from ecs.logs import user_id_var
from ecs.settings import Settings
from ecs.stream.messages import (
    MAX_BATCH,
    IngestAccepted,
    ReadingBatch,
    ReadingIn,
    StreamReading,
)
from ecs.stream.producer import CoalescingPublisher

router = APIRouter(prefix="/v1", tags=["emotions"])

CONSENT_TTL_SECONDS = 10.0
MAX_BODY_BYTES = 2 * 1024 * 1024
REDIS_RETRY_AFTER = "2"
_READINGS = TypeAdapter(list[ReadingIn])
T = TypeVar("T")


class ConsentCache:
    """user id → consented?, refreshed from ``users`` about every ``ttl`` seconds per user.

    Built so the database is never on the hot path, even when entries expire:

    * an expired entry is still answered from memory (for up to ``MAX_STALENESS`` times ``ttl``)
      while one background lookup refreshes it — without this, every entry expiring at once
      sent hundreds of concurrent requests into their own lookups and set the ingest p99;
    * concurrent misses for the same user share one lookup (single flight);
    * expiries are jittered so a burst of new users does not expire as a burst.

    A withdrawal made through this instance applies at once (``forget``); one made elsewhere
    within about ``ttl``, and the stream consumer drops readings of users without consent anyway.
    """

    MAX_STALENESS = 3.0

    def __init__(self, engine: Engine, ttl: float = CONSENT_TTL_SECONDS) -> None:
        self.engine = engine
        self.ttl = ttl
        self.lookups = 0  # database round trips, for tests
        self._entries: dict[uuid.UUID, tuple[bool, float]] = {}  # (allowed, fresh until)
        self._inflight: dict[uuid.UUID, asyncio.Future[bool]] = {}
        self._refreshers: set[asyncio.Task[None]] = set()

    async def consented(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, bool]:
        now = time.monotonic()
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
        task = loop.create_task(self._resolve(futures))
        self._refreshers.add(task)
        task.add_done_callback(self._refreshers.discard)

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
        if len(self._entries) > 100_000:
            self._entries.clear()
        now = time.monotonic()
        for user_id, future in futures.items():
            allowed = found.get(user_id, False)
            if self._inflight.get(user_id) is future:  # not forgotten while we were reading
                self._entries[user_id] = (allowed, now + self.ttl * random.uniform(0.8, 1.2))
                del self._inflight[user_id]
            if not future.done():
                future.set_result(allowed)

    def _lookup(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, bool]:
        query = select(User.id, User.consent_emotion_processing, User.erased_at).where(  # type: ignore[call-overload]
            User.id.in_(user_ids)  # type: ignore[attr-defined]
        )
        with self.engine.connect() as conn:
            return {row[0]: bool(row[1]) and row[2] is None for row in conn.execute(query)}

    def forget(self, user_id: uuid.UUID) -> None:
        """For the consent endpoints of this instance: apply a change immediately (a lookup
        already in flight may have read the old value, so its answer is not cached)."""
        self._entries.pop(user_id, None)
        self._inflight.pop(user_id, None)


class TokenCache:
    """Verified bearer tokens → user id, until the token's own ``exp``.

    Verifying an HS256 JWT costs ~45 µs; a phone streaming readings presents the same token for
    up to an hour, so each token is verified once per process. Only tokens that passed
    ``decode_token`` (signature, audience, issuer, expiry) are cached, and never past ``exp``.
    """

    def __init__(self, max_size: int = 50_000) -> None:
        self.max_size = max_size
        self._entries: dict[str, tuple[uuid.UUID, float]] = {}

    def user_id(self, token: str, settings: Settings) -> uuid.UUID:
        cached = self._entries.get(token)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        user = decode_token(token, settings)  # raises the 401 problem when invalid or expired
        if len(self._entries) >= self.max_size:
            self._entries.clear()
        self._entries[token] = (user.id, _expiry(token))
        return user.id


def _expiry(token: str) -> float:
    """``exp`` of a token whose signature was just verified (so its payload can be trusted)."""
    payload = token.split(".")[1]
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return float(claims["exp"])


def _state(request: Request, name: str, factory: Callable[[], T]) -> T:
    """Per-app caches (on ``app.state``), so two apps in one process never share entries."""
    value: T | None = getattr(request.app.state, name, None)
    if value is None:
        value = factory()
        setattr(request.app.state, name, value)
    return value


def _invalid(errors: list[dict[str, Any]], detail: str | None = None) -> Problem:
    return Problem(
        422,
        detail or f"{len(errors)} invalid reading(s)",
        type_=TYPE_BASE + "validation-error",
        title="Request validation failed",
        errors=errors,
    )


def _items(body: bytes) -> list[Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _invalid([{"index": None, "field": "", "msg": f"invalid JSON: {exc}"}]) from exc
    if isinstance(data, dict) and "readings" in data:
        extra = sorted(set(data) - {"readings"})
        items = data["readings"]
        if extra:
            raise _invalid([{"index": None, "field": extra[0], "msg": "unexpected field"}])
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
            raise _invalid(
                [{"index": None, "field": "readings", "msg": f"must be 1..{MAX_BATCH} readings"}]
            )
        return items
    if isinstance(data, dict):
        return [data]
    raise _invalid(
        [{"index": None, "field": "", "msg": "expected a reading or {'readings': [...]}"}]
    )


def _validate(items: list[Any]) -> list[ReadingIn]:
    try:
        return _READINGS.validate_python(items)
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False, include_input=False):
            loc = err["loc"]
            errors.append(
                {
                    "index": loc[0] if loc else None,
                    "field": ".".join(str(part) for part in loc[1:]),
                    "msg": err["msg"],
                    "type": err["type"],
                }
            )
        raise _invalid(errors) from exc


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


def _request_schema() -> dict[str, Any]:
    """The body is parsed by hand (see module docstring), so its schema is declared explicitly:
    one reading or a batch, fully inlined (the models are not recursive)."""
    schema = TypeAdapter(ReadingIn | ReadingBatch).json_schema()
    inlined: dict[str, Any] = _inline_refs(schema, schema.get("$defs", {}))
    return inlined


def _unauthorized() -> Problem:
    return Problem(
        401,
        "Authentication required: 'Authorization: Bearer <token>' or the ingest 'X-API-Key'.",
        type_=TYPE_BASE + "unauthorized",
        headers={"WWW-Authenticate": "Bearer"},
    )


@router.post(
    "/emotions",
    status_code=202,
    summary="Send one emotion reading or a batch of up to 1,000",
    response_model=IngestAccepted,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _request_schema()}},
        },
        "parameters": [
            {
                "name": "X-API-Key",
                "in": "header",
                "required": False,
                "description": "The trusted ingest service's key (instead of a bearer token).",
                "schema": {"type": "string"},
            }
        ],
        "security": [{"OAuth2PasswordBearer": []}, {}],
    },
    responses={
        401: {"description": "No or invalid credentials"},
        403: {"description": "Reading for another user, or no consent to emotion processing"},
        413: {"description": "Body larger than 2 MiB"},
        422: {"description": "Invalid readings; `errors` names each by `index` and `field`"},
        503: {"description": "The stream (Redis) is unavailable; retry after `Retry-After`"},
    },
)
async def ingest_emotions(request: Request) -> Response:
    """Accepted (202) means durably in the stream; send ``event_id`` to make retries idempotent.

    With a user token every reading belongs to the caller (``user_id`` may be omitted); with the
    ingest service's ``X-API-Key`` each reading must name its ``user_id``.
    """
    # Not ``ResourcesDep``: a sync dependency costs a thread-pool hop per request, which on this
    # endpoint was measured to halve throughput.
    resources: Resources = request.app.state.resources
    settings = resources.settings
    api_key = request.headers.get("x-api-key")
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if api_key is not None:
        if not api_key_matches(api_key, settings):
            raise _unauthorized()
        caller: uuid.UUID | None = None
    elif scheme.lower() == "bearer" and token:
        caller = _state(request, "emotion_tokens", TokenCache).user_id(token, settings)
        user_id_var.set(str(caller))
    else:
        raise _unauthorized()

    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise Problem(413, f"The body is larger than {MAX_BODY_BYTES} bytes; send smaller batches.")
    readings = _validate(_items(await request.body()))

    owners: list[uuid.UUID] = []
    if caller is not None:
        foreign = [i for i, r in enumerate(readings) if r.user_id not in (None, caller)]
        if foreign:
            raise Problem(
                403,
                "Readings may only be sent for the authenticated user.",
                type_=TYPE_BASE + "forbidden",
                errors=[
                    {"index": i, "field": "user_id", "msg": "not your user id"} for i in foreign
                ],
            )
        owners = [caller] * len(readings)
    else:
        missing = [i for i, r in enumerate(readings) if r.user_id is None]
        if missing:
            raise _invalid(
                [
                    {"index": i, "field": "user_id", "msg": "required with the ingest API key"}
                    for i in missing
                ]
            )
        owners = [r.user_id for r in readings if r.user_id is not None]

    cache = _state(request, "emotion_consent", lambda: ConsentCache(resources.engine))
    consent = await cache.consented(set(owners))
    refused = [i for i, owner in enumerate(owners) if not consent.get(owner, False)]
    if refused:
        raise Problem(
            403,
            "No consent to emotion processing on record for this user; readings are not accepted.",
            type_=TYPE_BASE + "consent-required",
            title="Consent required",
            errors=[{"index": i, "field": "user_id", "msg": "no consent"} for i in refused[:50]],
        )

    received_at = datetime.now(UTC)
    records = [
        StreamReading(
            event_id=r.event_id,
            user_id=owner,
            occurred_at=r.occurred_at,
            kind=r.kind.value,
            positivity=r.metrics.positivity,
            intensity=r.metrics.intensity,
            stress=r.metrics.stress,
            context=r.context,
            received_at=received_at,
        )
        for r, owner in zip(readings, owners, strict=True)
    ]
    try:
        publisher = _state(
            request,
            "emotion_publisher",
            lambda: CoalescingPublisher(resources.redis, settings.stream_name),
        )
        await publisher.publish(records)
    except (RedisError, OSError, TimeoutError) as exc:
        raise Problem(
            503,
            "The emotion stream is unavailable; nothing was accepted. Retry with the same "
            "event ids.",
            type_=TYPE_BASE + "stream-unavailable",
            title="Stream unavailable",
            headers={"Retry-After": REDIS_RETRY_AFTER},
        ) from exc
    body = orjson.dumps({"accepted": len(records), "event_ids": [str(r.event_id) for r in records]})
    return Response(body, status_code=202, media_type="application/json")
