"""The credit use cases the API calls: request a decision, read it, act on it.

The order of operations is what makes requests safe to retry and crashes harmless:

1. **Claim** the header row first (``claims``): the database decides whether a new decision
   may exist.
2. **Start** its workflow under the row's business-key id (``engine.ensure_started``), so
   starting twice is harmless and a row left PENDING by a crash is started by the next request.
3. **Read** the live workflow while it is open, the append-only records once it is closed or
   Temporal is unreachable; both become the same view (``views``).

Acting (accept, decline, review) is an update under an id derived from what it acts on, so a
retry after any earlier answer (a timeout, a 503, a lost response) gets the decision's real
outcome: "already accepted by you" is a success, never "no open offer".

All database work runs in worker threads (``asyncio.to_thread``): these are called from async
routes that also await Temporal.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client

from ecs import errors
from ecs.contracts import (
    UPDATE_ACCEPT,
    UPDATE_CONFIRM,
    UPDATE_CONTEST,
    UPDATE_DECLINE,
    UPDATE_REVIEW,
    AcceptRequest,
    ConfirmRequest,
    ContestRequest,
    DeclineRequest,
    ReviewRequest,
)
from ecs.credit import engine, queries, views
from ecs.credit.claims import claim_decision
from ecs.credit.projection import close_dead
from ecs.credit.review_case import ReviewCase, review_case
from ecs.db.tables import CreditDecision, Offer
from ecs.domain.review import ReviewRules
from ecs.domain.status import OPEN_DECISION_STATUSES, DecisionStatus, RecordKind
from ecs.settings import Settings

# Statuses in which a decision waits for a person (customer or analyst) to act.
_AWAITING_ACTION = frozenset(
    {
        DecisionStatus.OFFERED,
        DecisionStatus.COOLING_OFF,
        DecisionStatus.REFERRED,
        DecisionStatus.CONTESTED,
        DecisionStatus.CONFIRMING,
    }
)


class Backends(Protocol):
    """What the use cases need; the API's ``Resources`` is one."""

    engine: Engine
    settings: Settings

    async def temporal(self) -> Client: ...


# --- request and read --------------------------------------------------------------------------


@dataclass(frozen=True)
class Requested:
    decision: views.DecisionSummary
    created: bool


async def request_decision(
    backends: Backends, user_id: uuid.UUID, idempotency_key: str | None, wait_seconds: float
) -> Requested:
    """Claim the user's decision, make sure its workflow runs, optionally wait for an outcome.

    A wait that runs out is an answer ("still PENDING"), never an error, and the workflow is
    started before it is given.
    """
    claim = await asyncio.to_thread(claim_decision, backends.engine, user_id, idempotency_key)
    decision = claim.decision
    client = await engine.connect(backends.temporal, decision.id)
    settings = backends.settings
    if claim.created:
        if wait_seconds > 0:
            live = await engine.start_and_wait(client, decision, settings, wait_seconds)
            if live is not None:
                return Requested(views.from_workflow(decision, live), created=True)
        else:
            await engine.ensure_started(client, decision, settings)
        # Just started: PENDING by construction, no need to ask the workflow.
        return Requested(views.from_rows(decision, None, None), created=True)
    if decision.status in OPEN_DECISION_STATUSES:
        # Open in the database: possibly never started (a crash or outage after the row was
        # stored), or its workflow died. ensure_started settles both.
        started = await engine.ensure_started(client, decision, settings)
        if started.ended_abnormally:
            await asyncio.to_thread(_close, backends.engine, decision.id)
            if not idempotency_key:
                return await request_decision(backends, user_id, None, wait_seconds)
            decision = await asyncio.to_thread(
                queries.load_decision, backends.engine, decision.id, None
            )
    return Requested(await _current(backends, client, decision, wait_seconds), created=False)


async def _current(
    backends: Backends, client: Client | None, decision: CreditDecision, wait_seconds: float = 0
) -> views.DecisionSummary:
    """The decision as it stands, after waiting up to ``wait_seconds`` for it to leave PENDING."""
    live = None
    if client is not None and decision.status in OPEN_DECISION_STATUSES:
        if wait_seconds > 0:
            live = await engine.wait_decided(client, decision.workflow_id, wait_seconds)
        live = live or await engine.query(client, decision.workflow_id)
    if live is not None:
        return views.from_workflow(decision, live)
    return await asyncio.to_thread(queries.stored_view, backends.engine, decision.id)


async def get_decision(
    backends: Backends, user_id: uuid.UUID, decision_id: uuid.UUID
) -> views.DecisionSummary:
    """Live view while the workflow runs; stored view when closed or Temporal is down."""
    decision = await asyncio.to_thread(queries.load_decision, backends.engine, decision_id, user_id)
    client = None
    if decision.status in OPEN_DECISION_STATUSES:
        client = await engine.connect_or_none(backends.temporal)
    return await _current(backends, client, decision)


