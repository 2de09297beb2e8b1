"""``ProactiveOffersWorkflow``: one run of the proactive-offers schedule.

Selects the eligible users (bounded), then starts a decision for each, concurrently, each its
own activity so the Web UI shows who was offered and a failed start is retried alone. A start
that keeps failing (Temporal or the database down for minutes) is given up after its retries and
counted out: the next run selects that user again, since they still have no open decision.
Each user's idempotency key is derived from this run's workflow id, so a retried start never
makes a second decision. Decisions are not children: they outlive the run and are addressed by
their own business-key ids, like the ones the API starts.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from ecs.proactive.contract import (
        WORKFLOW_NAME,
        Proactive,
        ProactiveInput,
        ProactiveSummary,
        SelectInput,
        StartInput,
    )

SELECT_TIMEOUT = timedelta(seconds=60)
START_TIMEOUT = timedelta(seconds=30)
START_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
)


@workflow.defn(name=WORKFLOW_NAME)
class ProactiveOffersWorkflow:
    @workflow.run
    async def run(self, inp: ProactiveInput) -> ProactiveSummary:
        users = await workflow.execute_activity_method(
            Proactive.select_eligible,
            SelectInput(limit=inp.limit, user_ids=inp.user_ids),
            start_to_close_timeout=SELECT_TIMEOUT,
        )
        workflow.set_current_details(f"starting decisions for {len(users)} eligible users")
        run_id = workflow.info().workflow_id
        results = await asyncio.gather(
            *(
                workflow.execute_activity_method(
                    Proactive.start_decision,
                    StartInput(user_id=user, idempotency_key=f"proactive:{run_id}"),
                    start_to_close_timeout=START_TIMEOUT,
                    retry_policy=START_RETRY,
                )
                for user in users
            ),
            return_exceptions=True,
        )
        started = 0
        for user, result in zip(users, results, strict=True):
            if isinstance(result, ActivityError):
                workflow.logger.warning("no proactive decision started", extra={"user_id": user})
            elif isinstance(result, BaseException):
                raise result
            elif result.created:
                started += 1
        summary = ProactiveSummary(selected=len(users), started=started)
        workflow.set_current_details(f"{started} decisions started of {len(users)} selected")
        return summary
