"""Starting, reading and acting on credit decisions.

The order of operations is what makes requests safe to retry and crashes harmless:

1. **Claim** a header row in ``credit_decisions`` first. The database, not the API, decides
   whether a new decision may exist: the unique ``(user_id, idempotency_key)`` constraint makes a
   repeated ``Idempotency-Key`` return the same decision, and the partial unique index
   ``uq_credit_decisions_one_open_per_user`` makes concurrent requests converge on one open
   decision.
2. **Start** the workflow under the row's business-key workflow id, with ``USE_EXISTING`` for a
   running workflow and ``REJECT_DUPLICATE`` for a closed one, so starting twice is harmless.
   If the process dies (or Temporal is down) between 1 and 2, the row stays ``PENDING`` and the
   next request for that user starts it: nothing is lost.
3. **Read** from the live workflow (``status`` query) while it is open, and from the append-only
   records once it is closed or Temporal is unreachable.

All database work runs in worker threads (``asyncio.to_thread``) because these functions are
called from async routes that also await Temporal.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    QueryRejectCondition,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.problems import TYPE_BASE, Problem
from api.resources import Resources
from api.schemas import DecisionActionResult, DecisionPublic, OfferPublic, ReviewQueueItem
from ecs.contracts import (
    QUERY_STATUS,
    UPDATE_WAIT_DECIDED,
    WORKFLOW_TYPE,
    CoolingOffConfig,
    DecisionInput,
    DecisionView,
    workflow_id_for,
)
from ecs.db.tables import CreditDecision, DecisionRecord, Offer
from ecs.domain.status import OPEN_DECISION_STATUSES, DecisionStatus, OfferStatus
from ecs.settings import Settings
from ecs.temporal.search import CREDIT_STATUS

log = logging.getLogger("ecs.api.decisions")

START_TIMEOUT = timedelta(seconds=5)
QUERY_TIMEOUT = timedelta(seconds=3)
UPDATE_TIMEOUT = timedelta(seconds=15)
RETRY_AFTER_SECONDS = "5"
_CLAIM_ATTEMPTS = 3
_OPEN = [s.value for s in OPEN_DECISION_STATUSES]
# Statuses in which a decision waits for a person (customer or analyst) to act.
_AWAITING_ACTION = frozenset(
    {DecisionStatus.OFFERED, DecisionStatus.COOLING_OFF, DecisionStatus.REFERRED}
)
# Any of these while talking to Temporal means "the workflow engine is unavailable right now".
_TEMPORAL_DOWN = (RPCError, RuntimeError, TimeoutError, OSError)


def location_of(decision_id: uuid.UUID) -> str:
    return f"/v1/credit-decisions/{decision_id}"


def temporal_unavailable(decision_id: uuid.UUID | None = None) -> Problem:
    """503 with Retry-After; names the decision when its header row is already safely stored."""
    extra: dict[str, Any] = {}
    headers = {"Retry-After": RETRY_AFTER_SECONDS}
    if decision_id is not None:
        extra["decision_id"] = str(decision_id)
        headers["Location"] = location_of(decision_id)
    return Problem(
        503,
        "The workflow engine is unreachable; retry shortly.",
        type_=TYPE_BASE + "workflow-engine-unavailable",
        title="Workflow engine unavailable",
        headers=headers,
        **extra,
    )


def not_found() -> Problem:
    # Another user's decision is "not found", never "forbidden": ids must not be an oracle.
    return Problem(404, "No such credit decision.", type_=TYPE_BASE + "not-found")


# --- 1. claim ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    decision: CreditDecision
    created: bool


def _by_key(session: Session, user_id: uuid.UUID, key: str) -> CreditDecision | None:
    return session.exec(
        select(CreditDecision).where(
            CreditDecision.user_id == user_id, CreditDecision.idempotency_key == key
        )
    ).first()


def _open_for(session: Session, user_id: uuid.UUID) -> CreditDecision | None:
    return session.exec(
        select(CreditDecision).where(
            CreditDecision.user_id == user_id, col(CreditDecision.status).in_(_OPEN)
        )
    ).first()


def claim_decision(engine: Engine, user_id: uuid.UUID, idempotency_key: str | None) -> Claim:
    """The decision this request is about: an existing one (same key, or the open one) or new.

    The insert is attempted rather than preceded by a "does one exist?" check, so the unique
    indexes arbitrate races; the loop covers the window in which the open decision that blocked
    our insert closes before we can read it.
    """
    for _ in range(_CLAIM_ATTEMPTS):
        with Session(engine, expire_on_commit=False) as session:
            if idempotency_key and (found := _by_key(session, user_id, idempotency_key)):
                return Claim(found, created=False)
            decision_id = uuid.uuid4()
            row = CreditDecision(
                id=decision_id,
                user_id=user_id,
                workflow_id=workflow_id_for(str(decision_id)),
                idempotency_key=idempotency_key,
                status=DecisionStatus.PENDING,
            )
            session.add(row)
            try:
                session.commit()
                return Claim(row, created=True)
            except IntegrityError:
                session.rollback()
            if idempotency_key and (found := _by_key(session, user_id, idempotency_key)):
                return Claim(found, created=False)
            if found := _open_for(session, user_id):
                return Claim(found, created=False)
    raise Problem(
        409,
        "Another credit request for this account is being processed; retry.",
        headers={"Retry-After": "1"},
    )


# --- 2. start ----------------------------------------------------------------------------------


def decision_input(decision: CreditDecision, settings: Settings) -> DecisionInput:
    """Thresholds are copied into the input: the workflow never reads settings (determinism)."""
    return DecisionInput(
        decision_id=str(decision.id),
        user_id=str(decision.user_id),
        offer_ttl_seconds=settings.offer_ttl_seconds,
        cooling_off=CoolingOffConfig(
            pause_seconds=settings.cooling_off_seconds,
            distress_stress=settings.cooling_off_distress_stress,
            distress_intensity=settings.cooling_off_distress_intensity,
            calm_stress=settings.cooling_off_calm_stress,
        ),
    )


def _start_options(decision: CreditDecision, settings: Settings) -> dict[str, Any]:
    """How every decision workflow is started (plain start or update-with-start alike)."""
    return {
        "id": decision.workflow_id,
        "task_queue": settings.temporal_task_queue,
        "id_conflict_policy": WorkflowIDConflictPolicy.USE_EXISTING,
        "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
        # What an operator sees first in the Web UI; no personal data (it is not encrypted).
        "static_summary": f"Credit decision {decision.id}",
        "static_details": (
            "Fetch history → score → apply policy → offer → accept / decline / expiry. "
            "Query `status` for the live state; signal `emotion` with plain JSON."
        ),
        "search_attributes": TypedSearchAttributes(
            [SearchAttributePair(CREDIT_STATUS, DecisionStatus.PENDING.value)]
        ),
    }


async def ensure_started(
    client: Client, decision: CreditDecision, settings: Settings, engine: Engine
) -> None:
    """Start the decision's workflow unless it already runs or ran (idempotent by workflow id)."""
    try:
        await client.start_workflow(
            WORKFLOW_TYPE,
            decision_input(decision, settings),
            rpc_timeout=START_TIMEOUT,
            **_start_options(decision, settings),
        )
    except WorkflowAlreadyStartedError:
        # A closed workflow with this id exists: the decision ran. If it ended abnormally
        # (an operator terminated it, a bug failed it), the header would stay open forever and
        # block the user; close it as FAILED so the next request starts afresh.
        await _close_if_abnormal(client, decision, engine)