def _close(db: Engine, decision_id: uuid.UUID) -> None:
    with Session(db) as session:
        close_dead(session, [decision_id])
        session.commit()


# --- actions (workflow updates) ----------------------------------------------------------------


@dataclass(frozen=True)
class Acted:
    """The action took effect (now or on an earlier attempt); effects follow asynchronously."""

    decision_id: uuid.UUID
    status: DecisionStatus


@dataclass(frozen=True)
class _Action:
    update: str
    argument: BaseModel
    update_id: str
    commits_to: DecisionStatus  # reported while the workflow has not acted on it yet
    done_when: frozenset[DecisionStatus]  # statuses showing this action already took effect
    also_when: frozenset[DecisionStatus] = frozenset()  # closed statuses it may still act on


async def accept_offer(backends: Backends, decision_id: uuid.UUID, user_id: uuid.UUID) -> Acted:
    decision, offer = await _with_offer(backends, decision_id, user_id)
    action = _Action(
        UPDATE_ACCEPT,
        AcceptRequest(user_id=str(user_id)),
        _update_id(decision, offer, "accept"),
        commits_to=DecisionStatus.ACCEPTED,
        done_when=frozenset({DecisionStatus.ACCEPTED, DecisionStatus.ACTIVE}),
    )
    return await _act(backends, decision, action)


async def decline_offer(
    backends: Backends, decision_id: uuid.UUID, user_id: uuid.UUID, reason: str | None
) -> Acted:
    decision, offer = await _with_offer(backends, decision_id, user_id)
    action = _Action(
        UPDATE_DECLINE,
        DeclineRequest(user_id=str(user_id), reason=reason),
        _update_id(decision, offer, "decline"),
        commits_to=DecisionStatus.DECLINED,
        done_when=frozenset({DecisionStatus.DECLINED}),
    )
    return await _act(backends, decision, action)


async def review_decision(
    backends: Backends, decision_id: uuid.UUID, request: ReviewRequest
) -> Acted:
    """An analyst's resolution of a referred or contested decision. The update id is derived
    from the whole resolution, so only a retry of the very same one is deduplicated; any other
    later review (a different resolution, another analyst) is refused by the workflow. An
    approval above the four-eyes limit is reported CONFIRMING: a second analyst must confirm."""
    decision = await asyncio.to_thread(queries.load_decision, backends.engine, decision_id, None)
    digest = await _review_digest(backends, decision.id, request)
    rules = ReviewRules.from_settings(backends.settings)
    if not request.approve:
        commits_to = DecisionStatus.DENIED
    elif rules.needs_second_analyst(request.credit_limit):
        commits_to = DecisionStatus.CONFIRMING
    else:
        commits_to = DecisionStatus.OFFERED
    action = _Action(
        UPDATE_REVIEW, request, f"review-{decision.id}-{digest}", commits_to, frozenset()
    )
    return await _act(backends, decision, action)


async def confirm_review(
    backends: Backends, decision_id: uuid.UUID, request: ConfirmRequest
) -> Acted:
    """The second analyst's answer to a four-eyes approval: confirmed, the offer goes out;
    rejected, the decision goes back to the queue it came from."""
    decision = await asyncio.to_thread(queries.load_decision, backends.engine, decision_id, None)
    digest = await _review_digest(backends, decision.id, request)
    if request.confirm:
        commits_to = DecisionStatus.OFFERED
    else:
        contested = await asyncio.to_thread(_contested, backends.engine, decision.id)
        commits_to = DecisionStatus.CONTESTED if contested else DecisionStatus.REFERRED
    action = _Action(
        UPDATE_CONFIRM, request, f"confirm-{decision.id}-{digest}", commits_to, frozenset()
    )
    return await _act(backends, decision, action)


async def contest_decision(
    backends: Backends, decision_id: uuid.UUID, user_id: uuid.UUID, reason: str
) -> Acted:
    """The customer asks for human review of an automated decision (a denial, within the
    window, or an open offer's terms). One contest per decision: a retry attaches to it."""
    decision = await asyncio.to_thread(queries.load_decision, backends.engine, decision_id, user_id)
    action = _Action(
        UPDATE_CONTEST,
        ContestRequest(user_id=str(user_id), reason=reason),
        f"contest-{decision.id}",
        commits_to=DecisionStatus.CONTESTED,
        done_when=frozenset({DecisionStatus.CONTESTED, DecisionStatus.CONFIRMING}),
        also_when=frozenset({DecisionStatus.DENIED}),  # its workflow waits out the window
    )
    return await _act(backends, decision, action)


