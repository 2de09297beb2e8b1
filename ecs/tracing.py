"""OpenTelemetry traces: one trace from the HTTP request through Temporal into SQL and Redis.

Off by default, configured by the standard variables, like any OpenTelemetry service:
``OTEL_TRACES_EXPORTER=otlp`` (or ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) turns it on; spans go over OTLP/HTTP to that collector;
``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES`` and ``OTEL_BSP_*`` work as documented by
OpenTelemetry. ``OTEL_TRACES_EXPORTER=console`` prints spans to stdout (for a quick look).

What is traced when on:

* the API: every request (ASGI middleware, outermost), with the route template as span name;
* Temporal: ``temporalio.contrib.opentelemetry.TracingInterceptor`` on the one client factory
  (``ecs.temporal.client.connect``), so the API's start/update, the workflow and each activity
  (local ones included) join the request's trace through Temporal headers — also across
  processes and after a worker restart, since the context travels in the workflow history;
* SQL: each engine made by ``ecs.db.engine.make_engine``;
* Redis: every command (XADD on ingest, the consumer's reads and acknowledgements).

Trace and span ids appear in every JSON log line written inside a span (``ecs.logs``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from sqlalchemy import Engine

log = logging.getLogger("ecs.tracing")


@dataclass
class _State:
    enabled: bool = False


_state = _State()


def configured() -> bool:
    """True when the ``OTEL_*`` environment asks for traces."""
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def enabled() -> bool:
    return _state.enabled


def setup_tracing(component: str) -> bool:
    """Install the tracer provider and instrument Redis, once per process; False when off."""
    if _state.enabled:
        return True
    if not configured():
        return False
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SpanExporter,
    )

    service = os.environ.get("OTEL_SERVICE_NAME") or f"ecs-{component}"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter: SpanExporter
    if os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "console":
        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()  # endpoint and headers from OTEL_EXPORTER_OTLP_*
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    RedisInstrumentor().instrument()
    _state.enabled = True
    log.info("tracing on", extra={"service": service})
    return True


def instrument_engine(engine: Engine) -> None:
    """Trace the engine's statements (a no-op while tracing is off)."""
    if not _state.enabled:
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import get_meter

    usage = get_meter("ecs.db").create_up_down_counter(
        "db.client.connections.usage", unit="connections"
    )
    EngineTracer(trace.get_tracer("ecs.db"), engine, usage)  # type: ignore[no-untyped-call]


def temporal_interceptors() -> list[Any]:
    """Client interceptors (a worker built from the client inherits them)."""
    if not _state.enabled:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]


def asgi_middleware() -> Any:
    """The ASGI middleware class that opens a server span per request, when tracing is on."""
    if not _state.enabled:
        return None
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware
