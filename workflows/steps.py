"""The credit workflow's steps: each activity call with its timeout, retry policy and summary,
and the status bookkeeping around them.

``CreditDecisionWorkflow`` inherits these, so its own module reads as the process (what happens
in which order, and what it waits for). Every call goes through an activity's declaration in
``activities.interface``, so mypy checks its argument and result. Workflow code: deterministic,
no I/O of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.interface import Decisions, History, Notifications, Offers, Reviews, Status
    from activities.messages import (
        ApproveInput,
        ContestInput,
        DeployInput,
        EscalateInput,
        FetchHistoryInput,
        HistorySnapshot,
        NotifyInput,
        ReviewStepInput,
        SettleInput,
        StatusInput,
    )
    from ecs.contracts import (
        ConfirmRequest,
        ContestRequest,
        DecisionInput,
        DecisionState,
        OfferView,
        ReviewRequest,
    )
    from ecs.domain.policy import OUTCOME_STATUS, Decision
    from ecs.domain.status import DecisionStatus, RecordKind
    from ecs.temporal.search import CREDIT_STATUS, RISK_BAND
    from workflows import summary
    from workflows.options import DB_RETRY, LOCAL_RETRY_THRESHOLD, SHORT

Settlement = Literal["ACCEPTED", "DECLINED", "EXPIRED"]
MAX_HISTORY_EVENTS = 10_000
"""Continue as new by this length even if the server never suggests it (its hard limit is
51,200 events, and it terminates the workflow there)."""


class DecisionSteps:
    """Steps of one decision; ``_input`` is the workflow's input, ``_s`` its whole state."""

    _input: DecisionInput
    _s: DecisionState
    _may_continue: bool  # decisions started before continue-as-new existed never do

    async def _continue_as_new_if(self, still_waiting: Callable[[], bool]) -> None:
        """Carry the whole state into a fresh run once history is large, while the decision only
        waits (on a person, a reading or a timer). Running update handlers finish first; if one
        changed what the decision must do (``still_waiting()`` turned false), return instead."""
        if not self._history_full():
            return
        await workflow.wait_condition(workflow.all_handlers_finished)
        if not still_waiting():
            return
        s = self._s
        s.runs += 1
        workflow.continue_as_new(self._input.model_copy(update={"carried": s}))

    def _history_full(self) -> bool:
        """Time to continue as new: the server suggests it, or history passed our own bound."""
        info = workflow.info()
        return self._may_continue and (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= MAX_HISTORY_EVENTS
        )

    async def _fetch_history(self) -> HistorySnapshot:
        return await workflow.execute_local_activity_method(
            History.fetch_history,
            FetchHistoryInput(user_id=self._input.user_id, as_of=workflow.now()),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
            local_retry_threshold=LOCAL_RETRY_THRESHOLD,
            summary="read 90 days of transactions and 30 days of emotion aggregates",
        )

    async def _approve(
        self,
        *,
        score_error: str | None = None,
        review: ReviewRequest | None = None,
        confirmation: ConfirmRequest | None = None,
    ) -> None:
        """The policy decides (or, with ``review``, an analyst, and with ``confirmation`` the
        second one of a four-eyes approval); the offer's clock starts now. A referral's review
        deadline starts now too (only with review rules: older decisions have none)."""
        s, inp = self._s, self._input
        assert s.features is not None
        rules = inp.review_rules
        due = (
            workflow.now() + timedelta(seconds=rules.deadline_seconds)
            if rules is not None and review is None
            else None
        )
        result = await workflow.execute_local_activity_method(
            Decisions.approve,
            ApproveInput(
                decision_id=inp.decision_id,
                user_id=inp.user_id,
                features=s.features,
                score=s.score,
                score_error=score_error,
                offer_expires_at=workflow.now() + timedelta(seconds=inp.offer_ttl_seconds),
                cooling_off=inp.cooling_off,
                review=review,
                prior=s.outcome if review else None,
                confirmation=confirmation,
                proposal_sequence=s.proposals if confirmation else 0,
                review_due_at=due,
            ),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
            local_retry_threshold=LOCAL_RETRY_THRESHOLD,
            summary="apply the lending policy; store the decision record and offer",
        )
        s.outcome, s.offer = result.outcome, result.offer
        if review is not None:
            s.reviewed = True
        elif due is not None and s.outcome.decision is Decision.REFERRED:
            s.review_due_at, s.queue_status = due, DecisionStatus.REFERRED
        elif (
            rules is not None
            and rules.contest_window_seconds
            and (s.outcome.decision is Decision.DENIED)
        ):  # contestable from the moment the denial is visible, not once it is notified
            s.contest_open_until = workflow.now() + timedelta(seconds=rules.contest_window_seconds)
        self._set_status(OUTCOME_STATUS[s.outcome.decision])
        if s.outcome.risk_band is not None:
            workflow.upsert_search_attributes([RISK_BAND.value_set(s.outcome.risk_band.value)])

    async def _open_contest(self, request: ContestRequest, due: datetime) -> None:
        await workflow.execute_activity_method(
            Reviews.open_contest,
            ContestInput(
                decision_id=self._input.decision_id,
                user_id=self._input.user_id,
                reason=request.reason,
                review_due_at=due,
            ),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
            summary="contest → status CONTESTED, into the review queue",
        )

    async def _record_review_step(
        self, kind: RecordKind, review: ReviewRequest | ConfirmRequest, status: DecisionStatus
    ) -> None:
        """A four-eyes proposal (``review``) or its rejection (``ConfirmRequest``)."""
        s = self._s
        proposal = review if isinstance(review, ReviewRequest) else s.proposal
        assert proposal is not None
        await workflow.execute_activity_method(
            Reviews.record_review_step,
            ReviewStepInput(
                decision_id=self._input.decision_id,
                user_id=self._input.user_id,
                kind=kind,
                sequence=s.proposals,
                outcome="APPROVED" if kind is RecordKind.PROPOSAL else "REJECTED",
                reviewer_id=review.reviewer_id,
                comment=review.comment,
                proposer_id=None if proposal is review else proposal.reviewer_id,
                credit_limit=proposal.credit_limit,
                interest_rate=proposal.interest_rate,
                credit_type=proposal.credit_type,
                status=status,
            ),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
            summary=f"four-eyes {kind.value.lower()} → {status.value}",
        )

    async def _escalate(self) -> None:
        s = self._s
        assert s.review_due_at is not None
        await workflow.execute_activity_method(
            Reviews.escalate_review,
            EscalateInput(
                decision_id=self._input.decision_id,
                user_id=self._input.user_id,
                status=s.status,
                review_due_at=s.review_due_at,
            ),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
            summary="review overdue: flag it, tell the analysts",
        )

    async def _record_status(self, status: DecisionStatus) -> None:
        await workflow.execute_activity_method(
            Status.record_status,
            StatusInput(decision_id=self._input.decision_id, status=status),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
            summary=f"status → {status.value}",
        )

    async def _settle(self, outcome: Settlement, status: DecisionStatus) -> None:
        assert self._s.offer is not None
        self._set_status(status)
        await workflow.execute_activity_method(
            Offers.settle_offer,
            SettleInput(
                decision_id=self._input.decision_id,
                offer_id=self._s.offer.offer_id,
                outcome=outcome,
            ),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
            summary=f"offer → {outcome}",
        )

    async def _deploy(self, offer: OfferView) -> None:
        await workflow.execute_activity_method(
            Offers.deploy_credit,
            DeployInput(
                decision_id=self._input.decision_id,
                offer_id=offer.offer_id,
                user_id=self._input.user_id,
            ),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
            summary="deploy the credit line (idempotent per offer)",
        )

    async def _accept_and_deploy(
        self, offer: OfferView, notice: summary.Message | None = None
    ) -> None:
        """With ``notice``, the app's notification commits with the deployment and is sent
        after it (the caller then does not ``_notify``)."""
        await workflow.execute_activity_method(
            Offers.accept_and_deploy,
            DeployInput(
                decision_id=self._input.decision_id,
                offer_id=offer.offer_id,
                user_id=self._input.user_id,
                notice=None if notice is None else self._notice(notice),
            ),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
            summary="offer → ACCEPTED, deploy the credit line"
            + (" and notify the app" if notice else "")
            + " (one transaction, once per offer)",
        )

    async def _notify_once(
        self, message: summary.Message, data: dict[str, str] | None = None
    ) -> None:
        """Notifications sent before a continue-as-new are not sent again by the next run."""
        if message.kind not in self._s.notified:
            await self._notify(message, data)

    def _notice(self, message: summary.Message, data: dict[str, str] | None = None) -> NotifyInput:
        return NotifyInput(
            user_id=self._input.user_id,
            decision_id=self._input.decision_id,
            kind=message.kind,
            title=message.title,
            body=message.body,
            data=data or {},
        )

    async def _notify(self, message: summary.Message, data: dict[str, str] | None = None) -> None:
        await workflow.execute_activity_method(
            Notifications.notify,
            self._notice(message, data),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
            summary=f"notify the app: {message.kind}",
        )
        self._s.notified.append(message.kind)

    def _set_status(self, status: DecisionStatus) -> None:
        self._s.status = status
        self._s.updated_at = workflow.now()
        workflow.upsert_search_attributes([CREDIT_STATUS.value_set(status.value)])
        workflow.set_current_details(summary.details_of(self._s))
