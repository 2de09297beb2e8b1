"""``CreditDecisionWorkflow``: one durable process per credit request.

    fetch_history → (cooling-off?) → score → approve → notify
        → REFERRED: wait for an analyst's ``review`` update → approve (review) → notify
        → OFFERED:  wait for ``accept`` / ``decline`` or the expiry timer
              accept → settle_offer → deploy_credit → notify
    ``emotion`` signals may pause the decision (cooling-off) before scoring or while the offer is
    open: the pause ends on a calmer reading or its timer, and blocks acceptance meanwhile.

``fetch_history``, ``score`` and ``approve`` run as *local* activities: each is a few
milliseconds of database or CPU work, and running them inside the workflow task saves a server
round trip per step (measured: the offer exists ~20 ms sooner). They keep their retry policies;
``notify``, ``settle_offer`` and ``deploy_credit`` stay regular activities (they may wait on
outside systems or must be visible as separate steps).

Activities are called through their declarations in ``activities.interface`` and handlers are
registered under the names in ``ecs.contracts``, so mypy checks every call and the names on the
wire stay the plain strings the CLI and Web UI use. Everything the decision remembers lives in
one ``DecisionState``; what it shows is rendered by ``workflows.summary``.

Deterministic code only: time is ``workflow.now()``, no I/O, and the only imports passed through
the sandbox are pydantic message modules.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.interface import Decisions, History, Notifications, Offers, Status
    from activities.messages import (
        ApproveInput,
        DeployInput,
        FetchHistoryInput,
        HistorySnapshot,
        NotifyInput,
        SettleInput,
        StatusInput,
    )
    from ecs.contracts import (
        QUERY_STATUS,
        SIGNAL_EMOTION,
        UPDATE_ACCEPT,
        UPDATE_DECLINE,
        UPDATE_REVIEW,
        UPDATE_WAIT_DECIDED,
        AcceptRequest,
        DecisionInput,
        DecisionState,
        DecisionView,
        DeclineRequest,
        EmotionSignal,
        ReviewRequest,
    )
    from ecs.domain.emotions import is_acute_distress, is_calm
    from ecs.domain.policy import OUTCOME_STATUS, Decision
    from ecs.domain.status import DecisionStatus
    from ecs.temporal.search import CREDIT_STATUS, RISK_BAND
    from workflows import summary
    from workflows.options import (
        DB_RETRY,
        LOCAL_RETRY_THRESHOLD,
        MODEL_RETRY,
        MODEL_TIMEOUT,
        SHORT,
    )

MAX_REMEMBERED_EVENTS = 256


@workflow.defn(name="CreditDecisionWorkflow")
class CreditDecisionWorkflow:
    @workflow.init
    def __init__(self, inp: DecisionInput) -> None:
        self._input = inp
        self._s = DecisionState()

    # -- main path -----------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: DecisionInput) -> DecisionView:
        s = self._s
        self._set_status(DecisionStatus.PENDING)
        history = await self._fetch_history()
        if s.distressed or self._recent_distress_in(history):
            await self._cool_off("acute distress before scoring", until=None)
            history = await self._fetch_history()  # the pause may have brought new data
        s.features = history.features

        score_error: str | None = None
        try:
            s.score = await workflow.execute_local_activity_method(
                Decisions.score,
                s.features,
                start_to_close_timeout=MODEL_TIMEOUT,
                retry_policy=MODEL_RETRY,
                local_retry_threshold=LOCAL_RETRY_THRESHOLD,
                summary="score features with the risk model",
            )
        except (ActivityError, ApplicationError) as exc:  # local activities raise the latter
            # The model is down beyond the retry budget: a human decides, never a silent "no".
            score_error = f"model unavailable: {exc.cause or exc}"

        await self._approve(score_error=score_error)
        if self._decision is Decision.REFERRED:
            await self._notify(summary.REFERRED)
            await workflow.wait_condition(lambda: s.review is not None)
            await self._approve(review=s.review)

        if self._decision is Decision.DENIED:
            await self._notify(summary.DENIED)
            return self.status()

        assert s.offer is not None
        await self._notify(summary.offer_ready(s.offer), {"offer_id": s.offer.offer_id})
        await self._wait_for_offer_outcome()
        return self.status()

    async def _wait_for_offer_outcome(self) -> None:
        s = self._s
        assert s.offer is not None
        offer = s.offer
        while s.settlement is None:
            remaining = (offer.expires_at - workflow.now()).total_seconds()
            if remaining <= 0:
                break
            if s.distressed:
                await self._cool_off("acute distress while the offer is open", offer.expires_at)
                continue
            try:
                await workflow.wait_condition(
                    lambda: s.settlement is not None or s.distressed,
                    timeout=remaining,
                    timeout_summary="offer expiry",
                )
            except TimeoutError:
                break

        if s.settlement is None:
            await self._settle("EXPIRED", DecisionStatus.EXPIRED)
            await self._notify(summary.EXPIRED)
        elif s.settlement == "DECLINED":
            await self._settle("DECLINED", DecisionStatus.DECLINED)
        else:
            await self._settle("ACCEPTED", DecisionStatus.ACCEPTED)
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
            self._set_status(DecisionStatus.ACTIVE)
            await self._notify(summary.credit_active(offer))

    # -- steps ---------------------------------------------------------------------------------

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
        self, *, score_error: str | None = None, review: ReviewRequest | None = None
    ) -> None:
        """The policy decides (or, with ``review``, an analyst); the offer's clock starts now."""
        s, inp = self._s, self._input
        assert s.features is not None
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
            ),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
            local_retry_threshold=LOCAL_RETRY_THRESHOLD,
            summary="apply the lending policy; store the decision record and offer",
        )
        s.outcome, s.offer = result.outcome, result.offer
        self._set_status(OUTCOME_STATUS[s.outcome.decision])
        if s.outcome.risk_band is not None:
            workflow.upsert_search_attributes([RISK_BAND.value_set(s.outcome.risk_band.value)])

    @property
    def _decision(self) -> Decision:
        assert self._s.outcome is not None
        return self._s.outcome.decision

    def _recent_distress_in(self, history: HistorySnapshot) -> bool:
        """A distress reading already stored (before this workflow began) also pauses it."""
        f, rule = history.features, self._input.cooling_off
        if f.latest_stress is None or f.latest_intensity is None or not history.latest_emotion_at:
            return False
        recent = workflow.now() - history.latest_emotion_at < timedelta(seconds=rule.pause_seconds)
        return recent and is_acute_distress(f.latest_stress, f.latest_intensity, rule)

    async def _cool_off(self, reason: str, until: datetime | None) -> None:
        """Durable pause: ends on a calm reading or the timer, whichever comes first."""
        s = self._s
        s.paused_from = s.status
        pause = timedelta(seconds=self._input.cooling_off.pause_seconds)
        ends = workflow.now() + pause if until is None else min(workflow.now() + pause, until)
        s.cooling_off_until, s.cooling_off_reason = ends, reason
        s.distressed = True
        self._set_status(DecisionStatus.COOLING_OFF)
        await self._record_status(DecisionStatus.COOLING_OFF)
        with contextlib.suppress(TimeoutError):  # the timer ending the pause is a normal exit
            await workflow.wait_condition(
                lambda: not s.distressed or s.settlement == "DECLINED",
                timeout=max((ends - workflow.now()).total_seconds(), 0.001),
                timeout_summary="cooling-off pause",
            )
        previous = s.paused_from
        s.distressed = False
        s.cooling_off_until = s.cooling_off_reason = s.paused_from = None
        self._set_status(previous)
        await self._record_status(previous)

    async def _record_status(self, status: DecisionStatus) -> None:
        await workflow.execute_activity_method(
            Status.record_status,
            StatusInput(decision_id=self._input.decision_id, status=status),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
            summary=f"status → {status.value}",
        )

    async def _settle(self, outcome: str, status: DecisionStatus) -> None:
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

    async def _notify(self, message: summary.Message, data: dict[str, str] | None = None) -> None:
        await workflow.execute_activity_method(
            Notifications.notify,
            NotifyInput(
                user_id=self._input.user_id,
                decision_id=self._input.decision_id,
                kind=message.kind,
                title=message.title,
                body=message.body,
                data=data or {},
            ),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
            summary=f"notify the app: {message.kind}",
        )

    def _set_status(self, status: DecisionStatus) -> None:
        self._s.status = status
        self._s.updated_at = workflow.now()
        workflow.upsert_search_attributes([CREDIT_STATUS.value_set(status.value)])
        workflow.set_current_details(summary.details_of(self._s))

    # -- signals, queries, updates -------------------------------------------------------------

    @workflow.signal(name=SIGNAL_EMOTION)
    def emotion(self, reading: EmotionSignal) -> None:
        s, rule = self._s, self._input.cooling_off
        if reading.event_id in s.seen:
            return  # at-least-once delivery from the stream: apply each reading once
        s.seen = [*s.seen[1 - MAX_REMEMBERED_EVENTS :], reading.event_id]
        s.signals += 1
        s.last_event_id = reading.event_id
        if is_acute_distress(reading.stress, reading.intensity, rule):
            # Only a decision not yet scored, or an open offer, can still be made more careful.
            if s.status in (
                DecisionStatus.PENDING,
                DecisionStatus.OFFERED,
                DecisionStatus.COOLING_OFF,
            ):
                s.distressed = True
        elif is_calm(reading.stress, rule):
            s.distressed = False
        workflow.set_current_details(summary.details_of(s))

    @workflow.query(name=QUERY_STATUS)
    def status(self) -> DecisionView:
        return summary.view_of(self._s, self._input, workflow.info().workflow_id)

    @workflow.update(name=UPDATE_WAIT_DECIDED)
    async def wait_decided(self) -> DecisionView:
        """Answer as soon as the decision leaves PENDING: the API's ``?wait=`` without polling."""
        await workflow.wait_condition(lambda: self._s.status is not DecisionStatus.PENDING)
        return self.status()

    @workflow.update(name=UPDATE_ACCEPT)
    def accept(self, request: AcceptRequest) -> DecisionView:
        self._s.settlement = "ACCEPTED"
        return self.status()

    @accept.validator
    def _validate_accept(self, request: AcceptRequest) -> None:
        self._check_offer_open(request.user_id)
        if self._s.status is DecisionStatus.COOLING_OFF:
            until = self._s.cooling_off_until
            raise ValueError(
                f"cooling-off pause in progress: the offer can be accepted after "
                f"{until.isoformat() if until else 'later'} or once you feel calmer"
            )

    @workflow.update(name=UPDATE_DECLINE)
    def decline(self, request: DeclineRequest) -> DecisionView:
        self._s.settlement = "DECLINED"
        return self.status()

    @decline.validator
    def _validate_decline(self, request: DeclineRequest) -> None:
        self._check_offer_open(request.user_id)

    def _check_offer_open(self, user_id: str) -> None:
        s = self._s
        if user_id != self._input.user_id:
            raise ValueError("this decision belongs to another user")
        if (
            s.offer is None
            or s.settlement is not None
            or s.status not in (DecisionStatus.OFFERED, DecisionStatus.COOLING_OFF)
        ):
            raise ValueError(f"no open offer: the decision is {s.status.value}")
        if workflow.now() >= s.offer.expires_at:
            raise ValueError("the offer has expired")

    @workflow.update(name=UPDATE_REVIEW)
    def review(self, request: ReviewRequest) -> DecisionView:
        self._s.review = request
        return self.status()

    @review.validator
    def _validate_review(self, request: ReviewRequest) -> None:
        s = self._s
        if s.status is not DecisionStatus.REFERRED or s.review is not None:
            raise ValueError(f"only a REFERRED decision can be reviewed (it is {s.status})")
        if request.approve and not (
            request.credit_limit and request.interest_rate and request.credit_type
        ):
            raise ValueError("approving needs credit_limit, interest_rate and credit_type")
        if request.reviewer_id == self._input.user_id:
            raise ValueError("a reviewer cannot review their own credit request")
