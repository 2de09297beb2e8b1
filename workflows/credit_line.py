"""``CreditLineReviewWorkflow``: one re-evaluation of one active credit line.

Re-fetches the lender's history of the customer, re-scores it with the decisions' risk model
and applies the decisions' own policy (``CreditLines.propose_terms``), then:

* worse terms → a decrease with notice: recorded and notified with the date it takes effect, a
  durable timer for ``ECS_LIMIT_DECREASE_NOTICE_DAYS``, then applied and notified again;
* better terms → an increase offered: recorded and notified; applied only if the customer
  accepts (the ``accept_increase`` update) within ``ECS_LIMIT_INCREASE_OFFER_DAYS``, else
  recorded as expired;
* a denial → flagged for an analyst, the line untouched (see ``ecs.credit_lines.terms``);
* the same terms → a review with no change, from which the next interval counts.

The line's own limit is left out of the exposure the policy subtracts: the question is what this
line should be, not what a second line could add on top of it. Every step is one row in
``credit_line_changes``; the Web UI's summary and details name the step, never the customer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.interface import Decisions, History
    from activities.messages import FetchHistoryInput
    from ecs.credit_lines.contract import (
        WORKFLOW_NAME,
        AcceptIncrease,
        ApplyResult,
        ChangeKind,
        CreditLines,
        LineNotice,
        Proposal,
        ProposeInput,
        RecordInput,
        ReviewInput,
    )
    from ecs.risk.model import RiskScore
    from workflows.options import DB_RETRY, MODEL_RETRY, MODEL_TIMEOUT, SHORT

NOTIFY_KIND = {
    ChangeKind.DECREASE_NOTICED: "line_decrease_notice",
    ChangeKind.DECREASE_APPLIED: "line_decreased",
    ChangeKind.INCREASE_OFFERED: "line_increase_offer",
    ChangeKind.INCREASE_APPLIED: "line_increased",
}


@workflow.defn(name=WORKFLOW_NAME)
class CreditLineReviewWorkflow:
    def __init__(self) -> None:
        self._proposal: Proposal | None = None
        self._offered = False
        self._accepted = False
        self._result: ApplyResult | None = None

    @workflow.run
    async def run(self, inp: ReviewInput) -> ChangeKind:
        workflow.set_current_details("re-fetching the ledger history")
        snapshot = await workflow.execute_activity_method(
            History.fetch_history,
            FetchHistoryInput(user_id=inp.account_id, as_of=workflow.now()),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
        )
        features = snapshot.features.model_copy(update={"credit_exposure": 0.0})
        score: RiskScore | None = None
        try:
            score = await workflow.execute_activity_method(
                Decisions.score,
                features,
                start_to_close_timeout=MODEL_TIMEOUT,
                retry_policy=MODEL_RETRY,
            )
        except ActivityError:
            workflow.logger.warning("model unavailable: the line is flagged, not changed")
        proposal = await workflow.execute_activity_method(
            CreditLines.propose_terms,
            ProposeInput(account_id=inp.account_id, features=features, score=score),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
        )
        if proposal is None:
            workflow.set_current_details("no active line: nothing to review")
            return ChangeKind.SUPERSEDED
        self._proposal = proposal
        if proposal.kind is ChangeKind.DECREASE_NOTICED:
            return await self._decrease(inp, proposal)
        if proposal.kind is ChangeKind.INCREASE_OFFERED:
            return await self._increase(inp, proposal)
        await self._record(inp, proposal.kind, proposal)
        workflow.set_current_details(f"reviewed: {proposal.kind.value}")
        return proposal.kind

    async def _decrease(self, inp: ReviewInput, p: Proposal) -> ChangeKind:
        effective = workflow.now() + timedelta(seconds=p.notice_seconds)
        await self._record(inp, ChangeKind.DECREASE_NOTICED, p, effective)
        await self._notify(
            inp,
            ChangeKind.DECREASE_NOTICED,
            "Your credit limit will change",
            f"Your limit will be {p.new_limit} from {effective.date().isoformat()}.",
            effective_at=effective.isoformat(),
        )
        workflow.set_current_details(f"decrease noticed; takes effect {effective.isoformat()}")
        await workflow.sleep(timedelta(seconds=p.notice_seconds), summary="decrease notice")
        return await self._apply(inp, ChangeKind.DECREASE_APPLIED, p, "Your credit limit changed")

    async def _increase(self, inp: ReviewInput, p: Proposal) -> ChangeKind:
        expires = workflow.now() + timedelta(seconds=p.offer_seconds)
        await self._record(inp, ChangeKind.INCREASE_OFFERED, p, expires)
        await self._notify(
            inp,
            ChangeKind.INCREASE_OFFERED,
            "A higher credit limit is available",
            f"Accept by {expires.date().isoformat()} to raise your limit to {p.new_limit}.",
            expires_at=expires.isoformat(),
        )
        self._offered = True
        workflow.set_current_details(f"increase offered; open until {expires.isoformat()}")
        try:
            await workflow.wait_condition(
                lambda: self._accepted, timeout=timedelta(seconds=p.offer_seconds)
            )
        except TimeoutError:
            self._offered = False
            await self._record(inp, ChangeKind.INCREASE_EXPIRED, p)
            workflow.set_current_details("increase offer expired")
            return ChangeKind.INCREASE_EXPIRED
        return await self._apply(inp, ChangeKind.INCREASE_APPLIED, p, "Your credit limit rose")

    async def _apply(
        self, inp: ReviewInput, kind: ChangeKind, p: Proposal, title: str
    ) -> ChangeKind:
        self._result = await workflow.execute_activity_method(
            CreditLines.apply_change,
            RecordInput(
                account_id=inp.account_id, kind=kind, proposal=p, effective_at=workflow.now()
            ),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
        )
        if not self._result.applied:
            workflow.set_current_details("superseded: the line changed before the change applied")
            return ChangeKind.SUPERSEDED
        await self._notify(inp, kind, title, f"Your limit is now {p.new_limit}.")
        workflow.set_current_details(f"{kind.value}: limit {p.old_limit} → {p.new_limit}")
        return kind

    async def _record(
        self, inp: ReviewInput, kind: ChangeKind, p: Proposal, effective: datetime | None = None
    ) -> None:
        await workflow.execute_activity_method(
            CreditLines.record_change,
            RecordInput(
                account_id=inp.account_id,
                kind=kind,
                proposal=p,
                effective_at=effective,
            ),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
        )

    async def _notify(
        self, inp: ReviewInput, kind: ChangeKind, title: str, body: str, **data: str
    ) -> None:
        assert self._proposal is not None
        await workflow.execute_activity_method(
            CreditLines.notify_line,
            LineNotice(
                account_id=inp.account_id,
                kind=NOTIFY_KIND[kind],
                title=title,
                body=body,
                data={
                    "credit_limit": str(self._proposal.new_limit),
                    "interest_rate": str(self._proposal.new_rate),
                    **data,
                },
            ),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
        )

    @workflow.update
    async def accept_increase(self, _: AcceptIncrease) -> ApplyResult:
        """The customer accepts the offered increase; returns the line's terms once applied."""
        self._accepted = True
        await workflow.wait_condition(lambda: self._result is not None)
        assert self._result is not None
        return self._result

    @accept_increase.validator
    def _validate_accept(self, _: AcceptIncrease) -> None:
        if not self._offered or self._accepted:
            raise ValueError("no increase offer is open on this credit line")
