"""Bearer tokens: short-lived HS256 JWTs naming the user and the role.

Decoding pins the algorithm (no ``alg: none``, no RS/HS confusion) and requires the audience, the
issuer, ``exp``, ``sub`` and ``role``; anything else about a token is refused as
``NotAuthenticated``. The user id a request acts for always comes from here, never from a path or
a body, so one customer can never act for another by editing a URL.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from ecs.clock import Clock, wall
from ecs.domain.status import Role
from ecs.errors import NotAuthenticated
from ecs.settings import Settings

JWT_ALGORITHM = "HS256"
JWT_ISSUER = "ecs"
JWT_AUDIENCE = "ecs-api"


@dataclass(frozen=True)
class AuthenticatedUser:
    """Who a verified token speaks for."""

    id: uuid.UUID
    role: Role


def create_access_token(
    user_id: uuid.UUID, role: Role, settings: Settings, *, clock: Clock = wall
) -> str:
    now = datetime.fromtimestamp(clock(), UTC)
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


def decode_token(token: str, settings: Settings) -> AuthenticatedUser:
    """The token's user; ``NotAuthenticated`` when it is expired, forged or malformed."""
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
        raise NotAuthenticated("The access token has expired; request a new one.") from exc
    except (jwt.InvalidTokenError, ValueError, KeyError) as exc:
        raise NotAuthenticated("The access token is invalid.") from exc
