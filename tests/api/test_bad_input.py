"""Bad input gets a 4xx problem body, never a 500, and a 422 never repeats a secret."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import Account, assert_problem, make_analyst
from tests.api.conftest import unique_email as new_email


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_numbers_in_a_body_are_a_422(api_url: str, literal: bytes) -> None:
    """Python's JSON parser accepts NaN; echoing it back in the 422 crashed the error handler."""
    body = b'{"email": ' + literal + b', "password": 1, "consent_emotion_processing": true}'
    response = httpx.post(
        f"{api_url}/v1/auth/register",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    problem = assert_problem(response, 422)
    assert "request_id" in problem


def test_a_422_names_the_password_but_never_repeats_it(api_url: str) -> None:
    secret = "hunter2x"  # too short: a 422
    response = httpx.post(
        f"{api_url}/v1/auth/register",
        json={"email": new_email(), "password": secret, "consent_emotion_processing": True},
    )
    problem = assert_problem(response, 422)
    assert secret not in response.text
    assert any(e["loc"][-1] == "password" for e in problem["errors"])  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("/v1/credit-decisions", "customer"),
        ("/v1/me/notifications", "customer"),
        ("/v1/reviews", "analyst"),
    ],
)
def test_a_huge_offset_is_a_422_not_a_database_overflow(
    api_url: str, customer: Account, engine: object, path: str, role: str
) -> None:
    who = customer if role == "customer" else make_analyst(api_url, engine)  # type: ignore[arg-type]
    for offset in ("33232148144041787323062419456", "100001", "-1"):
        response = httpx.get(f"{api_url}{path}", params={"offset": offset}, headers=who.headers)
        assert_problem(response, 422)
    assert httpx.get(f"{api_url}{path}", params={"offset": 100_000}, headers=who.headers).is_success