async def get_review_case(backends: Backends, decision_id: uuid.UUID) -> ReviewCase:
    limit = backends.settings.four_eyes_limit

    def read() -> ReviewCase:
        with Session(backends.engine) as session:
            return review_case(session, decision_id, limit)

    return await asyncio.to_thread(read)


async def _review_digest(
    backends: Backends, decision_id: uuid.UUID, request: ReviewRequest | ConfirmRequest
) -> str:
    """The request and its four-eyes round: a retry of the same request (before or after it
    took effect) gets the same update id, while the same words in a later round (a review
    after a rejection, a confirmation of a new proposal) are new, not a duplicate Temporal
    would answer with the first one's result."""
    kind = RecordKind.CONFIRMATION if isinstance(request, ReviewRequest) else RecordKind.PROPOSAL
    records = await asyncio.to_thread(queries.record_count, backends.engine, decision_id, kind)
    payload = f"{records}:{request.model_dump_json()}".encode()
    return hashlib.sha256(payload).hexdigest()[:32]


def _contested(db: Engine, decision_id: uuid.UUID) -> bool:
    with Session(db) as session:
        return bool(queries.contested_ids(session, [decision_id]))


async def _with_offer(
    backends: Backends, decision_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[CreditDecision, Offer | None]:
    """The customer's decision and its offer, in one read: one thread hop and one statement
    before the update, where there were two of each."""
    return await asyncio.to_thread(
        queries.decision_with_offer, backends.engine, decision_id, user_id
    )


def _update_id(decision: CreditDecision, offer: Offer | None, verb: str) -> str:
    """``accept-<offer id>``: one accept per offer, whichever request (or retry) carries it."""
    return f"{verb}-{offer.id if offer else decision.id}"


async def _act(backends: Backends, decision: CreditDecision, action: _Action) -> Acted:
    """Run the action's update; the workflow's validator is the authority on what is allowed.

    An accepted update is durable, but the handler returns before the workflow acts on it, so
    its reported status can still be the pre-action one (``OFFERED`` right after an accept):
    ``commits_to`` is reported instead, so clients do not read "OFFERED" as "not accepted".
    A refusal is checked against the decision's real state first: if the action already took
    effect (an earlier attempt whose answer was lost), that is the answer.
    """
    if decision.status not in OPEN_DECISION_STATUSES | action.also_when:
        # The projection can lag the workflow but never run ahead of it: closed is final.
        return _settled(decision, decision.status, action)
    client = await engine.connect(backends.temporal)
    try:
        result = await engine.update(
            client, decision.workflow_id, action.update, action.argument, action.update_id
        )
    except engine.Rejected as exc:
        status = await _status_now(backends, client, decision)
        if status in action.done_when:
            return Acted(decision.id, status)
        raise _conflict(exc.reason) from exc
    except engine.NotRunning as exc:
        # Closed (or never started): the database has the final word. A run that died without
        # recording its end is closed here, so the decision does not look open forever.
        if await engine.execution_status(client, decision.workflow_id) in engine.ABNORMAL_ENDS:
            await asyncio.to_thread(_close, backends.engine, decision.id)
        stored = await asyncio.to_thread(queries.load_decision, backends.engine, decision.id, None)
        return _settled(stored, stored.status, action, cause=exc)
    status = _status_of(result) or await _status_now(backends, client, decision)
    if status in _AWAITING_ACTION:
        status = action.commits_to
    return Acted(decision.id, status)


def _settled(
    decision: CreditDecision,
    status: DecisionStatus,
    action: _Action,
    cause: Exception | None = None,
) -> Acted:
    if status in action.done_when:
        return Acted(decision.id, status)
    if status in OPEN_DECISION_STATUSES:  # e.g. PENDING: its workflow has not started yet
        raise _conflict(f"Nothing to act on yet: the decision is {status}.") from cause
    raise _conflict(f"The decision is {status}; nothing can change it now.") from cause


async def _status_now(
    backends: Backends, client: Client, decision: CreditDecision
) -> DecisionStatus:
    live = await engine.query(client, decision.workflow_id)
    if live is not None:
        return live.status
    stored = await asyncio.to_thread(queries.load_decision, backends.engine, decision.id, None)
    return stored.status


def _conflict(detail: str) -> errors.Conflict:
    return errors.Conflict(detail, code="decision-conflict", title="Decision conflict")


def _status_of(result: Any) -> DecisionStatus | None:
    """Updates may return a DecisionView, a bare status string or nothing; accept all three."""
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    if isinstance(result, dict):
        result = result.get("status")
    if isinstance(result, str) and result in DecisionStatus.__members__:
        return DecisionStatus(result)
    return None
