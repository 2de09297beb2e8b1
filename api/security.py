"""Authentication: argon2 password hashes, short-lived JWT bearer tokens, roles.

The user id always comes from the verified token, never from a path or body, so one customer can
never act for another by editing a URL.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Header
from fastapi.security import OAuth2PasswordBearer

from api.deps import ResourcesDep
from api.problems import TYPE_BASE, Problem
from ecs.domain.status import Role
from ecs.logs import user_id_var
from ecs.settings import Settings

JWT_ALGORITHM = "HS256"
JWT_ISSUER = "ecs"
JWT_AUDIENCE = "ecs-api"

_hasher = PasswordHasher()
# Verifying against a dummy hash when the user does not exist keeps response times equal, so the
# token endpoint does not reveal which e-mail addresses are registered.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)


@dataclass(frozen=True)
class AuthenticatedUser:
    id: uuid.UUID
    role: Role


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def create_access_token(user_id: uuid.UUID, role: Role, settings: Settings) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "role": role.value,
        "iss": JWT_ISSUER,
        "aud": JWT_AUDIENCE,
        "iat": now,
        "exp": now + timedelta(seconds=settings.jwt_ttl_seconds),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=JWT_ALGORITHM)


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401,
        detail,
        type_=TYPE_BASE + "unauthorized",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def decode_token(token: str, settings: Settings) -> AuthenticatedUser:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[JWT_ALGORITHM],
            audience=JWT_AUDIENCE,
            issuer=JWT_ISSUER,
            options={"require": ["exp", "sub", "role"]},
        )
        return AuthenticatedUser(id=uuid.UUID(claims["sub"]), role=Role(claims["role"]))
    except jwt.ExpiredSignatureError as exc:
        raise _unauthorized("The access token has expired; request a new one.") from exc
    except (jwt.InvalidTokenError, ValueError, KeyError) as exc:
        raise _unauthorized("The access token is invalid.") from exc


async def current_user(
    resources: ResourcesDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> AuthenticatedUser:
    """Async on purpose: the user id set here must reach the request's access-log context."""
    settings = resources.settings
    if not token:
        raise Problem(
            401,
            "Authentication required: send 'Authorization: Bearer <token>'.",
            type_=TYPE_BASE + "unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    user = decode_token(token, settings)
    if not await resources.caches.accounts.usable(user.id):
        raise _unauthorized("This account no longer exists.")
    user_id_var.set(str(user.id))
    return user


CurrentUser = Annotated[AuthenticatedUser, Depends(current_user)]


async def require_analyst(user: CurrentUser) -> AuthenticatedUser:
    if user.role is not Role.ANALYST:
        raise Problem(403, "This operation needs the analyst role.", type_=TYPE_BASE + "forbidden")
    return user


Analyst = Annotated[AuthenticatedUser, Depends(require_analyst)]


def api_key_matches(presented: str | None, settings: Settings) -> bool:
    """Constant-time comparison for service-to-service keys (the trusted ingest service)."""
    expected = settings.ingest_api_key.get_secret_value()
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())


IngestApiKey = Annotated[str | None, Header(alias="X-API-Key", include_in_schema=True)]
