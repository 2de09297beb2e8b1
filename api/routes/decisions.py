"""Credit decisions: request one, read it, accept or decline its offer.

Routes only translate HTTP to the use cases in ``ecs.credit.service`` and their answers to
response models; the workflow decides, and refusals are domain errors mapped in ``api.problems``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Response, status

from api.deps import ResourcesDep, SessionDep
from api.schemas import Limit, Offset, Page
from api.schemas.credit import DecisionActionResult, DecisionPublic, DeclineBody
from api.schemas.reviews import ContestCreate
from api.security import CurrentUser
from ecs.credit import queries, service
from ecs.credit.engine import location_of
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
_PROBLEM: dict[str, Any] = {
    "description": "Problem body",
    "content": {"application/problem+json": {}},
}
_UNAVAILABLE = {**_PROBLEM, "description": "Workflow engine or database unavailable; retry"}
_ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "Applied now, or already by an earlier attempt of the same action"},
    404: _PROBLEM,
    409: {**_PROBLEM, "description": "The offer is not open (and this action did not settle it)"},
    503: _UNAVAILABLE,
}


@router.post(
    "",
    response_model=DecisionPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Request a credit decision",
    responses={
        200: {"description": "An open decision already exists (or the same Idempotency-Key)"},
        201: {"description": "Decided within `wait` seconds"},
        202: {"description": "Accepted; poll the Location (also when `wait` ran out)"},
        503: {**_UNAVAILABLE, "description": "Unavailable; retry (nothing is lost)"},
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
    response.headers["Location"] = location_of(decision.id)
    if not outcome.created:
        response.status_code = status.HTTP_200_OK
    elif decision.status == DecisionStatus.PENDING:
        response.status_code = status.HTTP_202_ACCEPTED
    return DecisionPublic.model_validate(decision)


@router.get(
    "",
    response_model=Page[DecisionPublic],
    summary="The caller's credit decisions, newest first (from the database)",
)
def list_decisions(
    user: CurrentUser, session: SessionDep, limit: Limit = 20, offset: Offset = 0
) -> Page[DecisionPublic]:
    rows = queries.decisions_of(session, user.id, limit + 1, offset)
    return Page[DecisionPublic](
        items=[DecisionPublic.model_validate(row) for row in rows[:limit]],
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
    return DecisionPublic.model_validate(
        await service.get_decision(resources, user.id, decision_id)
    )


@router.post(
    "/{decision_id}/accept",
    response_model=DecisionActionResult,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Accept the decision's offer (the credit line is deployed asynchronously)",
    responses=_ACTION_RESPONSES,
)
async def accept_offer(
    decision_id: uuid.UUID, user: CurrentUser, resources: ResourcesDep
) -> DecisionActionResult:
    """Safe to retry: a repeated accept answers with the decision's real status."""
    acted = await service.accept_offer(resources, decision_id, user.id)
    return DecisionActionResult.model_validate(acted)


@router.post(
    "/{decision_id}/decline",
    response_model=DecisionActionResult,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Decline the decision's offer",
    responses=_ACTION_RESPONSES,
)
async def decline_offer(
    decision_id: uuid.UUID,
    user: CurrentUser,
    resources: ResourcesDep,
    body: Annotated[DeclineBody | None, Body()] = None,
) -> DecisionActionResult:
    reason = body.reason if body else None
    acted = await service.decline_offer(resources, decision_id, user.id, reason)
    return DecisionActionResult.model_validate(acted)


@router.post(
    "/{decision_id}/contest",
    response_model=DecisionActionResult,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ask for human review of an automated decision (a denial, or an offer's terms)",
    responses={
        202: {"description": "In the analysts' queue (CONTESTED); the outcome is notified"},
        404: _PROBLEM,
        409: {
            **_PROBLEM,
            "description": "Not contestable: outside the window, already contested, decided by "
            "an analyst, or another decision of yours is open",
        },
        503: _UNAVAILABLE,
    },
)
async def contest_decision(
    decision_id: uuid.UUID, body: ContestCreate, user: CurrentUser, resources: ResourcesDep
) -> DecisionActionResult:
    """LGPD Art. 20: a person looks at the decision; their outcome is recorded and notified."""
    acted = await service.contest_decision(resources, decision_id, user.id, body.reason)
    return DecisionActionResult.model_validate(acted)
