"""Request-body limits, enforced while the body is read: declared, chunked or lying.

Checking ``Content-Length`` alone let a 100 MB chunked upload through (202), and routes without a
check parsed 100 MB bodies into memory. This pure ASGI middleware counts the bytes of every
``http.request`` message as the server hands them over, on every route, so nothing past the
limit is ever buffered by the app:

* a declared ``Content-Length`` above the limit is answered 413 before the app runs;
* a body that grows past the limit mid-stream is answered 413 at that moment, and the app's
  read raises ``BodyTooLarge`` so it stops; whatever it sends afterwards is dropped.

Routes have one default limit, and named paths their own (the emotion ingest batches and the
ledger feed are larger). Pure ASGI, not ``BaseHTTPMiddleware``: the ingest hot path pays one
integer addition per received chunk, no task and no copy.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import TYPE_BASE, problem_response
from api.routes.emotions import MAX_BODY_BYTES as INGEST_MAX_BODY_BYTES
from api.routes.ledger import LEDGER_PATH
from ecs.settings import Settings


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once the body passes the limit (the 413 is already sent)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes.")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings, ingest_path: str) -> None:
        self.app = app
        self.default = settings.max_body_bytes
        self.per_path = {
            ingest_path: INGEST_MAX_BODY_BYTES,
            LEDGER_PATH: settings.ledger_max_body_bytes,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.default)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(scope, receive, send, limit)
            return
        received = 0
        started = refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if not started and not refused:
                        refused = True
                        await _too_large(scope, receive, send, limit)
                    raise BodyTooLarge(limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out already; the app's own answer is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            if not refused:
                raise


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    response = problem_response(
        Request(scope),
        413,
        f"The request body is larger than {limit} bytes; send less (or smaller batches).",
        type_=TYPE_BASE + "body-too-large",
        title="Request body too large",
        headers={"Connection": "close"},
        limit=limit,
    )
    await response(scope, receive, send)
