"""Decision metrics, recorded from workflow code through the SDK's replay-safe meter.

``workflow.metric_meter()`` emits nothing while a history is replayed, so a worker restart that
replays a thousand open decisions does not count them again, and no metric call is a command in
the history (replays of committed histories are unaffected). The worker's Temporal runtime
serves them on its Prometheus endpoint (``ecs.observability``), beside the SDK's own metrics.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from ecs import observability as names


def decision_started() -> None:
    workflow.metric_meter().create_counter(
        names.DECISIONS_STARTED, "Credit decision workflows started"
    ).add(1)


def decision_outcome(outcome: str) -> None:
    """The automated outcome (APPROVED, DENIED, REFERRED); referrals are the REFERRED ones."""
    workflow.metric_meter().create_counter(
        names.DECISION_OUTCOMES, "Automated credit decision outcomes"
    ).add(1, {"outcome": outcome})


def cooling_off_paused() -> None:
    workflow.metric_meter().create_counter(
        names.COOLING_OFF_PAUSES, "Cooling-off pauses started (acute distress)"
    ).add(1)


def request_to_offer(elapsed: timedelta) -> None:
    workflow.metric_meter().create_histogram_timedelta(
        names.REQUEST_TO_OFFER, "From the workflow's start to an offer", "duration"
    ).record(elapsed)


def accept_to_active(elapsed: timedelta) -> None:
    workflow.metric_meter().create_histogram_timedelta(
        names.ACCEPT_TO_ACTIVE, "From the accept update to the credit line deployed", "duration"
    ).record(elapsed)
