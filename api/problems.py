"""RFC 9457 problem details for every error the API returns.

Clients (and the operator reading logs at 3 a.m.) get one shape for every failure: a stable
``type`` URI, a human ``title``, the HTTP ``status``, a ``detail`` and the request id to grep for.
"""

from __future__ import annotations

import logging
import math
import re
from http import HTTPStatus
from typing import Any

import redis.exceptions
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import RPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from ecs import errors
from ecs.logs import request_id_var

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://ecs.example/problems/"
log = logging.getLogger("ecs.api.errors")


class Problem(Exception):
    """Raise anywhere in a route to answer with a problem body."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        type_: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.type = type_ or _default_type(status)
        self.title = title or HTTPStatus(status).phrase
        self.headers = headers
        self.extra = extra


def _default_type(status: int) -> str:
    return TYPE_BASE + HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    type_: str | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_ or _default_type(status),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    request_id = request_id_var.get()
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


SECRET_FIELDS = re.compile(r"pass(word)?|secret|token|api[_-]?key|ledger[_-]?key", re.I)
MAX_ECHO_CHARS = 200


def _json_safe(value: Any, field: object = None) -> Any:
    """What of the submitted input a 422 may echo: never a secret (a password is named, not
    repeated), never a non-finite number (``NaN`` is not JSON: the encoder raised and turned a 422
    into a 500), and no more than a short prefix of a long string."""
    if isinstance(field, str) and SECRET_FIELDS.search(field):
        return "[redacted]"
    if isinstance(value, dict):
        return {k: _json_safe(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str) and len(value) > MAX_ECHO_CHARS:
        return value[:MAX_ECHO_CHARS] + "…"
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return _json_safe(str(value))


# The one table from domain errors to HTTP: services raise ``ecs.errors`` classes, never statuses.
DOMAIN_STATUS: dict[type[errors.DomainError], int] = {
    errors.InvalidInput: 422,
    errors.NotAuthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.RateLimited: 429,
    errors.Unavailable: 503,
}


# Dependency failures that reach a route unhandled: the dependency is down, not the request
# wrong, so each becomes the same 503 + Retry-After a service's ``errors.Unavailable`` would.
# (class, which dependency); a class is matched by ``isinstance``, in this order.
DEPENDENCY_DOWN: tuple[tuple[type[Exception], str], ...] = (
    (sqlalchemy.exc.OperationalError, "database"),  # server gone, refused, restarting, locked
    (sqlalchemy.exc.InterfaceError, "database"),  # connection closed under us
    (sqlalchemy.exc.TimeoutError, "database"),  # connection pool exhausted
    (RPCTimeoutOrCancelledError, "workflow engine"),
    (redis.exceptions.ConnectionError, "stream"),
    (redis.exceptions.TimeoutError, "stream"),
)
# Temporal RPC codes meaning "unreachable right now" (others are bugs or refusals).
_RPC_DOWN = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.UNKNOWN,
    }
)
DEPENDENCY_RETRY_AFTER = 5


def dependency_down(exc: Exception) -> errors.Unavailable | None:
    """The 503 an infrastructure exception stands for, or ``None`` when it is a real bug."""
    which = next((name for cls, name in DEPENDENCY_DOWN if isinstance(exc, cls)), None)
    if which is None and isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        which = "database"
    if which is None and isinstance(exc, RPCError) and exc.status in _RPC_DOWN:
        which = "workflow engine"
    if which is None:
        return None
    return errors.Unavailable(
        f"The {which} is unavailable; nothing was changed, retry shortly.",
        code=f"{which.replace(' ', '-')}-unavailable",
        title=f"{which.capitalize()} unavailable",
        retry_after=DEPENDENCY_RETRY_AFTER,
    )


def status_of(exc: errors.DomainError) -> int:
    for cls in type(exc).__mro__:
        status = DOMAIN_STATUS.get(cls)
        if status is not None:
            return status
    return 400


def domain_headers(exc: errors.DomainError) -> dict[str, str] | None:
    if isinstance(exc, errors.Unavailable | errors.RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
        if isinstance(exc.extra.get("location"), str):  # the resource was stored: poll it later
            headers["Location"] = exc.extra["location"]
        return headers
    if isinstance(exc, errors.NotAuthenticated):
        return {"WWW-Authenticate": "Bearer"}
    return None


def domain_problem(request: Request, exc: errors.DomainError) -> JSONResponse:
    return problem_response(
        request,
        status_of(exc),
        exc.detail,
        type_=TYPE_BASE + exc.code,
        title=exc.title,
        headers=domain_headers(exc),
        **exc.extra,
    )


def server_error(request: Request, exc: BaseException) -> JSONResponse:
    """The one 500: logged with its traceback, answered without details (the request id is the
    link between the two)."""
    log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
    return problem_response(request, 500, "An unexpected error occurred; it has been logged.")


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.DomainError)
    async def _domain(request: Request, exc: errors.DomainError) -> JSONResponse:
        return domain_problem(request, exc)

    async def _dependency(request: Request, exc: Exception) -> JSONResponse:
        unavailable = dependency_down(exc)
        if unavailable is None:
            return server_error(request, exc)
        log.warning(
            "dependency unavailable",
            extra={"path": request.url.path, "error": f"{type(exc).__name__}: {exc}"},
        )
        return domain_problem(request, unavailable)

    infrastructure: list[type[Exception]] = [sqlalchemy.exc.DBAPIError, RPCError]
    for cls in [*infrastructure, *(down for down, _ in DEPENDENCY_DOWN)]:
        app.add_exception_handler(cls, _dependency)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            request,
            exc.status,
            exc.detail,
            type_=exc.type,
            title=exc.title,
            headers=exc.headers,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": list(err.get("loc", ())),
                "msg": err.get("msg", ""),
                "type": err.get("type", ""),
                "input": (
                    _json_safe(err.get("input"), (err.get("loc") or [None])[-1])
                    if err.get("type") != "missing"
                    else None
                ),
            }
            for err in exc.errors()
        ]
        return problem_response(
            request,
            422,
            f"{len(errors)} validation error(s) in the request",
            type_=TYPE_BASE + "validation-error",
            title="Request validation failed",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(
            request, exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Only reached if RequestContextMiddleware did not answer first (it renders the 500
        # inside the request's context, with its request id).
        return server_error(request, exc)
