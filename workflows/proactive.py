"""``ProactiveOffersWorkflow``: one run of the proactive-offers schedule.

Selects the eligible users (bounded), then starts a decision for each, concurrently, each its
own activity so the Web UI shows who was offered and a failed start is retried alone. A start
that keeps failing (Temporal or the database down for minutes) is given up after its retries and
counted out: the next run selects that user again, since they still have no open decision.
Each user's idempotency key is derived from this run's workflow id, so a retried start never
makes a second decision. Decisions are not children: they outlive the run and are addressed by
their own business-key ids, like the ones the API starts.

From the ``REEVALUATION_PATCH`` on, the run also starts one ``CreditLineReviewWorkflow`` per
active line due for re-evaluation (``workflows.credit_line``); runs recorded before it replay
without.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from ecs.credit_lines.contract import (
        REEVALUATION_PATCH,
        CreditLines,
        DueInput,
        ReviewInput,
        review_workflow_id,
    )
    from ecs.proactive.contract import (
        WORKFLOW_NAME,
        Proactive,
        ProactiveInput,
        ProactiveSummary,
        SelectInput,
        StartInput,
    )
    from workflows.credit_line import CreditLineReviewWorkflow

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
        reviews = 0
        if workflow.patched(REEVALUATION_PATCH):
            reviews = await self._start_reviews(run_id, inp.user_ids)
        summary = ProactiveSummary(selected=len(users), started=started, reviews=reviews)
        workflow.set_current_details(
            f"{started} decisions started of {len(users)} selected; {reviews} line reviews started"
        )
        return summary

    async def _start_reviews(self, run_id: str, among: list[str] | None) -> int:
        """One ``CreditLineReviewWorkflow`` per due line, abandoned: a review outlives the run
        (a notice lasts weeks). Its id is the line's and this run's, so it is never doubled."""
        lines = await workflow.execute_activity_method(
            CreditLines.select_due_lines,
            DueInput(account_ids=among),
            start_to_close_timeout=SELECT_TIMEOUT,
        )
        for account_id in lines:
            await workflow.start_child_workflow(
                CreditLineReviewWorkflow.run,
                ReviewInput(account_id=account_id),
                id=review_workflow_id(account_id, run_id),
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary="Credit-line re-evaluation",
                static_details="Re-scores an active line by the decisions' policy: a decrease "
                "with notice, an increase offered for acceptance, or no change.",
            )
        return len(lines)
