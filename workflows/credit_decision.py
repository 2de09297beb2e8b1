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

Deterministic code only: time is ``workflow.now()``, no I/O, and the only imports passed through
the sandbox are pydantic message modules.
"""

from __future__ import annotations

import contextlib
from collections import deque
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.messages import (
        ApprovalResult,
        ApproveInput,
        DeployInput,
        FetchHistoryInput,
        HistorySnapshot,
        NotifyInput,
        SettleInput,
        StatusInput,
    )
    from ecs.contracts import (
        SIGNAL_EMOTION,
        UPDATE_ACCEPT,
        UPDATE_DECLINE,
        UPDATE_REVIEW,
        UPDATE_WAIT_DECIDED,
        AcceptRequest,
        DecisionInput,
        DecisionView,
        DeclineRequest,
        EmotionSignal,
        ReviewRequest,
    )
    from ecs.domain.features import Features
    from ecs.domain.policy import Decision, PolicyOutcome
    from ecs.domain.status import DecisionStatus
    from ecs.risk.model import RiskScore
    from ecs.temporal.search import CREDIT_STATUS, RISK_BAND

MAX_REMEMBERED_EVENTS = 256
DB_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["NotFound", "OfferNotAccepted"],
)
# About 7 s of retries: long enough to ride out a blip, short enough that a user is not left
# waiting on a dead model; the circuit breaker makes the attempts cheap while the model is down.
MODEL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=4),
    maximum_attempts=4,
)
SHORT = timedelta(seconds=30)
# Local-activity retries that back off longer than this wait on a durable timer instead of
# inside the workflow task, so queries and updates keep being answered during an outage.
LOCAL_RETRY_THRESHOLD = timedelta(milliseconds=500)


@workflow.defn(name="CreditDecisionWorkflow")
class CreditDecisionWorkflow:
    @workflow.init
    def __init__(self, inp: DecisionInput) -> None:
        self._input = inp
        self._status = DecisionStatus.PENDING
        self._features: Features | None = None
        self._score: RiskScore | None = None
        self._outcome: PolicyOutcome | None = None
        self._approval: ApprovalResult | None = None
        self._settlement: str | None = None
        self._review: ReviewRequest | None = None
        self._seen: deque[str] = deque(maxlen=MAX_REMEMBERED_EVENTS)
        self._signals = 0
        self._last_event_id: str | None = None
        self._distressed = False
        self._cooling_off_until: datetime | None = None
        self._cooling_off_reason: str | None = None
        self._updated_at: datetime | None = None

    # -- main path -----------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: DecisionInput) -> DecisionView:
        self._set_status(DecisionStatus.PENDING)
        history = await self._fetch_history()
        if self._distressed or self._recent_distress_in(history):
            await self._cool_off("acute distress before scoring", until=None)
            history = await self._fetch_history()  # the pause may have brought new data
        self._features = history.features

        score_error: str | None = None
        try:
            self._score = await workflow.execute_local_activity(
                "score",
                self._features,
                result_type=RiskScore,
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=MODEL_RETRY,
                local_retry_threshold=LOCAL_RETRY_THRESHOLD,
                summary="score features with the risk model",
            )
        except (ActivityError, ApplicationError) as exc:  # local activities raise the latter
            # The model is down beyond the retry budget: a human decides, never a silent "no".
            score_error = f"model unavailable: {exc.cause or exc}"

        offer_expires_at = workflow.now() + timedelta(seconds=inp.offer_ttl_seconds)
        await self._approve(
            ApproveInput(
                decision_id=inp.decision_id,
                user_id=inp.user_id,
                features=self._features,
                score=self._score,
                score_error=score_error,
                offer_expires_at=offer_expires_at,
            )
        )

        if self._decision is Decision.REFERRED:
            await self._notify(
                "decision_referred",
                "Your credit request is being reviewed",
                "A specialist will look at your request shortly.",
            )
            await workflow.wait_condition(lambda: self._review is not None)
            assert self._review is not None
            await self._approve(
                ApproveInput(
                    decision_id=inp.decision_id,
                    user_id=inp.user_id,
                    features=self._features,
                    score=self._score,
                    offer_expires_at=workflow.now() + timedelta(seconds=inp.offer_ttl_seconds),
                    review=self._review,
                    prior=self._outcome,
                )
            )

        if self._decision is Decision.DENIED:
            await self._notify(
                "decision_denied",
                "We can't offer credit right now",
                "See the reasons in the app; you can ask again later.",
            )
            return self.status()

        await self._notify_offer()
        await self._wait_for_offer_outcome()
        return self.status()

    async def _wait_for_offer_outcome(self) -> None:
        assert self._approval is not None and self._approval.offer is not None
        offer = self._approval.offer
        while self._settlement is None:
            remaining = (offer.expires_at - workflow.now()).total_seconds()
            if remaining <= 0:
                break
            if self._distressed:
                await self._cool_off("acute distress while the offer is open", offer.expires_at)
                continue
            try:
                await workflow.wait_condition(
                    lambda: self._settlement is not None or self._distressed,
                    timeout=remaining,
                    timeout_summary="offer expiry",
                )
            except TimeoutError:
                break

        if self._settlement is None:
            await self._settle("EXPIRED", DecisionStatus.EXPIRED)
            await self._notify(
                "offer_expired",
                "Your credit offer expired",
                "You can request a new decision at any time.",
            )
        elif self._settlement == "DECLINED":
            await self._settle("DECLINED", DecisionStatus.DECLINED)
        else:
            await self._settle("ACCEPTED", DecisionStatus.ACCEPTED)
            await workflow.execute_activity(
                "deploy_credit",
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
            await self._notify(
                "credit_active",
                "Your credit line is active",
                f"Limit {offer.credit_limit} at {offer.interest_rate * 100:.2f}% a year "
                f"({offer.credit_type.replace('_', '-').lower()}).",
            )

    # -- steps ---------------------------------------------------------------------------------

    async def _fetch_history(self) -> HistorySnapshot:
        snapshot: HistorySnapshot = await workflow.execute_local_activity(
            "fetch_history",
            FetchHistoryInput(user_id=self._input.user_id, as_of=workflow.now()),
            result_type=HistorySnapshot,
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
            local_retry_threshold=LOCAL_RETRY_THRESHOLD,
            summary="read 90 days of transactions and 30 days of emotion aggregates",
        )
        return snapshot

    async def _approve(self, inp: ApproveInput) -> None:
        self._approval = await workflow.execute_local_activity(
            "approve",
            inp,
            result_type=ApprovalResult,
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
            local_retry_threshold=LOCAL_RETRY_THRESHOLD,
            summary="apply the lending policy; store the decision record and offer",
        )
        self._outcome = self._approval.outcome
        status = {
            Decision.APPROVED: DecisionStatus.OFFERED,
            Decision.DENIED: DecisionStatus.DENIED,
            Decision.REFERRED: DecisionStatus.REFERRED,
        }[self._outcome.decision]
        self._set_status(status)
        if self._outcome.risk_band is not None:
            workflow.upsert_search_attributes([RISK_BAND.value_set(self._outcome.risk_band.value)])

    @property
    def _decision(self) -> Decision:
        assert self._outcome is not None
        return self._outcome.decision

    def _recent_distress_in(self, history: HistorySnapshot) -> bool:
        """A distress reading already stored (before this workflow began) also pauses it."""
        f, cfg = history.features, self._input.cooling_off
        if f.latest_stress is None or f.latest_intensity is None or not history.latest_emotion_at:
            return False
        recent = workflow.now() - history.latest_emotion_at < timedelta(seconds=cfg.pause_seconds)
        return recent and self._is_distress(f.latest_stress, f.latest_intensity)

    async def _cool_off(self, reason: str, until: datetime | None) -> None:
        """Durable pause: ends on a calm reading or the timer, whichever comes first."""
        previous = self._status
        pause = timedelta(seconds=self._input.cooling_off.pause_seconds)
        ends = workflow.now() + pause if until is None else min(workflow.now() + pause, until)
        self._cooling_off_until, self._cooling_off_reason = ends, reason
        self._distressed = True
        self._set_status(DecisionStatus.COOLING_OFF)
        await self._record_status(DecisionStatus.COOLING_OFF)
        with contextlib.suppress(TimeoutError):  # the timer ending the pause is a normal exit
            await workflow.wait_condition(
                lambda: not self._distressed or self._settlement == "DECLINED",
                timeout=max((ends - workflow.now()).total_seconds(), 0.001),
                timeout_summary="cooling-off pause",
            )
        self._distressed = False
        self._cooling_off_until = self._cooling_off_reason = None
        self._set_status(previous)
        await self._record_status(previous)

    async def _record_status(self, status: DecisionStatus) -> None:
        await workflow.execute_activity(
            "record_status",
            StatusInput(decision_id=self._input.decision_id, status=status),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
            summary=f"status → {status.value}",
        )

    async def _settle(self, outcome: str, status: DecisionStatus) -> None:
        assert self._approval is not None and self._approval.offer is not None
        self._set_status(status)
        await workflow.execute_activity(
            "settle_offer",
            SettleInput(
                decision_id=self._input.decision_id,
                offer_id=self._approval.offer.offer_id,
                outcome=outcome,
            ),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
            summary=f"offer → {outcome}",
        )

    async def _notify_offer(self) -> None:
        assert self._approval is not None and self._approval.offer is not None
        offer = self._approval.offer
        await self._notify(
            "offer_ready",
            "You have a credit offer",
            f"Limit {offer.credit_limit} at {offer.interest_rate * 100:.2f}% a year, "
            f"valid until {offer.expires_at:%Y-%m-%d %H:%M} UTC.",
            {"offer_id": offer.offer_id},
        )

    async def _notify(
        self, kind: str, title: str, body: str, data: dict[str, str] | None = None
    ) -> None:
        await workflow.execute_activity(
            "notify",
            NotifyInput(
                user_id=self._input.user_id,
                decision_id=self._input.decision_id,
                kind=kind,
                title=title,
                body=body,
                data=data or {},
            ),
            start_to_close_timeout=SHORT,
            retry_policy=DB_RETRY,
            summary=f"notify the app: {kind}",
        )

    def _set_status(self, status: DecisionStatus) -> None:
        self._status = status
        self._updated_at = workflow.now()
        workflow.upsert_search_attributes([CREDIT_STATUS.value_set(status.value)])
        workflow.set_current_details(self._details())

    def _details(self) -> str:
        lines = [f"**Status:** {self._status.value}"]
        if self._outcome is not None:
            o = self._outcome
            lines.append(f"**Outcome:** {o.decision.value} (band {o.risk_band or '-'})")
            if o.decision is Decision.APPROVED:
                lines.append(f"**Terms:** {o.credit_limit} at {o.interest_rate} ({o.credit_type})")
            if o.reason_codes:
                lines.append("**Reasons:** " + ", ".join(c.value for c in o.reason_codes))
        if self._cooling_off_until is not None:
            lines.append(f"**Cooling-off until:** {self._cooling_off_until.isoformat()}")
        lines.append(f"**Emotion signals:** {self._signals}")
        return "\n\n".join(lines)

    def _is_distress(self, stress: float, intensity: float) -> bool:
        cfg = self._input.cooling_off
        return stress >= cfg.distress_stress and intensity >= cfg.distress_intensity

    # -- signals, queries, updates -------------------------------------------------------------

    @workflow.signal(name=SIGNAL_EMOTION)
    def emotion(self, reading: EmotionSignal) -> None:
        if reading.event_id in self._seen:
            return  # at-least-once delivery from the stream: apply each reading once
        self._seen.append(reading.event_id)
        self._signals += 1
        self._last_event_id = reading.event_id
        if self._is_distress(reading.stress, reading.intensity):
            # Only a decision not yet scored, or an open offer, can still be made more careful.
            if self._status in (
                DecisionStatus.PENDING,
                DecisionStatus.OFFERED,
                DecisionStatus.COOLING_OFF,
            ):
                self._distressed = True
        elif reading.stress <= self._input.cooling_off.calm_stress:
            self._distressed = False
        workflow.set_current_details(self._details())

    @workflow.query(name="status")
    def status(self) -> DecisionView:
        outcome, offer = self._outcome, self._approval.offer if self._approval else None
        return DecisionView(
            decision_id=self._input.decision_id,
            workflow_id=workflow.info().workflow_id,
            user_id=self._input.user_id,
            status=self._status,
            approved=None
            if outcome is None or outcome.decision is Decision.REFERRED
            else outcome.decision is Decision.APPROVED,
            risk_score=self._score.score if self._score else None,
            risk_band=outcome.risk_band.value if outcome and outcome.risk_band else None,
            credit_limit=outcome.credit_limit if outcome else None,
            interest_rate=outcome.interest_rate if outcome else None,
            credit_type=outcome.credit_type.value if outcome and outcome.credit_type else None,
            reason_codes=[c.value for c in outcome.reason_codes] if outcome else [],
            offer=offer,
            cooling_off_until=self._cooling_off_until,
            cooling_off_reason=self._cooling_off_reason,
            emotion_signals_seen=self._signals,
            last_emotion_event_id=self._last_event_id,
            model_version=self._score.model_version if self._score else None,
            policy_version=outcome.policy_version if outcome else None,
            updated_at=self._updated_at,
        )

    @workflow.update(name=UPDATE_WAIT_DECIDED)
    async def wait_decided(self) -> DecisionView:
        """Answer as soon as the decision leaves PENDING: the API's ``?wait=`` without polling."""
        await workflow.wait_condition(lambda: self._status is not DecisionStatus.PENDING)
        return self.status()

    @workflow.update(name=UPDATE_ACCEPT)
    def accept(self, request: AcceptRequest) -> DecisionView:
        self._settlement = "ACCEPTED"
        return self.status()

    @accept.validator
    def _validate_accept(self, request: AcceptRequest) -> None:
        self._check_offer_open(request.user_id)
        if self._status is DecisionStatus.COOLING_OFF:
            until = self._cooling_off_until.isoformat() if self._cooling_off_until else "later"
            raise ValueError(
                f"cooling-off pause in progress: the offer can be accepted after "
                f"{until} or once you feel calmer"
            )

    @workflow.update(name=UPDATE_DECLINE)
    def decline(self, request: DeclineRequest) -> DecisionView:
        self._settlement = "DECLINED"
        return self.status()

    @decline.validator
    def _validate_decline(self, request: DeclineRequest) -> None:
        self._check_offer_open(request.user_id)

    def _check_offer_open(self, user_id: str) -> None:
        if user_id != self._input.user_id:
            raise ValueError("this decision belongs to another user")
        offer = self._approval.offer if self._approval else None
        if (
            offer is None
            or self._settlement is not None
            or self._status not in (DecisionStatus.OFFERED, DecisionStatus.COOLING_OFF)
        ):
            raise ValueError(f"no open offer: the decision is {self._status.value}")
        if workflow.now() >= offer.expires_at:
            raise ValueError("the offer has expired")

    @workflow.update(name=UPDATE_REVIEW)
    def review(self, request: ReviewRequest) -> DecisionView:
        self._review = request
        return self.status()

    @review.validator
    def _validate_review(self, request: ReviewRequest) -> None:
        if self._status is not DecisionStatus.REFERRED or self._review is not None:
            raise ValueError(f"only a REFERRED decision can be reviewed (it is {self._status})")
        if request.approve and not (
            request.credit_limit and request.interest_rate and request.credit_type
        ):
            raise ValueError("approving needs credit_limit, interest_rate and credit_type")
        if request.reviewer_id == self._input.user_id:
            raise ValueError("a reviewer cannot review their own credit request")
