"""Credit decisions: request one, read it, accept or decline its offer.

Routes only translate HTTP to service calls (``api.services.decisions``); the workflow decides.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, Response, status
from sqlmodel import col, select

from api.deps import ResourcesDep, SessionDep
from api.schemas import (
    DecisionActionResult,
    DecisionPublic,
    DeclineBody,
    Limit,
    Offset,
    Page,
)
from api.security import CurrentUser
from api.services import decisions as service
from ecs.contracts import UPDATE_ACCEPT, UPDATE_DECLINE, AcceptRequest, DeclineRequest
from ecs.db.tables import CreditDecision
from ecs.domain.status import DecisionStatus

router = APIRouter(prefix="/credit-decisions", tags=["credit decisions"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        description="Repeat a request safely: the same key always returns the same decision.",
    ),
]
Wait = Annotated[
    float,
    Query(ge=0, le=30, description="Seconds to wait for the outcome before answering 202."),
]
_PROBLEM = {"description": "Problem body", "content": {"application/problem+json": {}}}


@router.post(
    "",
    response_model=DecisionPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Request a credit decision",
    responses={
        200: {"description": "An open decision already exists (or the same Idempotency-Key)"},
        201: {"description": "Decided within `wait` seconds"},
        202: {"description": "Accepted; poll the Location"},
        503: {**_PROBLEM, "description": "Workflow engine unavailable; retry (nothing is lost)"},
    },
)
async def request_decision(
    user: CurrentUser,
    resources: ResourcesDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
    wait: Wait = 0,
) -> DecisionPublic:
    """201 decided in time, 202 still running, 200 for an existing decision (not a new one)."""
    outcome = await service.request_decision(resources, user.id, idempotency_key, wait)
    decision = outcome.decision
    response.headers["Location"] = service.location_of(decision.id)
    if not outcome.created:
        response.status_code = status.HTTP_200_OK
    elif decision.status == DecisionStatus.PENDING:
        response.status_code = status.HTTP_202_ACCEPTED
    return decision


@router.get(
    "",
    response_model=Page[DecisionPublic],
    summary="The caller's credit decisions, newest first (from the database)",
)
def list_decisions(
    user: CurrentUser, session: SessionDep, limit: Limit = 20, offset: Offset = 0
) -> Page[DecisionPublic]:
    rows = session.exec(
        select(CreditDecision)
        .where(CreditDecision.user_id == user.id)
        .order_by(col(CreditDecision.requested_at).desc(), col(CreditDecision.id).desc())
        .offset(offset)
        .limit(limit + 1)
    ).all()
    return Page[DecisionPublic](
        items=service.stored_views(session, rows[:limit]),
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(rows) > limit else None,
    )


@router.get(
    "/{decision_id}",
    response_model=DecisionPublic,
    summary="One of the caller's credit decisions",
    responses={404: _PROBLEM},
)
async def get_decision(
    decision_id: uuid.UUID, user: CurrentUser, resources: ResourcesDep
) -> DecisionPublic:
    return await service.get_decision(resources, user.id, decision_id)


@router.post(
    "/{decision_id}/accept",
    response_model=DecisionActionResult,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Accept the decision's offer (the credit line is deployed asynchronously)",
    responses={404: _PROBLEM, 409: {**_PROBLEM, "description": "The offer is not open"}},
)
async def accept_offer(
    decision_id: uuid.UUID, user: CurrentUser, resources: ResourcesDep
) -> DecisionActionResult:
    return await service.apply_update(
        resources,
        decision_id,
        user.id,
        UPDATE_ACCEPT,
        AcceptRequest(user_id=str(user.id)),
        commits_to=DecisionStatus.ACCEPTED,
    )


@router.post(
    "/{decision_id}/decline",
    response_model=DecisionActionResult,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Decline the decision's offer",
    responses={404: _PROBLEM, 409: {**_PROBLEM, "description": "The offer is not open"}},
)
async def decline_offer(
    decision_id: uuid.UUID,
    user: CurrentUser,
    resources: ResourcesDep,
    body: Annotated[DeclineBody | None, Body()] = None,
) -> DecisionActionResult:
    reason = body.reason if body else None
    return await service.apply_update(
        resources,
        decision_id,
        user.id,
        UPDATE_DECLINE,
        DeclineRequest(user_id=str(user.id), reason=reason),
        commits_to=DecisionStatus.DECLINED,
    )
