"""Human review of REFERRED decisions (model unavailable or policy referral). Analysts only."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from api.deps import ResourcesDep, SessionDep
from api.schemas import Limit, Offset, Page
from api.schemas.credit import DecisionActionResult, ReviewCreate, ReviewQueueItem
from api.security import Analyst
from ecs.contracts import ReviewRequest
from ecs.credit import queries, service

router = APIRouter(prefix="/reviews", tags=["reviews"])
_PROBLEM = {"description": "Problem body", "content": {"application/problem+json": {}}}


@router.get(
    "",
    response_model=Page[ReviewQueueItem],
    summary="Decisions waiting for an analyst, oldest first",
    responses={403: _PROBLEM},
)
def review_queue(
    _analyst: Analyst, session: SessionDep, limit: Limit = 50, offset: Offset = 0
) -> Page[ReviewQueueItem]:
    items = queries.review_queue(session, limit + 1, offset)
    return Page[ReviewQueueItem](
        items=[ReviewQueueItem.model_validate(item) for item in items[:limit]],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(items) > limit else None,
    )


@router.post(
    "/{decision_id}",
    response_model=DecisionActionResult,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Approve (with terms) or deny a REFERRED decision",
    responses={
        403: _PROBLEM,
        404: _PROBLEM,
        409: {**_PROBLEM, "description": "The decision is not REFERRED"},
        503: {**_PROBLEM, "description": "Workflow engine or database unavailable; retry"},
    },
)
async def review_decision(
    decision_id: uuid.UUID, body: ReviewCreate, analyst: Analyst, resources: ResourcesDep
) -> DecisionActionResult:
    """The reviewer id comes from the analyst's token and is written to the audit record."""
    request = ReviewRequest(reviewer_id=str(analyst.id), **body.model_dump())
    acted = await service.review_decision(resources, decision_id, request)
    return DecisionActionResult.model_validate(acted)