_ABNORMAL_ENDS = frozenset(
    {
        WorkflowExecutionStatus.FAILED,
        WorkflowExecutionStatus.TERMINATED,
        WorkflowExecutionStatus.TIMED_OUT,
        WorkflowExecutionStatus.CANCELED,
    }
)


async def _close_if_abnormal(client: Client, decision: CreditDecision, engine: Engine) -> None:
    description = await client.get_workflow_handle(decision.workflow_id).describe()
    if description.status not in _ABNORMAL_ENDS:
        return
    log.warning(
        "closing decision whose workflow ended abnormally",
        extra={"workflow_id": decision.workflow_id, "temporal_status": str(description.status)},
    )
    decision.status = DecisionStatus.FAILED
    await asyncio.to_thread(_mark_failed, engine, decision.id)


def _mark_failed(engine: Engine, decision_id: uuid.UUID) -> None:
    with Session(engine) as session:
        row = session.get(CreditDecision, decision_id)
        if row is not None and row.status in OPEN_DECISION_STATUSES:
            row.status = DecisionStatus.FAILED
            session.add(row)
            # Its offer can no longer be accepted; leaving it OPEN would also block the user's
            # next offer (one open offer per user is a database rule).
            session.execute(
                update(Offer)
                .where(col(Offer.decision_id) == decision_id, col(Offer.status) == "OPEN")
                .values(status=OfferStatus.EXPIRED, settled_at=datetime.now(UTC))
            )
            session.commit()


