"""Body limits hold while the body is read, over real HTTP: declared, chunked, on every route.

A raw socket sends chunked bodies the way a hostile client would (no ``Content-Length`` to
check), chunk after chunk, until the server answers; the answer must be a 413 problem long
before the body ends.
"""

from __future__ import annotations

import json
import select
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from api.routes.emotions import MAX_BODY_BYTES as INGEST_LIMIT
from ecs.settings import Settings
from tests import ledger
from tests.api.conftest import Account, assert_problem

CHUNK = b"x" * 16384


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    sent: int


def _read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        assert more, f"connection closed before a response: {data!r}"
        data += more
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        more = sock.recv(65536)
        if not more:
            break
        rest += more
    return int(status_line.split()[1]), headers, rest[:length]


def _send_chunked(
    api_url: str, path: str, *, headers: dict[str, str] | None = None, up_to: int
) -> Answer:
    """Stream chunks until the server answers (or ``up_to`` bytes went out), then read it."""
    url = urlsplit(api_url)
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
        f"Transfer-Encoding: chunked\r\n{extra}\r\n"
    )
    sent = 0
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(head.encode())
        try:
            while sent < up_to:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break  # the server has answered mid-body
                sock.sendall(f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n")
                sent += len(CHUNK)
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading; its answer is still in our receive buffer
        status, response_headers, body = _read_answer(sock)
    return Answer(status, response_headers, json.loads(body) if body else {}, sent)


def _assert_413(answer: Answer, limit: int) -> None:
    assert answer.status == 413, answer
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.body["status"] == 413 and answer.body["limit"] == limit
    assert answer.body["type"].endswith("/body-too-large") and answer.body["request_id"]
    # Answered long before the 100 MB upload ended (what the client wrote includes the few MB
    # that loopback socket buffers hold on both sides, so the bound is loose).
    assert answer.sent < 32 * 1024 * 1024, answer.sent


def test_chunked_body_past_the_limit_is_413_on_an_unauthenticated_route(
    api_url: str, settings: Settings
) -> None:
    answer = _send_chunked(api_url, "/v1/auth/register", up_to=100 * 1024 * 1024)
    _assert_413(answer, settings.max_body_bytes)


def test_chunked_ingest_past_its_limit_is_413_not_202(api_url: str, customer: Account) -> None:
    answer = _send_chunked(
        api_url, "/v1/emotions", headers=customer.headers, up_to=100 * 1024 * 1024
    )
    _assert_413(answer, INGEST_LIMIT)


def test_declared_length_past_the_limit_is_413_before_the_body(
    api_url: str, settings: Settings, customer: Account
) -> None:
    url = urlsplit(api_url)
    for path, limit in (
        ("/v1/credit-decisions", settings.max_body_bytes),
        (ledger.LEDGER_URL, settings.ledger_max_body_bytes),
    ):
        with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                f"Authorization: Bearer {customer.token}\r\n"
                f"Content-Length: {limit + 1}\r\n\r\n".encode()
            )  # and not one byte of the body
            status, _, body = _read_answer(sock)
        assert status == 413, body
        assert json.loads(body)["limit"] == limit


def test_bodies_within_their_limits_pass(
    api_url: str, settings: Settings, customer: Account
) -> None:
    # Chunked and small: the route answers as usual (422: it is not a valid registration).
    answer = _send_chunked(api_url, "/v1/auth/register", up_to=len(CHUNK))
    assert answer.status == 422, answer
    # The ingest and ledger routes take bodies far above the default limit.
    big = {"readings": [{"kind": "calm", "metrics": {}, "pad": "x" * 1000}] * 200}
    response = httpx.post(f"{api_url}/v1/emotions", json=big, headers=customer.headers)
    assert len(response.request.content) > settings.max_body_bytes
    assert_problem(response, 422)
    entries = [
        {**ledger.entry(customer.id, "1.00", "in", datetime.now(UTC)), "description": "d" * 200}
        for _ in range(400)
    ]
    fed = httpx.post(
        api_url + ledger.LEDGER_URL, json={"transactions": entries}, headers=ledger.LEDGER_HEADERS
    )
    assert len(fed.request.content) > settings.max_body_bytes
    assert fed.status_code == 200, fed.text
