"""``POST /v1/emotions``: the app's (or the trusted ingest service's) firehose entrance.

The hot path does three things and nothing else: authenticate, validate, XADD. A 202 means the
readings are in the Redis stream; persistence, aggregates and workflow signals happen in the
stream consumer. To keep it fast (it is the busiest endpoint by far):

* a batch body is parsed and validated from its bytes in one pydantic-core call, into plain
  dicts with no Python validator in the loop (``ecs.stream.messages.readings_of_body``; FastAPI's
  body machinery would go through stdlib ``json`` and ``jsonable_encoder``);
* consent is checked per user, and the stream readings are built as dicts
  (``wire_readings``): per-reading Python work is what limits this endpoint;
* the consent check hits an in-process cache (``api.caches.ConsentCache``), not the database;
* the whole request becomes one stream entry — measured faster end to end than one XADD per
  reading (see ``bench/ingest.py`` and the README) — and concurrent requests share pipelined
  round trips (``CoalescingPublisher``), each still acknowledged only once its entry is stored;
* the route is matched first and directly (``api.main``), and successful calls are logged at
  DEBUG (``api.middleware.QUIET_PATHS``);
* the response is pre-serialised bytes.

Consent: readings of a user who has not consented to emotion processing (or has withdrawn it, or
was erased) are refused with 403 rather than silently dropped, so the app can stop sending and
show the user why. A withdrawal takes effect within ``api.caches.CONSENT_TTL_SECONDS`` on each API
instance.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import TypeAdapter
from redis.exceptions import RedisError

from api.metrics import INGEST_REFUSED, READINGS_ACCEPTED
from api.problems import TYPE_BASE, Problem
from api.resources import Resources
from api.security import api_key_matches
from ecs.accounts.tokens import decode_token
from ecs.logs import user_id_var
from ecs.stream.messages import (
    IngestAccepted,
    InvalidReadings,
    ReadingBatch,
    ReadingIn,
    readings_of_body,
    wire_readings,
)
from ecs.stream.producer import CoalescingPublisher

router = APIRouter(prefix="/v1", tags=["emotions"])

MAX_BODY_BYTES = 2 * 1024 * 1024
REDIS_RETRY_AFTER = "2"
T = TypeVar("T")


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


def _validate(body: bytes) -> list[ReadingIn]:
    try:
        return readings_of_body(body)
    except InvalidReadings as exc:
        raise _invalid(exc.errors) from exc


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            siblings = {k: v for k, v in node.items() if k != "$ref"}  # e.g. a field's default
            return {**_inline_refs(defs[ref.removeprefix("#/$defs/")], defs), **siblings}
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
    try:
        return await _ingest(request)
    except Problem as problem:
        INGEST_REFUSED.labels(problem.type.rsplit("/", 1)[-1]).inc()
        raise


async def _ingest(request: Request) -> Response:
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
        caller = resources.caches.tokens.user_id(token, lambda t: decode_token(t, settings).id)
        user_id_var.set(str(caller))
    else:
        raise _unauthorized()

    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise Problem(413, f"The body is larger than {MAX_BODY_BYTES} bytes; send smaller batches.")
    readings = _validate(await request.body())

    if caller is not None:
        foreign = [i for i, r in enumerate(readings) if r["user_id"] not in (None, caller)]
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
        users = {caller}
    else:
        missing = [i for i, r in enumerate(readings) if r["user_id"] is None]
        if missing:
            raise _invalid(
                [
                    {"index": i, "field": "user_id", "msg": "required with the ingest API key"}
                    for i in missing
                ]
            )
        owners = [r["user_id"] for r in readings if r["user_id"] is not None]
        users = set(owners)

    consent = await resources.caches.consent.consented(users)
    if not all(consent.get(user, False) for user in users):  # per user, not per reading
        refused = [i for i, owner in enumerate(owners) if not consent.get(owner, False)]
        raise Problem(
            403,
            "No consent to emotion processing on record for this user; readings are not accepted.",
            type_=TYPE_BASE + "consent-required",
            title="Consent required",
            errors=[{"index": i, "field": "user_id", "msg": "no consent"} for i in refused[:50]],
        )

    records = wire_readings(readings, owners, datetime.now(UTC))
    try:
        publisher = _state(
            request,
            "emotion_publisher",
            lambda: CoalescingPublisher(
                resources.redis, settings.stream_name, shards=settings.stream_shards
            ),
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
    READINGS_ACCEPTED.inc(len(records))
    body = orjson.dumps({"accepted": len(records), "event_ids": [r["event_id"] for r in records]})
    return Response(body, status_code=202, media_type="application/json")
