"""Human review inside a decision: waiting for an analyst (a referral or a contest), the
deadline that escalates it, the four-eyes proposal and its confirmation, and the window in
which an automated denial can be contested.

``CreditDecisionWorkflow`` inherits these, as it inherits its activity calls from
``DecisionSteps``, so its own module reads as the process. Everything here runs only with
``DecisionInput.review_rules`` (decisions started by this version); decisions started before
wait for their referral's review exactly as they were recorded. Workflow code: deterministic,
no I/O of its own.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.interface import INVALID_REVIEW
    from ecs.contracts import ConfirmRequest, ReviewRequest
    from ecs.domain.status import DecisionStatus, RecordKind
    from workflows import summary
    from workflows.steps import DecisionSteps


class ReviewSteps(DecisionSteps):
    async def _await_review(self) -> None:
        """Wait for an analyst (a referral or a contest); a review the database refuses is
        dropped, never retried forever, so the decision stays in the queue and the next valid
        review resolves it. With review rules: past its deadline the review is escalated, and
        an approval above the four-eyes limit waits for a second analyst (CONFIRMING)."""
        s, rules = self._s, self._input.review_rules
        while True:
            await self._wait_for_reviewer()
            if s.review is None and s.confirmation is None:
                await self._continue_as_new_if(lambda: s.review is None and s.confirmation is None)
                continue
            try:
                if s.confirmation is not None:
                    if await self._apply_confirmation(s.confirmation):
                        return
                    continue
                assert s.review is not None
                if (
                    rules is not None
                    and s.review.approve
                    and (rules.needs_second_analyst(s.review.credit_limit))
                ):
                    await self._propose(s.review)
                    continue
                await self._approve(review=s.review)
                return
            except (ActivityError, ApplicationError) as exc:
                if _failure_type(exc) != INVALID_REVIEW:
                    raise
                s.review_error = str(exc.cause or exc)
                s.review = s.confirmation = None
                workflow.set_current_details(summary.details_of(s))

    async def _wait_for_reviewer(self) -> None:
        """Until a review or a confirmation arrives; the deadline's timer escalates, once."""
        s = self._s

        def arrived() -> bool:
            return s.review is not None or s.confirmation is not None or self._history_full()

        due = s.review_due_at
        if self._input.review_rules is None or s.escalated or due is None:
            await workflow.wait_condition(arrived)
            return
        if due > workflow.now():
            try:
                await workflow.wait_condition(
                    arrived,
                    timeout=(due - workflow.now()).total_seconds(),
                    timeout_summary="review deadline",
                )
                return
            except TimeoutError:
                pass
        await self._escalate()
        s.escalated = True
        workflow.set_current_details(summary.details_of(s))

    async def _propose(self, review: ReviewRequest) -> None:
        """Four-eyes, first pair: record the proposal; the offer waits for a second analyst."""
        s = self._s
        s.proposals += 1
        await self._record_review_step(RecordKind.PROPOSAL, review, DecisionStatus.CONFIRMING)
        s.proposal, s.review, s.review_error = review, None, None
        self._set_status(DecisionStatus.CONFIRMING)

    async def _apply_confirmation(self, confirmation: ConfirmRequest) -> bool:
        """Four-eyes, second pair: confirmed, the proposal is applied (True); rejected, the
        decision goes back to the queue for a new review (False)."""
        s = self._s
        assert s.proposal is not None and s.queue_status is not None
        if confirmation.confirm:
            await self._approve(review=s.proposal, confirmation=confirmation)
            s.proposal = s.confirmation = None
            return True
        await self._record_review_step(RecordKind.CONFIRMATION, confirmation, s.queue_status)
        s.proposal = s.confirmation = None
        self._set_status(s.queue_status)
        return False

    async def _contested_in_window(self) -> bool:
        """After an automated denial (with review rules): wait out the contest window. True
        when the customer contested (the decision is back in the review queue)."""
        s, rules = self._s, self._input.review_rules
        if rules is None or s.reviewed or s.contest is not None or s.contest_open_until is None:
            return False  # the window opened with the denial (``_approve``), if there is one
        until = s.contest_open_until
        while s.contest is None:
            remaining = (until - workflow.now()).total_seconds()
            if remaining <= 0:
                if not s.contest_pending:
                    return False
                await workflow.wait_condition(lambda: not s.contest_pending)
                continue
            try:
                await workflow.wait_condition(
                    lambda: s.contest is not None or self._history_full(),
                    timeout=remaining,
                    timeout_summary="contest window",
                )
            except TimeoutError:
                continue
            await self._continue_as_new_if(lambda: s.contest is None)
        return True


def _failure_type(exc: ActivityError | ApplicationError) -> str | None:
    cause = exc.cause if isinstance(exc, ActivityError) else exc
    return cause.type if isinstance(cause, ApplicationError) else None
