"""``CreditDecisionWorkflow``: one durable process per credit request.

    fetch_history → (cooling-off?) → score → approve → notify
        → REFERRED: wait for an analyst's ``review`` update → approve (review) → notify
        → OFFERED:  wait for ``accept`` / ``decline`` or the expiry timer
              accept → accept_and_deploy → notify
        → DENIED:   (with review rules) the contest window, then done
    ``emotion`` signals may pause the decision (cooling-off) before scoring or while the offer is
    open: the pause ends on a calmer reading or its timer, and blocks acceptance meanwhile.
    A ``contest`` update (an automated denial in its window, or an open offer's terms) puts the
    decision back in the review queue (CONTESTED); the analyst's ``review`` outcome goes round the
    same loop (a denial again, or an offer). Reviews escalate past their deadline and approvals
    above the four-eyes limit wait for a ``confirm`` update (``workflows.review``).

``fetch_history``, ``score`` and ``approve`` run as *local* activities: each is a few
milliseconds of database or CPU work, and running them inside the workflow task saves a server
round trip per step (measured: the offer exists ~20 ms sooner). They keep their retry policies;
``notify`` and ``accept_and_deploy`` stay regular activities: notify may wait on outside
systems, and the money moves only once the accept is in history (a local activity would deploy
inside the very workflow task that records the accept, before it is durable).

Accepting was ``settle_offer`` then ``deploy_credit``; one ``accept_and_deploy`` transaction does
both (``ACCEPT_IN_ONE_STEP_PATCH``), a server round trip and an activity less on the way to an
active credit line. Decisions whose accept ran before the patch replay the two steps. The same
transaction records the app's "credit active" notice (``NOTICE_WITH_DEPLOYMENT_PATCH``) instead
of a ``notify`` after it: one activity and one workflow task fewer per accepted offer (Temporal's
server costs ~11 ms of CPU per regular activity here, ``bench/README.md``); decisions accepted
before that patch replay the separate ``notify``.

Activities are called through their declarations in ``activities.interface`` (the calls live in
``workflows.steps``) and handlers are registered under the names in ``ecs.contracts``, so mypy
checks every call and the names on the wire stay the plain strings the CLI and Web UI use.
Everything the decision remembers lives in one ``DecisionState``; what handlers accept is in
``workflows.rules``, what the decision shows in ``workflows.summary``.

History stays small: while the decision only waits (for an analyst, a reading, the offer's end
or a pause's timer) and the server suggests it, or history passes ``MAX_HISTORY_EVENTS``, the
workflow lets running update handlers finish and continues as new with its whole state in
``DecisionInput.carried`` (status, offer and expiry, pause, remembered event ids, notifications
already sent). A run that starts carried picks up at the same wait, so a decision outlives any
number of emotion signals.

Deterministic code only: time is ``workflow.now()``, no I/O, and the only imports passed through
the sandbox are pydantic message modules, the pure domain and the activity declarations.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.interface import Decisions
    from activities.messages import HistorySnapshot
    from ecs.contracts import (
        QUERY_STATUS,
        SIGNAL_EMOTION,
        UPDATE_ACCEPT,
        UPDATE_CONFIRM,
        UPDATE_CONTEST,
        UPDATE_DECLINE,
        UPDATE_REVIEW,
        UPDATE_WAIT_DECIDED,
        AcceptRequest,
        ConfirmRequest,
        ContestRequest,
        DecisionInput,
        DecisionState,
        DecisionView,
        DeclineRequest,
        EmotionSignal,
        ReviewRequest,
    )
    from ecs.domain.emotions import is_acute_distress
    from ecs.domain.policy import Decision
    from ecs.domain.status import REVIEW_QUEUE_STATUSES, DecisionStatus
    from workflows import metrics, rules, summary
    from workflows.options import LOCAL_RETRY_THRESHOLD, MODEL_RETRY, MODEL_TIMEOUT
    from workflows.review import ReviewSteps

CONTINUE_AS_NEW_PATCH = "continue-as-new-when-history-is-large"
ACCEPT_IN_ONE_STEP_PATCH = "accept-and-deploy-in-one-activity"
"""Decisions started before continue-as-new existed keep running without it: a past workflow
task where the server already suggested it must replay as it ran."""
NOTICE_WITH_DEPLOYMENT_PATCH = "credit-active-notice-with-the-deployment"
_IN_REVIEW = REVIEW_QUEUE_STATUSES


@workflow.defn(name="CreditDecisionWorkflow")
class CreditDecisionWorkflow(ReviewSteps):
    @workflow.init
    def __init__(self, inp: DecisionInput) -> None:
        self._input = inp
        self._s = inp.carried.model_copy(deep=True) if inp.carried else DecisionState()
        self._may_continue = inp.carried is not None
        self._accepted_at: datetime | None = None  # for the accept → active metric only

    # -- main path -----------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: DecisionInput) -> DecisionView:
        s = self._s
        if inp.carried is None:
            self._may_continue = workflow.patched(CONTINUE_AS_NEW_PATCH)
            self._set_status(DecisionStatus.PENDING)
            metrics.decision_started()
            history = await self._fetch_history()
            if s.distressed or self._recent_distress_in(history):
                await self._cool_off("acute distress before scoring", until=None)
                history = await self._fetch_history()  # the pause may have brought new data
            await self._decide(history)
        else:  # continued as new: pick up where the last run stopped waiting
            workflow.set_current_details(summary.details_of(s))
            if s.outcome is None:  # in a pause before scoring
                await self._pause()
                await self._decide(await self._fetch_history())

        while True:  # once, unless the customer contests (then the review's outcome goes round)
            if s.status in _IN_REVIEW:
                contested = s.contest is not None
                await self._notify_once(summary.CONTEST_RECEIVED if contested else summary.REFERRED)
                await self._await_review()
                if contested:
                    await self._notify_once(*summary.review_outcome(s))

            if self._decision is Decision.DENIED:
                await self._notify_once(summary.DENIED)
                if await self._contested_in_window():
                    continue
                return self.status()

            assert s.offer is not None
            await self._notify_once(summary.offer_ready(s.offer), {"offer_id": s.offer.offer_id})
            if not await self._wait_for_offer_outcome():
                return self.status()

    async def _decide(self, history: HistorySnapshot) -> None:
        """Score (a model outage beyond the retry budget refers), then apply the policy."""
        s = self._s
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
        metrics.decision_outcome(self._decision.value)
        if self._decision is Decision.APPROVED:
            metrics.request_to_offer(workflow.now() - workflow.info().start_time)

    async def _wait_for_offer_outcome(self) -> bool:
        """Until accept, decline or expiry (False), or the customer contests the terms (True:
        the decision is in the review queue, and the review's outcome is a new offer)."""
        s = self._s
        assert s.offer is not None
        offer = s.offer
        while s.settlement is None:
            if self._terms_contested():
                return True
            remaining = (offer.expires_at - workflow.now()).total_seconds()
            if remaining <= 0:
                break
            if s.cooling_off_until is not None:  # a pause carried over from the last run
                await self._pause()
                continue
            if s.distressed:
                await self._cool_off("acute distress while the offer is open", offer.expires_at)
                continue
            try:
                await workflow.wait_condition(
                    lambda: (
                        s.settlement is not None
                        or s.distressed
                        or self._history_full()
                        or self._terms_contested()
                    ),
                    timeout=remaining,
                    timeout_summary="offer expiry",
                )
            except TimeoutError:
                break
            await self._continue_as_new_if(
                lambda: s.settlement is None and not s.distressed and not self._terms_contested()
            )

        if s.settlement is None and s.contest_pending:  # expiry met a contest being opened
            await workflow.wait_condition(lambda: not s.contest_pending)
            if self._terms_contested():
                return True
        if s.settlement is None:
            await self._settle("EXPIRED", DecisionStatus.EXPIRED)
            await self._notify(summary.EXPIRED)
        elif s.settlement == "DECLINED":
            await self._settle("DECLINED", DecisionStatus.DECLINED)
        else:
            active = summary.credit_active(offer)
            told = False  # the notice committed with the deployment
            if workflow.patched(ACCEPT_IN_ONE_STEP_PATCH):
                self._set_status(DecisionStatus.ACCEPTED)
                told = workflow.patched(NOTICE_WITH_DEPLOYMENT_PATCH)
                await self._accept_and_deploy(offer, active if told else None)
            else:
                await self._settle("ACCEPTED", DecisionStatus.ACCEPTED)
                await self._deploy(offer)
            self._set_status(DecisionStatus.ACTIVE)
            if self._accepted_at is not None:
                metrics.accept_to_active(workflow.now() - self._accepted_at)
            if told:
                self._s.notified.append(active.kind)
            else:
                await self._notify(active)
        return False

    def _terms_contested(self) -> bool:
        """The customer contested and no analyst has answered yet."""
        return self._s.contest is not None and not self._s.reviewed

    # -- steps ---------------------------------------------------------------------------------

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
        metrics.cooling_off_paused()
        await self._record_status(DecisionStatus.COOLING_OFF)
        await self._pause()

    async def _pause(self) -> None:
        """The wait of a pause (begun in this run or carried over), then back to where it was."""
        s = self._s
        assert s.cooling_off_until is not None and s.paused_from is not None
        ends = s.cooling_off_until

        def still_paused() -> bool:
            return s.distressed and s.settlement != "DECLINED"

        while True:  # waits at least once, as the recorded histories do
            try:
                await workflow.wait_condition(
                    lambda: not still_paused() or self._history_full(),
                    timeout=max((ends - workflow.now()).total_seconds(), 0.001),
                    timeout_summary="cooling-off pause",
                )
            except TimeoutError:
                break  # the timer ending the pause is a normal exit
            if not still_paused():
                break
            await self._continue_as_new_if(still_paused)
        previous = s.paused_from
        s.distressed = False
        s.cooling_off_until = s.cooling_off_reason = s.paused_from = None
        self._set_status(previous)
        await self._record_status(previous)

    # -- signals, queries, updates -------------------------------------------------------------

    @workflow.signal(name=SIGNAL_EMOTION)
    def emotion(self, reading: EmotionSignal) -> None:
        rules.apply_reading(self._s, self._input, reading)
        workflow.set_current_details(summary.details_of(self._s))

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
        self._accepted_at = workflow.now()
        return self.status()

    @accept.validator
    def _validate_accept(self, request: AcceptRequest) -> None:
        rules.check_accept(self._s, self._input, request.user_id, workflow.now())

    @workflow.update(name=UPDATE_DECLINE)
    def decline(self, request: DeclineRequest) -> DecisionView:
        self._s.settlement = "DECLINED"
        return self.status()

    @decline.validator
    def _validate_decline(self, request: DeclineRequest) -> None:
        rules.check_offer_open(self._s, self._input, request.user_id, workflow.now())

    @workflow.update(name=UPDATE_REVIEW)
    def review(self, request: ReviewRequest) -> DecisionView:
        self._s.review = request
        return self.status()

    @review.validator
    def _validate_review(self, request: ReviewRequest) -> None:
        rules.check_review(self._s, self._input, request)

    @workflow.update(name=UPDATE_CONTEST)
    async def contest(self, request: ContestRequest) -> DecisionView:
        """The customer asks for human review: recorded (and refused while another decision of
        theirs is open) before the answer, so an accepted contest is in the queue."""
        s, review_rules = self._s, self._input.review_rules
        assert review_rules is not None
        due = workflow.now() + timedelta(seconds=review_rules.deadline_seconds)
        s.contest_pending = True
        try:
            await self._open_contest(request, due)
        except ActivityError as exc:
            cause = exc.cause if isinstance(exc.cause, ApplicationError) else None
            raise ApplicationError(
                cause.message if cause else str(exc), type=cause.type if cause else None
            ) from None
        finally:
            s.contest_pending = False
        s.contest, s.review_due_at, s.escalated = request, due, False
        s.queue_status = DecisionStatus.CONTESTED
        self._set_status(DecisionStatus.CONTESTED)
        return self.status()

    @contest.validator
    def _validate_contest(self, request: ContestRequest) -> None:
        rules.check_contest(self._s, self._input, request, workflow.now())

    @workflow.update(name=UPDATE_CONFIRM)
    def confirm(self, request: ConfirmRequest) -> DecisionView:
        self._s.confirmation = request
        return self.status()

    @confirm.validator
    def _validate_confirm(self, request: ConfirmRequest) -> None:
        rules.check_confirm(self._s, self._input, request)
