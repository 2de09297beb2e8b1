"""Human review: the queue (REFERRED, CONTESTED, CONFIRMING), one case, the analyst's outcome
and the second analyst's confirmation above the four-eyes limit. Analysts only; the reviewer
id always comes from the token, never from the body."""

from __future__ import annotations

import uuid
from dataclasses import asdict

from fastapi import APIRouter, status

from api.deps import ResourcesDep, SessionDep
from api.schemas import Limit, Offset, Page
from api.schemas.credit import DecisionActionResult, ReviewCreate, ReviewQueueItem
from api.schemas.reviews import ConfirmCreate, ReviewCasePublic
from api.security import Analyst
from ecs.contracts import ConfirmRequest, ReviewRequest
from ecs.credit import queries, service

router = APIRouter(prefix="/reviews", tags=["reviews"])
_PROBLEM = {"description": "Problem body", "content": {"application/problem+json": {}}}


@router.get(
    "",
    response_model=Page[ReviewQueueItem],
    summary="Decisions waiting for an analyst: overdue first, then oldest first",
    responses={403: _PROBLEM},
)
def review_queue(
    _analyst: Analyst, session: SessionDep, limit: Limit = 50, offset: Offset = 0
) -> Page[ReviewQueueItem]:
    entries = queries.review_queue(session, limit + 1, offset)
    return Page[ReviewQueueItem](
        items=[
            ReviewQueueItem.model_validate(
                {
                    **asdict(e.summary),
                    "queue_reason": e.queue_reason,
                    "review_due_at": e.review_due_at,
                    "escalated_at": e.escalated_at,
                }
            )
            for e in entries[:limit]
        ],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(entries) > limit else None,
    )


@router.post(
    "/{decision_id}",
    response_model=DecisionActionResult,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Approve (with terms) or deny a REFERRED or CONTESTED decision",
    responses={
        403: _PROBLEM,
        404: _PROBLEM,
        409: {**_PROBLEM, "description": "The decision is not REFERRED or CONTESTED"},
        503: {**_PROBLEM, "description": "Workflow engine or database unavailable; retry"},
    },
)
async def review_decision(
    decision_id: uuid.UUID, body: ReviewCreate, analyst: Analyst, resources: ResourcesDep
) -> DecisionActionResult:
    """The reviewer id comes from the analyst's token and is written to the audit record. An
    approval above the four-eyes limit answers CONFIRMING: a second analyst must confirm it."""
    request = ReviewRequest(reviewer_id=str(analyst.id), **body.model_dump())
    acted = await service.review_decision(resources, decision_id, request)
    return DecisionActionResult.model_validate(acted)


@router.get(
    "/{decision_id}",
    response_model=ReviewCasePublic,
    summary="One case: features, the model's contributions, emotional context, records",
    responses={403: _PROBLEM, 404: _PROBLEM},
)
async def review_case(
    decision_id: uuid.UUID, _analyst: Analyst, resources: ResourcesDep
) -> ReviewCasePublic:
    return ReviewCasePublic.model_validate(
        await service.get_review_case(resources, decision_id), from_attributes=True
    )


@router.post(
    "/{decision_id}/confirm",
    response_model=DecisionActionResult,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Four-eyes: a second analyst confirms (or rejects) an approval above the limit",
    responses={
        403: _PROBLEM,
        404: _PROBLEM,
        409: {
            **_PROBLEM,
            "description": "Not CONFIRMING, or the analyst who proposed tries to confirm",
        },
        503: {**_PROBLEM, "description": "Workflow engine or database unavailable; retry"},
    },
)
async def confirm_review(
    decision_id: uuid.UUID, body: ConfirmCreate, analyst: Analyst, resources: ResourcesDep
) -> DecisionActionResult:
    """Confirmed: the offer goes out (OFFERED). Rejected: back to the queue it came from."""
    request = ConfirmRequest(reviewer_id=str(analyst.id), **body.model_dump())
    acted = await service.confirm_review(resources, decision_id, request)
    return DecisionActionResult.model_validate(acted)
