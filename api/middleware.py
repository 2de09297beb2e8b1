"""Request-id propagation and one structured access-log line per request.

Every response carries ``X-Request-ID`` (the caller's, when well-formed, else a new one), and
every problem body its ``request_id``. That includes the 500 for an unhandled error: it is
rendered here, inside the request's context, because Starlette's own last-resort handler runs
outside every middleware, after the request id is gone.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import RequestMetrics
from api.problems import server_error
from ecs.contracts import workflow_id_for
from ecs.logs import request_id_var, user_id_var

log = logging.getLogger("ecs.api.access")
# Successful calls of the ingest firehose are logged at DEBUG: at thousands of requests a second
# one JSON line each cost ~13 % of the endpoint's throughput and drown every other line. Its
# failures are still logged at INFO, and the stream consumer logs every batch it commits.
QUIET_PATHS = frozenset({"/v1/emotions"})
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContextMiddleware:
    """Pure ASGI (not BaseHTTPMiddleware) so it adds no per-request task or body buffering."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        rid_token = request_id_var.set(request_id)
        uid_token = user_id_var.set(None)
        started = time.perf_counter()
        status = 500
        started_response = False
        if self.metrics is not None:
            self.metrics.started()

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status, started_response = message["status"], True
                message.setdefault("headers", [])
                message["headers"].append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if started_response:  # too late for a problem body: let the server abort the reply
                raise
            await server_error(Request(scope), exc)(scope, receive, send_with_id)
        finally:
            if self.metrics is not None:
                self.metrics.finished(scope, status, time.perf_counter() - started)
            path = scope.get("path", "")
            level = logging.DEBUG if path in QUIET_PATHS and status < 400 else logging.INFO
            if not path.startswith(("/healthz", "/readyz")) and log.isEnabledFor(level):
                log.log(
                    level,
                    "request",
                    extra={
                        "method": scope.get("method"),
                        "path": path,
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        **_decision_ids(scope),
                    },
                )
            user_id_var.reset(uid_token)
            request_id_var.reset(rid_token)


def _decision_ids(scope: Scope) -> dict[str, str]:
    """The decision a request touched (its path parameter), so every API line about a decision
    carries ``decision_id`` and ``workflow_id`` to grep for, like the worker's lines do."""
    decision_id = (scope.get("path_params") or {}).get("decision_id")
    if not isinstance(decision_id, str) or not decision_id:
        return {}
    return {"decision_id": decision_id, "workflow_id": workflow_id_for(decision_id)}


class ScopedCORSMiddleware:
    """CORS only where a browser calls us: the Temporal Web UI fetching ``/codec``.

    Starlette's CORS middleware on the whole app cost ~40 % of the throughput of the hottest
    endpoint (``POST /v1/emotions``) for nothing: the mobile app and services are not browsers.
    """

    def __init__(self, app: ASGIApp, /, *, prefixes: tuple[str, ...], **cors: Any) -> None:
        self.app = app
        self.prefixes = prefixes
        self.cors = CORSMiddleware(app, **cors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefixes):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
