"""The worker's metrics: names in one place, exported through the Temporal SDK's own runtime.

The worker has no HTTP server of its own, and its decision metrics are recorded *inside*
workflow code, which must stay deterministic. The Temporal SDK solves both: its runtime serves
Prometheus (``ECS_WORKER_METRICS_PORT``) with the SDK's telemetry (workflow task latency,
schedule-to-start, activity failures, sticky cache), and ``workflow.metric_meter()`` records
custom metrics that are skipped during replay, so a replayed history never counts twice.

Counters from the SDK's meter carry no ``_total`` suffix; durations are in seconds.
"""

from __future__ import annotations

import logging

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

log = logging.getLogger("ecs.observability")

DECISIONS_STARTED = "ecs_decisions_started"
DECISION_OUTCOMES = "ecs_decision_outcomes"  # label: outcome (APPROVED, DENIED, REFERRED, ...)
COOLING_OFF_PAUSES = "ecs_cooling_off_pauses"
REQUEST_TO_OFFER = "ecs_request_to_offer_seconds"
ACCEPT_TO_ACTIVE = "ecs_accept_to_active_seconds"
MODEL_BREAKER_OPEN = "ecs_model_breaker_open"

# The SDK's own metrics that the dashboard and the alert rules use.
SDK_METRICS = (
    "temporal_workflow_task_schedule_to_start_latency",
    "temporal_workflow_task_execution_latency",
    "temporal_activity_schedule_to_start_latency",
    "temporal_activity_execution_latency",
    "temporal_activity_execution_failed",
)

WORKER_METRICS = frozenset(
    {
        DECISIONS_STARTED,
        DECISION_OUTCOMES,
        COOLING_OFF_PAUSES,
        REQUEST_TO_OFFER,
        ACCEPT_TO_ACTIVE,
        MODEL_BREAKER_OPEN,
        *SDK_METRICS,
    }
)


def metrics_runtime(host: str, port: int) -> Runtime:
    """A Temporal runtime serving Prometheus on ``host:port`` (durations in seconds)."""
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=f"{host}:{port}", durations_as_seconds=True)
        )
    )


def worker_runtime(host: str, port: int) -> Runtime | None:
    """The worker's runtime, or None (the SDK's default) when the port is 0 or taken: a worker
    without metrics still works, so a second worker on one host logs it and carries on."""
    if not port:
        return None
    try:
        runtime = metrics_runtime(host, port)
    except Exception as exc:  # the SDK's core raises a plain RuntimeError when the bind fails
        log.warning("worker metrics endpoint not started", extra={"error": str(exc)})
        return None
    log.info("metrics endpoint listening", extra={"url": f"http://{host}:{port}/metrics"})
    return runtime
