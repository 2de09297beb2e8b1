"""The API's Prometheus metrics: requests by route template, latency, in flight, and ingest.

What an operator asks first — is it up, is it slow, is it failing, are readings getting in — in
the text exposition format at ``GET /metrics``:

* ``ecs_api_requests_total{route,method,status}`` and ``ecs_api_request_duration_seconds``
  (histogram) by route *template* (``/v1/credit-decisions/{decision_id}``), never the raw path,
  so a scan of random ids cannot explode the number of series;
* ``ecs_api_requests_in_flight``;
* ``ecs_ingest_readings_accepted_total`` and ``ecs_ingest_requests_refused_total{reason}``
  (the problem type of the refusal: ``consent-required``, ``validation-error``, ...);
* ``ecs_review_queue_size``: decisions waiting for an analyst (REFERRED, CONTESTED, CONFIRMING;
  from the database).

Cost on the ingest hot path: recorded by the request-context middleware that already wraps
every response (no ASGI layer of its own), with one cached labelled child per (route, method,
status); ``bench/metrics_overhead.py`` measures the whole request with and without them.

Several uvicorn workers (``ecs api --workers N``) each count in their own process; with
``PROMETHEUS_MULTIPROC_DIR`` set (``ecs api`` sets it when N > 1) prometheus_client keeps the
values in shared files and ``/metrics`` merges them, so no worker's counts are lost.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from ecs.clock import Clock, monotonic
from ecs.db.tables import CreditDecision
from ecs.domain.status import REVIEW_QUEUE_STATUSES

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUESTS = Counter(
    "ecs_api_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "ecs_api_request_duration_seconds",
    "Time from request to the end of the response, by route template and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
IN_FLIGHT = Gauge(
    "ecs_api_requests_in_flight",
    "Requests being handled right now.",
    multiprocess_mode="livesum",
)
READINGS_ACCEPTED = Counter(
    "ecs_ingest_readings_accepted",
    "Emotion readings acknowledged with 202 (durably in the stream).",
)
INGEST_REFUSED = Counter(
    "ecs_ingest_requests_refused",
    "Ingest requests refused, by the problem type of the answer.",
    ["reason"],
)

REVIEW_QUEUE = Gauge(
    "ecs_review_queue_size",
    "Credit decisions waiting for an analyst (REFERRED, CONTESTED, CONFIRMING), from the database.",
    multiprocess_mode="max",
)
REVIEW_QUEUE_REFRESH_SECONDS = 15.0

UNMATCHED = "unmatched"


class RequestMetrics:
    """Counts and times requests; called by ``api.middleware.RequestContextMiddleware``, which
    already wraps every response and times it, so the metrics add no ASGI layer of their own.

    One labelled child per (route, method, status) is cached: a request costs two dictionary
    lookups, a counter increment, a histogram observation and the in-flight gauge (~2 µs)."""

    def __init__(self) -> None:
        self._requests: dict[tuple[str, str, int], Any] = {}
        self._latency: dict[tuple[str, str], Any] = {}

    def started(self) -> None:
        IN_FLIGHT.inc()

    def finished(self, scope: Scope, status: int, seconds: float) -> None:
        IN_FLIGHT.dec()
        template = route_template(scope)
        method = scope.get("method", "")
        key = (template, method, status)
        counter = self._requests.get(key)
        if counter is None:
            counter = self._requests[key] = REQUESTS.labels(template, method, str(status))
        counter.inc()
        timer = self._latency.get(key[:2])
        if timer is None:
            timer = self._latency[key[:2]] = LATENCY.labels(template, method)
        timer.observe(seconds)


def route_template(scope: Scope) -> str:
    """The matched route's path template, prefixes included; ``unmatched`` for a 404 path.

    FastAPI records the effective route (with the ``/v1`` prefix of an included router) in
    ``scope["fastapi"]``; ``scope["route"]`` holds the router-relative path. Plain Starlette
    routes (the ingest fast path, ``/metrics``) have static paths, so their path is the template.
    """
    effective = scope.get("fastapi", {}).get("effective_route_context")
    path = getattr(effective, "path", None) or getattr(scope.get("route"), "path", None)
    if path:
        return str(path)
    return str(scope.get("path", UNMATCHED)) if "endpoint" in scope else UNMATCHED


def exposition() -> bytes:
    """Every metric of this process, or of all worker processes in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


class ReviewQueueSampler:
    """Counts the review queue at most every ``REVIEW_QUEUE_REFRESH_SECONDS`` (one indexed
    COUNT), so scrapes from several Prometheus servers never load the database."""

    def __init__(self, engine: Engine, clock: Clock = monotonic) -> None:
        self.engine = engine
        self.clock = clock
        self._next: float | None = None  # None: never sampled, due now

    async def refresh(self) -> None:
        now = self.clock()
        if self._next is not None and now < self._next:
            return
        self._next = now + REVIEW_QUEUE_REFRESH_SECONDS
        try:
            REVIEW_QUEUE.set(await asyncio.to_thread(self._count))
        except SQLAlchemyError:  # the database is down: /readyz says so; keep the last value
            return

    def _count(self) -> int:
        query = select(func.count()).where(
            col(CreditDecision.status).in_(list(REVIEW_QUEUE_STATUSES))
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())


async def metrics_endpoint(request: Request) -> Response:
    sampler: ReviewQueueSampler | None = getattr(request.app.state, "review_queue", None)
    if sampler is None:
        sampler = request.app.state.review_queue = ReviewQueueSampler(
            request.app.state.resources.engine
        )
    await sampler.refresh()
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
