"""The remote codec endpoint used by the Temporal Web UI."""

from __future__ import annotations

import base64

import httpx
import pytest
from sqlalchemy import Engine

from ecs.settings import Settings
from tests.api.conftest import Account, assert_problem, make_analyst, serve_api

PLAIN = {
    "payloads": [
        {
            "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
            "data": base64.b64encode(b'{"stress": 0.9}').decode(),
        }
    ]
}


def _key(settings: Settings) -> dict[str, str]:
    return {"X-API-Key": settings.codec_api_key.get_secret_value()}


def test_round_trip_with_api_key(api_url: str, settings: Settings) -> None:
    encoded = httpx.post(f"{api_url}/codec/encode", json=PLAIN, headers=_key(settings))
    assert encoded.status_code == 200, encoded.text
    sealed = encoded.json()["payloads"][0]
    assert base64.b64decode(sealed["metadata"]["encoding"]) == b"binary/encrypted"
    assert b"stress" not in base64.b64decode(sealed["data"])

    decoded = httpx.post(f"{api_url}/codec/decode", json=encoded.json(), headers=_key(settings))
    assert decoded.status_code == 200, decoded.text
    assert decoded.json() == PLAIN


def test_analyst_token_may_decode_and_plain_payloads_pass_through(
    api_url: str, analyst: Account
) -> None:
    response = httpx.post(f"{api_url}/codec/decode", json=PLAIN, headers=analyst.headers)
    assert response.status_code == 200, response.text
    assert response.json() == PLAIN


def test_unauthenticated_and_customers_are_refused(api_url: str, customer: Account) -> None:
    for path in ("/codec/encode", "/codec/decode"):
        assert_problem(httpx.post(f"{api_url}{path}", json=PLAIN), 401)
        assert_problem(
            httpx.post(f"{api_url}{path}", json=PLAIN, headers={"X-API-Key": "guess"}), 401
        )
        assert_problem(httpx.post(f"{api_url}{path}", json=PLAIN, headers=customer.headers), 403)


@pytest.mark.parametrize(
    "payloads",
    [
        [{"metadata": {}, "data": "%%% not base64"}],
        [
            {
                "metadata": {"encoding": base64.b64encode(b"binary/encrypted").decode()},
                "data": base64.b64encode(b"x" * 40).decode(),
            }
        ],
    ],
)
def test_bad_payloads_are_400(
    api_url: str, settings: Settings, payloads: list[dict[str, object]]
) -> None:
    response = httpx.post(
        f"{api_url}/codec/decode", json={"payloads": payloads}, headers=_key(settings)
    )
    assert_problem(response, 400)


def test_cors_preflight_for_the_temporal_ui(api_url: str, settings: Settings) -> None:
    origin = settings.cors_origins[0]
    response = httpx.options(
        f"{api_url}/codec/decode",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin


def test_local_web_ui_decodes_without_credentials_only_when_enabled(
    api_url: str, settings: Settings
) -> None:
    """`ecs dev` lets the browser-based Web UI on this machine decode; the default refuses."""
    encoded = httpx.post(f"{api_url}/codec/encode", json=PLAIN, headers=_key(settings)).json()
    assert_problem(httpx.post(f"{api_url}/codec/decode", json=encoded), 401)

    with serve_api(settings.model_copy(update={"codec_open_on_loopback": True})) as open_url:
        decoded = httpx.post(f"{open_url}/codec/decode", json=encoded)
        assert decoded.status_code == 200, decoded.text
        assert decoded.json() == PLAIN
        wrong_key = httpx.post(
            f"{open_url}/codec/decode", json=encoded, headers={"X-API-Key": "wrong"}
        )
        assert_problem(wrong_key, 401)  # a credential, when sent, is still checked


def test_an_erased_analysts_token_stops_decoding_at_once(api_url: str, engine: Engine) -> None:
    analyst = make_analyst(api_url, engine)
    assert httpx.post(f"{api_url}/codec/decode", json=PLAIN, headers=analyst.headers).is_success
    erased = httpx.request(
        "DELETE", f"{api_url}/v1/me", json={"password": analyst.password}, headers=analyst.headers
    )
    assert erased.status_code == 204, erased.text
    refused = httpx.post(f"{api_url}/codec/decode", json=PLAIN, headers=analyst.headers)
    assert_problem(refused, 401)


def test_the_open_loopback_codec_refuses_a_foreign_host_header(settings: Settings) -> None:
    """DNS rebinding: a page on the developer's machine reaches 127.0.0.1 under its own name."""
    with serve_api(settings.model_copy(update={"codec_open_on_loopback": True})) as open_url:
        port = open_url.rsplit(":", 1)[1]
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
            ok = httpx.post(f"{open_url}/codec/decode", json=PLAIN, headers={"Host": host})
            assert ok.status_code == 200, (host, ok.text)
        for host in (f"evil.example:{port}", "127.0.0.1.evil.example", "", "localhost.evil"):
            refused = httpx.post(f"{open_url}/codec/decode", json=PLAIN, headers={"Host": host})
            assert_problem(refused, 401)
