"""Timeouts and retry policies of the credit workflow's activities, and why they are what they are.

Changing a value here changes how running decisions retry, not their histories: retry policies
travel with each scheduled activity, so no replay guard is needed.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.interface import NOT_FOUND, OFFER_NOT_ACCEPTED

DB_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=[NOT_FOUND, OFFER_NOT_ACCEPTED],
)
# About 7 s of retries: long enough to ride out a blip, short enough that a user is not left
# waiting on a dead model. The model client's circuit breaker re-probes sooner than the last
# retry (ecs/risk/breaker.py, pinned by tests/unit/test_breaker.py), so a blip shorter than
# the budget never refers a decision.
MODEL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=4),
    maximum_attempts=4,
)
SHORT = timedelta(seconds=30)
MODEL_TIMEOUT = timedelta(seconds=10)
# Local-activity retries that back off longer than this wait on a durable timer instead of
# inside the workflow task, so queries and updates keep being answered during an outage.
LOCAL_RETRY_THRESHOLD = timedelta(milliseconds=500)


def retry_delays(policy: RetryPolicy) -> list[float]:
    """Seconds between the attempts a policy allows (its whole backoff schedule)."""
    assert policy.maximum_attempts > 0, "an unbounded policy has no finite schedule"
    delays, delay = [], policy.initial_interval.total_seconds()
    cap = policy.maximum_interval.total_seconds() if policy.maximum_interval else float("inf")
    for _ in range(policy.maximum_attempts - 1):
        delays.append(min(delay, cap))
        delay *= policy.backoff_coefficient
    return delays