async def connect_or_none(resources: Resources) -> Client | None:
    """The shared client, or ``None`` when Temporal cannot be reached (callers fall back)."""
    try:
        return await resources.temporal()
    except _TEMPORAL_DOWN as exc:
        log.warning("temporal unreachable", extra={"error": f"{type(exc).__name__}: {exc}"})
        return None


@dataclass(frozen=True)
class Requested:
    decision: DecisionPublic
    created: bool


async def request_decision(
    resources: Resources,
    user_id: uuid.UUID,
    idempotency_key: str | None,
    wait_seconds: float,
) -> Requested:
    """Claim the user's decision, make sure its workflow runs, optionally wait for an outcome."""
    claim = await asyncio.to_thread(claim_decision, resources.engine, user_id, idempotency_key)
    decision = claim.decision
    client = await connect_or_none(resources)
    if client is None:
        raise temporal_unavailable(decision.id)
    if claim.created and wait_seconds > 0:
        return Requested(await _start_and_wait(resources, client, decision, wait_seconds), True)
    if decision.status in OPEN_DECISION_STATUSES:
        # New, possibly never started (a crash or outage after the row was stored), or open in
        # the database while its workflow was terminated: ensure_started settles all three.
        try:
            await ensure_started(client, decision, resources.settings, resources.engine)
        except _TEMPORAL_DOWN as exc:
            log.warning(
                "could not start decision workflow",
                extra={"workflow_id": decision.workflow_id, "error": str(exc)},
            )
            raise temporal_unavailable(decision.id) from exc
        if decision.status is DecisionStatus.FAILED and not idempotency_key:
            return await request_decision(resources, user_id, idempotency_key, wait_seconds)
    if claim.created and wait_seconds <= 0:
        # Just started: it is PENDING by construction, no need to ask the workflow.
        return Requested(DecisionPublic.model_validate(_from_rows(decision, None, None)), True)
    view = await _wait_for_outcome(resources, client, decision, wait_seconds)
    return Requested(view, claim.created)


async def _start_and_wait(
    resources: Resources, client: Client, decision: CreditDecision, wait_seconds: float
) -> DecisionPublic:
    """Start the workflow and wait for its outcome in one round trip (update-with-start).

    The ``wait_decided`` update returns the moment the decision leaves PENDING, so the answer
    is not delayed by a polling interval and the worker answers no repeated queries.
    """
    start: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
        WORKFLOW_TYPE,
        decision_input(decision, resources.settings),
        **_start_options(decision, resources.settings),
    )
    try:
        view: DecisionView = await asyncio.wait_for(
            client.execute_update_with_start_workflow(
                UPDATE_WAIT_DECIDED, start_workflow_operation=start, result_type=DecisionView
            ),
            timeout=wait_seconds,
        )
        return _from_live(view, decision)
    except TimeoutError:
        # Not decided in time. The start may or may not have reached the server before the
        # call was abandoned: make sure it did (idempotent), then answer "still pending".
        pass
    except _TEMPORAL_DOWN as exc:
        raise temporal_unavailable(decision.id) from exc
    try:
        await ensure_started(client, decision, resources.settings, resources.engine)
    except _TEMPORAL_DOWN as exc:
        raise temporal_unavailable(decision.id) from exc
    return DecisionPublic.model_validate(_from_rows(decision, None, None))


async def _wait_for_outcome(
    resources: Resources, client: Client, decision: CreditDecision, wait_seconds: float
) -> DecisionPublic:
    """The decision as it stands, after waiting up to ``wait_seconds`` for it to leave PENDING."""
    live: DecisionView | None = None
    if wait_seconds > 0:
        handle = client.get_workflow_handle(decision.workflow_id)
        try:
            live = await asyncio.wait_for(
                handle.execute_update(UPDATE_WAIT_DECIDED, result_type=DecisionView),
                timeout=wait_seconds,
            )
        except TimeoutError:
            live = await live_view(client, decision.workflow_id)
        except (WorkflowUpdateFailedError, RPCError):
            live = None  # closed (or unknown): the database has the final word
    else:
        live = await live_view(client, decision.workflow_id)
    if live is None:
        return await asyncio.to_thread(stored_view, resources.engine, decision.id)
    return _from_live(live, decision)


# --- 3. read -----------------------------------------------------------------------------------


async def live_view(
    client: Client, workflow_id: str, timeout: timedelta = QUERY_TIMEOUT
) -> DecisionView | None:
    """The running workflow's own view, or ``None`` when it is closed, unknown or unreachable."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        view: DecisionView = await handle.query(
            QUERY_STATUS,
            result_type=DecisionView,
            reject_condition=QueryRejectCondition.NOT_OPEN,
            rpc_timeout=timeout,
        )
        return view
    except WorkflowQueryRejectedError:
        return None  # closed: the database holds the final facts
    except (WorkflowQueryFailedError, *_TEMPORAL_DOWN) as exc:
        log.info("status query failed; reading the database", extra={"error": str(exc)})
        return None


def _from_live(view: DecisionView, decision: CreditDecision) -> DecisionPublic:
    offer = None
    if view.offer is not None:
        offer = OfferPublic(
            id=uuid.UUID(view.offer.offer_id),
            credit_limit=view.offer.credit_limit,
            interest_rate=view.offer.interest_rate,
            credit_type=view.offer.credit_type,
            expires_at=view.offer.expires_at,
        )
    return DecisionPublic(
        id=decision.id,
        status=view.status,
        approved=view.approved,
        risk_score=view.risk_score,
        risk_band=view.risk_band,
        credit_limit=view.credit_limit,
        interest_rate=view.interest_rate,
        credit_type=view.credit_type,
        reason_codes=list(view.reason_codes),
        offer=offer,
        cooling_off_until=view.cooling_off_until,
        model_version=view.model_version,
        policy_version=view.policy_version,
        requested_at=decision.requested_at,
        updated_at=view.updated_at or decision.updated_at,
        source="workflow",
    )


def _from_rows(
    decision: CreditDecision, record: DecisionRecord | None, offer: Offer | None
) -> dict[str, Any]:
    approved = None if record is None else record.outcome == "APPROVED"
    terms = record is not None and approved
    return {
        "id": decision.id,
        "status": decision.status,
        "approved": approved,
        "risk_score": record.risk_score if record else None,
        "risk_band": record.risk_band if record else None,
        "credit_limit": record.credit_limit if record and terms else None,
        "interest_rate": record.interest_rate if record and terms else None,
        "credit_type": record.credit_type if record and terms else None,
        "reason_codes": list(record.reason_codes) if record else [],
        "offer": OfferPublic.model_validate(offer) if offer else None,
        "model_version": record.model_version if record else None,
        "policy_version": record.policy_version if record else None,
        "requested_at": decision.requested_at,
        "updated_at": decision.updated_at,
        "source": "database",
    }


def _latest_records(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, DecisionRecord]:
    """The newest audit record per decision (records are append-only; the last one counts)."""
    latest: dict[uuid.UUID, DecisionRecord] = {}
    if not ids:
        return latest
    rows = session.exec(
        select(DecisionRecord)
        .where(col(DecisionRecord.decision_id).in_(ids))
        .order_by(col(DecisionRecord.created_at), col(DecisionRecord.id))
    ).all()
    for row in rows:
        latest[row.decision_id] = row
    return latest


def _offers(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Offer]:
    if not ids:
        return {}
    rows = session.exec(select(Offer).where(col(Offer.decision_id).in_(ids))).all()
    return {row.decision_id: row for row in rows}


def stored_views(session: Session, decisions: Sequence[CreditDecision]) -> list[DecisionPublic]:
    """Database views of many decisions in three queries (no N+1)."""
    ids = [d.id for d in decisions]
    records, offers = _latest_records(session, ids), _offers(session, ids)
    return [
        DecisionPublic.model_validate(_from_rows(d, records.get(d.id), offers.get(d.id)))
        for d in decisions
    ]


def stored_view(engine: Engine, decision_id: uuid.UUID) -> DecisionPublic:
    with Session(engine, expire_on_commit=False) as session:
        decision = session.get(CreditDecision, decision_id)
        if decision is None:
            raise not_found()
        return stored_views(session, [decision])[0]


def review_queue(session: Session, limit: int, offset: int) -> list[ReviewQueueItem]:
    """REFERRED decisions, oldest first: the analyst works the queue in arrival order."""
    rows = session.exec(
        select(CreditDecision)
        .where(CreditDecision.status == DecisionStatus.REFERRED)
        .order_by(col(CreditDecision.requested_at), col(CreditDecision.id))
        .offset(offset)
        .limit(limit)
    ).all()
    ids = [d.id for d in rows]
    records, offers = _latest_records(session, ids), _offers(session, ids)
    return [
        ReviewQueueItem.model_validate(
            {**_from_rows(d, records.get(d.id), offers.get(d.id)), "user_id": d.user_id}
        )
        for d in rows
    ]


def load_decision(
    engine: Engine, decision_id: uuid.UUID, owner_id: uuid.UUID | None
) -> CreditDecision:
    """The decision, checked to belong to ``owner_id`` (``None``: any owner, for analysts)."""
    with Session(engine, expire_on_commit=False) as session:
        decision = session.get(CreditDecision, decision_id)
    if decision is None or (owner_id is not None and decision.user_id != owner_id):
        raise not_found()
    return decision


async def get_decision(
    resources: Resources, user_id: uuid.UUID, decision_id: uuid.UUID
) -> DecisionPublic:
    """Live view while the workflow runs; stored view when closed or Temporal is down."""
    decision = await asyncio.to_thread(load_decision, resources.engine, decision_id, user_id)
    if decision.status in OPEN_DECISION_STATUSES:
        client = await connect_or_none(resources)
        live = await live_view(client, decision.workflow_id) if client else None
        if live is not None:
            return _from_live(live, decision)
    return await asyncio.to_thread(stored_view, resources.engine, decision.id)


# --- actions (workflow updates) ----------------------------------------------------------------


async def apply_update(
    resources: Resources,
    decision_id: uuid.UUID,
    owner_id: uuid.UUID | None,
    update: str,
    argument: BaseModel,
    commits_to: DecisionStatus | None = None,
) -> DecisionActionResult:
    """Run a workflow update; the workflow's validator is the authority on what is allowed.

    An accepted update is durable, but the handler returns before the workflow acts on it, so
    its reported status can still be the pre-action one (``OFFERED`` right after an accept).
    ``commits_to`` is the status the accepted update commits the decision to; it is reported
    instead of such a pre-action status, so clients do not read "OFFERED" as "not accepted".

    A validator rejection (offer not open, decision not REFERRED, wrong user) becomes a 409 with
    the validator's own message. A decision the database already shows as closed is refused
    without a round trip: the projection can lag the workflow but never run ahead of it.
    """
    decision = await asyncio.to_thread(load_decision, resources.engine, decision_id, owner_id)
    if decision.status not in OPEN_DECISION_STATUSES:
        raise _conflict(f"The decision is {decision.status}; nothing can change it now.")
    client = await connect_or_none(resources)
    if client is None:
        raise temporal_unavailable()
    handle = client.get_workflow_handle(decision.workflow_id)
    try:
        result = await handle.execute_update(update, argument, rpc_timeout=UPDATE_TIMEOUT)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        raise _conflict(getattr(cause, "message", None) or str(cause) or str(exc)) from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise temporal_unavailable() from exc
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise _conflict("The decision's workflow is not running.") from exc
        raise temporal_unavailable() from exc
    except _TEMPORAL_DOWN as exc:
        raise temporal_unavailable() from exc
    status = _status_of(result)
    if status is None:
        live = await live_view(client, decision.workflow_id)
        status = live.status if live else str(decision.status)
    if commits_to is not None and status in _AWAITING_ACTION:
        status = commits_to
    return DecisionActionResult(decision_id=decision.id, status=status)


def _conflict(detail: str) -> Problem:
    return Problem(409, detail, type_=TYPE_BASE + "decision-conflict", title="Decision conflict")


def _status_of(result: Any) -> str | None:
    """Updates may return a DecisionView, a bare status string or nothing; accept all three."""
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    if isinstance(result, dict) and isinstance(result.get("status"), str):
        return str(result["status"])
    if isinstance(result, str) and result in DecisionStatus.__members__:
        return result
    return None
