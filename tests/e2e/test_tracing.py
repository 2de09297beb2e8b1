"""One trace from the HTTP request through Temporal into the activities' SQL, across processes.

The API and the worker run as real ``ecs`` processes configured only by the standard ``OTEL_*``
variables; they export over OTLP/HTTP to a collector this test runs in-process, which is where
the spans are examined.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ecs.settings import Settings
from tests.ledger import entry, feed_sync
from tests.support import free_port, wait_for

pytestmark = pytest.mark.e2e


class Collector:
    """A minimal OTLP/HTTP trace receiver: keeps every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                with collector.lock:
                    for resource in request.resource_spans:
                        service = next(
                            a.value.string_value
                            for a in resource.resource.attributes
                            if a.key == "service.name"
                        )
                        for scope in resource.scope_spans:
                            for span in scope.spans:
                                collector.spans.append(
                                    {
                                        "service": service,
                                        "name": span.name,
                                        "trace": span.trace_id.hex(),
                                        "id": span.span_id.hex(),
                                        "parent": span.parent_span_id.hex(),
                                        "attributes": {a.key for a in span.attributes},
                                    }
                                )
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.spans)


@pytest.fixture
def traced_stack(settings: Settings, redis_url: str) -> Iterator[tuple[str, Collector]]:
    collector = Collector()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECS_", "OTEL_"))}
    env |= {
        "ECS_DATABASE_URL": settings.effective_database_url,
        "ECS_REDIS_URL": redis_url,
        "ECS_TEMPORAL_ADDRESS": settings.temporal_address,
        "ECS_TEMPORAL_TASK_QUEUE": f"traced-{uuid.uuid4().hex[:8]}",
        "ECS_PAYLOAD_KEY": settings.payload_key.get_secret_value(),
        "ECS_WORKER_METRICS_PORT": "0",
        "ECS_LOG_LEVEL": "WARNING",
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.url,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    processes = [
        subprocess.Popen([sys.executable, "-m", "ecs", "worker"], env=env),
        subprocess.Popen([sys.executable, "-m", "ecs", "api", "--port", str(port)], env=env),
    ]
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, timeout=30, message="the traced API to answer")
        yield url, collector
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        collector.server.shutdown()


def _customer(url: str) -> dict[str, str]:
    email, password = f"traced-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery"
    created = httpx.post(
        f"{url}/v1/auth/register",
        json={"email": email, "password": password, "consent_emotion_processing": True},
    )
    assert created.status_code == 201, created.text
    now = datetime.now(UTC)
    feed_sync(
        url,
        [
            entry(created.json()["id"], amount, direction, now - timedelta(days=30 * m + 2))
            for m in range(4)
            for amount, direction in (("5000.00", "in"), ("2000.00", "out"))
        ],
    )
    token = httpx.post(f"{url}/v1/auth/token", data={"username": email, "password": password})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _is_sql(span: dict[str, Any]) -> bool:
    return any(key.startswith("db.") for key in span["attributes"])


def test_one_trace_spans_api_workflow_activity_and_sql(
    traced_stack: tuple[str, Collector],
) -> None:
    url, collector = traced_stack
    headers = _customer(url)
    decided = httpx.post(f"{url}/v1/credit-decisions?wait=15", headers=headers, timeout=30)
    assert decided.status_code in (200, 201), decided.text

    def the_trace() -> list[dict[str, Any]] | None:
        spans = collector.snapshot()
        roots = [
            s
            for s in spans
            if s["service"] == "ecs-api" and s["name"].startswith("POST /v1/credit-decisions")
        ]
        for root in roots:
            trace = [s for s in spans if s["trace"] == root["trace"]]
            names = {s["name"].split(":")[0] for s in trace}
            sql = [s for s in trace if s["service"] == "ecs-worker" and _is_sql(s)]
            if {"RunWorkflow", "RunActivity"} <= names and sql:
                return trace
        return None

    trace = wait_for(the_trace, timeout=20, message="one trace from API to the worker's SQL")
    by_id = {s["id"]: s for s in trace}

    def ancestors(span: dict[str, Any]) -> list[str]:
        chain = []
        while span["parent"] in by_id:
            span = by_id[span["parent"]]
            chain.append(span["name"].split(":")[0])
        return chain

    worker_sql = [s for s in trace if s["service"] == "ecs-worker" and _is_sql(s)]
    assert any("RunActivity" in ancestors(s) for s in worker_sql), trace
    assert {s["service"] for s in trace} >= {"ecs-api", "ecs-worker"}
