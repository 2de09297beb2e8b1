"""Bearer tokens without HTTP: what ``decode_token`` refuses, and expiry from an injected clock."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest

from ecs.accounts.tokens import (
    JWT_ALGORITHM,
    JWT_AUDIENCE,
    JWT_ISSUER,
    AuthenticatedUser,
    create_access_token,
    decode_token,
)
from ecs.domain.status import Role
from ecs.errors import NotAuthenticated
from ecs.settings import Settings

SETTINGS = Settings.model_validate({"env": "test", "jwt_secret": "s" * 64, "jwt_ttl_seconds": 600})
SECRET = SETTINGS.jwt_secret.get_secret_value()
USER = uuid.uuid4()


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(USER),
        "role": "customer",
        "iss": JWT_ISSUER,
        "aud": JWT_AUDIENCE,
        "iat": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def test_a_fresh_token_names_its_user_and_role() -> None:
    token = create_access_token(USER, Role.ANALYST, SETTINGS)
    assert decode_token(token, SETTINGS) == AuthenticatedUser(id=USER, role=Role.ANALYST)


def test_expiry_counts_from_the_injected_clock() -> None:
    issued = time.time() - 3600  # an hour ago: ten minutes of validity have long run out
    token = create_access_token(USER, Role.CUSTOMER, SETTINGS, clock=lambda: issued)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == SETTINGS.jwt_ttl_seconds
    assert claims["iat"] == int(issued)
    with pytest.raises(NotAuthenticated, match="expired"):
        decode_token(token, SETTINGS)


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param(_claims(aud="someone-else"), id="audience"),
        pytest.param(_claims(iss="not-ecs"), id="issuer"),
        pytest.param(_claims(exp=None), id="no-exp"),
        pytest.param(_claims(sub=None), id="no-sub"),
        pytest.param(_claims(role=None), id="no-role"),
        pytest.param(_claims(role="superuser"), id="unknown-role"),
        pytest.param(_claims(sub="not-a-uuid"), id="bad-sub"),
    ],
)
def test_claims_are_required_and_checked(claims: dict[str, Any]) -> None:
    token = jwt.encode(claims, SECRET, algorithm=JWT_ALGORITHM)
    with pytest.raises(NotAuthenticated) as raised:
        decode_token(token, SETTINGS)
    assert raised.value.code == "unauthorized"


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_only_hs256_is_accepted(algorithm: str) -> None:
    token = jwt.encode(_claims(), SECRET, algorithm=algorithm)
    with pytest.raises(NotAuthenticated, match="invalid"):
        decode_token(token, SETTINGS)


def test_unsigned_and_foreign_tokens_are_refused() -> None:
    unsigned = jwt.encode(_claims(), "", algorithm="none")
    foreign = jwt.encode(_claims(), "another-secret-" * 4, algorithm=JWT_ALGORITHM)
    for token in (unsigned, foreign, "not.a.jwt", ""):
        with pytest.raises(NotAuthenticated):
            decode_token(token, SETTINGS)
