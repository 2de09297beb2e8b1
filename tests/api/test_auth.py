"""Registration, tokens and the ways a token can be wrong."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from ecs.accounts.tokens import JWT_ALGORITHM, JWT_AUDIENCE, JWT_ISSUER
from ecs.settings import Settings
from tests.api.conftest import PASSWORD, Account, assert_problem, unique_email


def _claims(user_id: uuid.UUID, **overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": str(user_id),
        "role": "customer",
        "iss": JWT_ISSUER,
        "aud": JWT_AUDIENCE,
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    claims.update(overrides)
    return claims


def _b64(data: Mapping[str, object]) -> str:
    raw = json.dumps(data, default=str).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_register_returns_public_user_without_secrets(api_url: str) -> None:
    email = unique_email()
    response = httpx.post(
        f"{api_url}/v1/auth/register",
        json={"email": email.upper(), "password": PASSWORD, "consent_emotion_processing": True},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == email  # normalised to lower case
    assert body["role"] == "customer"
    assert body["consent_emotion_processing"] is True
    assert "password" not in json.dumps(body) and "hash" not in json.dumps(body)


def test_register_cannot_choose_a_role(api_url: str) -> None:
    response = httpx.post(
        f"{api_url}/v1/auth/register",
        json={"email": unique_email(), "password": PASSWORD, "role": "analyst"},
    )
    body = assert_problem(response, 422)
    assert any(e["loc"] == ["body", "role"] for e in body["errors"])  # type: ignore[attr-defined]


def test_duplicate_registration_is_409(api_url: str, customer: Account) -> None:
    response = httpx.post(
        f"{api_url}/v1/auth/register",
        json={"email": customer.email.upper(), "password": PASSWORD},
    )
    assert assert_problem(response, 409)["type"] == "https://ecs.example/problems/email-taken"


def test_malformed_registration_lists_each_field(api_url: str) -> None:
    response = httpx.post(
        f"{api_url}/v1/auth/register",
        json={"email": "not-an-email", "password": "short", "consent_emotion_processing": "x"},
    )
    body = assert_problem(response, 422)
    fields = {tuple(e["loc"]) for e in body["errors"]}  # type: ignore[attr-defined]
    assert fields == {
        ("body", "email"),
        ("body", "password"),
        ("body", "consent_emotion_processing"),
    }


def test_token_has_bearer_type_and_expiry(api_url: str, settings: Settings) -> None:
    email = unique_email()
    httpx.post(f"{api_url}/v1/auth/register", json={"email": email, "password": PASSWORD})
    response = httpx.post(
        f"{api_url}/v1/auth/token", data={"username": email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.jwt_ttl_seconds
    me = httpx.get(
        f"{api_url}/v1/transactions",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert me.status_code == 200


def test_bad_credentials_are_401_with_one_message(api_url: str, customer: Account) -> None:
    wrong_password = httpx.post(
        f"{api_url}/v1/auth/token",
        data={"username": customer.email, "password": "wrong password 123"},
    )
    unknown_user = httpx.post(
        f"{api_url}/v1/auth/token",
        data={"username": unique_email(), "password": PASSWORD},
    )
    first = assert_problem(wrong_password, 401)
    second = assert_problem(unknown_user, 401)
    assert first["detail"] == second["detail"]
    assert first["type"] == second["type"] == "https://ecs.example/problems/invalid-credentials"
    assert wrong_password.headers["www-authenticate"].startswith("Bearer")


def test_missing_token_is_401(api_url: str) -> None:
    response = httpx.get(f"{api_url}/v1/transactions")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_expired_token_is_401(api_url: str, settings: Settings, customer: Account) -> None:
    past = datetime.now(UTC) - timedelta(hours=2)
    token = jwt.encode(
        _claims(customer.id, iat=past, exp=past + timedelta(minutes=5)),
        settings.jwt_secret.get_secret_value(),
        algorithm=JWT_ALGORITHM,
    )
    response = httpx.get(f"{api_url}/v1/transactions", headers={"Authorization": f"Bearer {token}"})
    body = assert_problem(response, 401)
    assert "expired" in str(body["detail"])


@pytest.mark.parametrize("forgery", ["wrong-secret", "alg-none", "garbage", "wrong-audience"])
def test_forged_tokens_are_401(
    api_url: str, settings: Settings, customer: Account, forgery: str
) -> None:
    secret = settings.jwt_secret.get_secret_value()
    if forgery == "wrong-secret":
        token = jwt.encode(
            _claims(customer.id, role="analyst"),
            "attacker-secret-attacker-secret-0123456789",
            algorithm="HS256",
        )
    elif forgery == "alg-none":
        header = {"alg": "none", "typ": "JWT"}
        claims = _claims(customer.id, role="analyst")
        claims["iat"] = int(datetime.now(UTC).timestamp())
        claims["exp"] = claims["iat"] + 300  # type: ignore[operator]
        token = f"{_b64(header)}.{_b64(claims)}."
    elif forgery == "wrong-audience":
        token = jwt.encode(_claims(customer.id, aud="someone-else"), secret, algorithm="HS256")
    else:
        token = "not.a.jwt"
    response = httpx.get(f"{api_url}/v1/transactions", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401)
