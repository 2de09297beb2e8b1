"""Remote codec endpoint for the Temporal Web UI and CLI (``--codec-endpoint``).

Workflow payloads are AES-GCM encrypted in Temporal's history. Pointing the Web UI's "remote
codec endpoint" here lets an *authorised* operator read them in the browser, while the key never
leaves this service. Callers prove authority with an analyst bearer token or the dedicated codec
API key (for the CLI and automation); everyone else gets 401/403, because a codec that decrypts
for anyone would make the encryption pointless.

A token alone is not enough: an analyst erased after the token was issued must stop decrypting
at once, so every call also checks that the account is still live (``api.caches.AccountCache``:
one lookup per analyst per 10 s on each instance, forgotten at once on erasure here).

On a developer machine the codec may be open to loopback callers without credentials. A web page
on that machine could still reach it through DNS rebinding (a name of the attacker's that resolves
to 127.0.0.1): the connection is loopback, but the ``Host`` header names the attacker's domain. So
the open path also requires a loopback ``Host``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Annotated

from cryptography.exceptions import InvalidTag
from fastapi import APIRouter, Depends, Header, Request
from temporalio.api.common.v1 import Payload

from api.deps import ResourcesDep, SettingsDep
from api.problems import TYPE_BASE, Problem
from api.schemas import CodecPayload, CodecPayloads
from api.security import oauth2_scheme
from ecs.accounts.tokens import decode_token
from ecs.domain.status import Role
from ecs.temporal.codec import EncryptionCodec, decode_key

router = APIRouter(prefix="/codec", tags=["codec"])
_PROBLEM = {"description": "Problem body", "content": {"application/problem+json": {}}}


LOOPBACK = frozenset({"127.0.0.1", "::1"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


def _loopback_host(host_header: str | None) -> bool:
    """``Host`` names this machine: ``localhost``, ``127.0.0.1`` or ``[::1]``, any port."""
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[: host.find("]") + 1]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host in LOOPBACK_HOSTS


async def codec_caller(
    request: Request,
    resources: ResourcesDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Header(alias="X-API-Key")] = None,
) -> None:
    """Admit the codec API key (constant-time compare) or an analyst's bearer token.

    On a developer machine (``ECS_CODEC_OPEN_ON_LOOPBACK``, set by ``ecs dev``; refused in
    production) loopback callers need neither: the local Web UI cannot send credentials.
    """
    settings = resources.settings
    if (
        settings.codec_open_on_loopback
        and request.client is not None
        and request.client.host in LOOPBACK
        and _loopback_host(request.headers.get("host"))
        and api_key is None
        and not token
    ):
        return
    if api_key is not None:
        expected = settings.codec_api_key.get_secret_value().encode()
        if expected and hmac.compare_digest(api_key.encode(), expected):
            return
        raise Problem(401, "Invalid API key.", type_=TYPE_BASE + "unauthorized")
    if not token:
        raise Problem(
            401,
            "Send 'Authorization: Bearer <analyst token>' or 'X-API-Key: <codec key>'.",
            type_=TYPE_BASE + "unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    caller = decode_token(token, settings)
    if caller.role is not Role.ANALYST:
        raise Problem(
            403, "Decoding payloads needs the analyst role.", type_=TYPE_BASE + "forbidden"
        )
    if not await resources.caches.accounts.usable(caller.id):
        raise Problem(
            401,
            "This account no longer exists.",
            type_=TYPE_BASE + "unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )


CodecCaller = Annotated[None, Depends(codec_caller)]


def _codec(settings: SettingsDep) -> EncryptionCodec:
    return EncryptionCodec(decode_key(settings.payload_key.get_secret_value()))


CodecDep = Annotated[EncryptionCodec, Depends(_codec)]


def _to_proto(body: CodecPayloads) -> list[Payload]:
    try:
        return [
            Payload(
                metadata={k: base64.b64decode(v, validate=True) for k, v in p.metadata.items()},
                data=base64.b64decode(p.data, validate=True),
            )
            for p in body.payloads
        ]
    except (binascii.Error, ValueError) as exc:
        raise Problem(400, f"A payload is not valid base64: {exc}") from exc


def _to_json(payloads: list[Payload]) -> CodecPayloads:
    return CodecPayloads(
        payloads=[
            CodecPayload(
                metadata={k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                data=base64.b64encode(p.data).decode(),
            )
            for p in payloads
        ]
    )


@router.post(
    "/encode",
    response_model=CodecPayloads,
    summary="Encrypt payloads (Temporal codec-server protocol)",
    responses={400: _PROBLEM, 401: _PROBLEM, 403: _PROBLEM},
)
async def encode(body: CodecPayloads, _caller: CodecCaller, codec: CodecDep) -> CodecPayloads:
    return _to_json(await codec.encode(_to_proto(body)))


@router.post(
    "/decode",
    response_model=CodecPayloads,
    summary="Decrypt payloads (Temporal codec-server protocol)",
    responses={400: _PROBLEM, 401: _PROBLEM, 403: _PROBLEM},
)
async def decode(body: CodecPayloads, _caller: CodecCaller, codec: CodecDep) -> CodecPayloads:
    try:
        return _to_json(await codec.decode(_to_proto(body)))
    except (InvalidTag, ValueError) as exc:
        raise Problem(400, "A payload could not be decrypted with the configured keys.") from exc
