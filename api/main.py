"""FastAPI application factory.

The app is deliberately thin: it authenticates, validates and hands work to Temporal (decisions),
Redis (emotion readings) or the database (reads). Business rules live in ``ecs.domain`` and the
workflow, so the API can be scaled or restarted freely without losing work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.routing import Route

from api.body_limit import BodyLimitMiddleware
from api.metrics import RequestMetrics, metrics_endpoint
from api.middleware import RequestContextMiddleware, ScopedCORSMiddleware
from api.problems import install_problem_handlers
from api.resources import Resources
from api.routes import codec, emotions, health, insights, workbench
from api.routes.docs import install_docs
from ecs.heap import startup_heap_frozen
from ecs.settings import Settings, get_settings
from ecs.tracing import asgi_middleware, setup_tracing

INGEST_PATH = "/v1/emotions"
API_DESCRIPTION = """
The Empathic Credit System API. Authenticate with **Authorize** (OAuth2 password flow) after
registering with `POST /v1/auth/register`. Every error is an RFC 9457 problem body.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.resources = Resources.create(settings)
        try:
            with startup_heap_frozen():
                yield
        finally:
            await app.state.resources.close()

    app = FastAPI(
        title="Empathic Credit System",
        version="0.1.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        # Traces come from ecs.tracing's ASGI middleware (below), configured like every other
        # process's; FastAPI's own would add a second server span, and asking the OpenTelemetry
        # globals whether it is on cost each request ~10 µs (three environment look-ups).
        telemetry={"tracing": False, "metrics": False, "logs": False},
        docs_url=None,  # FastAPI's pages load from a CDN: api/routes/docs.py serves them offline
        redoc_url=None,
    )
    install_docs(app)
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, settings=settings, ingest_path=INGEST_PATH)
    app.add_middleware(
        ScopedCORSMiddleware,
        prefixes=("/codec",),
        allow_origins=settings.cors_origins,
        allow_methods=["POST", "OPTIONS"],
        allow_headers=["*"],
        allow_credentials=True,
    )
    app.add_middleware(RequestContextMiddleware, metrics=RequestMetrics())
    setup_tracing("api")
    tracing = asgi_middleware()
    if tracing is not None:  # outermost: the server span encloses everything, logs included
        app.add_middleware(tracing, exclude_spans=["receive", "send"])
    # The ingest firehose is served by a plain Starlette route matched before anything else.
    # Its handler authenticates, parses and validates the body itself, so FastAPI's per-request
    # machinery (included-router matching, dependency solving, exit stacks) bought nothing and
    # cost ~25 % of its throughput (wrk, 2 cores). The FastAPI route stays, after it, only so the
    # endpoint is documented in OpenAPI; a test checks both share one handler.
    app.router.routes[:0] = [
        Route(INGEST_PATH, emotions.ingest_emotions, methods=["POST"], name="ingest_fast_path"),
        *emotions.router.routes,
    ]
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.include_router(health.router)
    app.include_router(codec.router)
    app.include_router(insights.page_router)
    app.include_router(workbench.page_router)
    for router in _v1_routers():
        app.include_router(router, prefix="/v1")
    return app


def _v1_routers() -> list[APIRouter]:
    """Resource routers; imported here so a module missing a router fails loudly at start."""
    from api.routes import (
        auth,
        credit_lines,
        decisions,
        events,
        ledger,
        me,
        privacy,
        reviews,
        transactions,
    )

    return [
        auth.router,
        transactions.router,
        ledger.router,
        decisions.router,
        reviews.router,
        insights.router,
        me.router,
        credit_lines.router,
        events.router,
        privacy.router,
    ]
