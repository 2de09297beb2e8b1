"""The caller's own credit line's re-evaluations: its change history and accepting an increase.

The account id is the credit account's key (its owner's user id); another customer's line is a
404, never a 403, so ids cannot be probed. Accepting is the review workflow's ``accept_increase``
update, with an update id per offer so a retried request applies the increase once.
"""

from __future__ import annotations

import asyncio
import uuid

from fastapi import APIRouter

from api.deps import ResourcesDep, TemporalDep
from api.schemas.credit_lines import CreditLineChangePublic, CreditLineChanges, CreditLineTerms
from api.security import CurrentUser
from ecs.credit import engine
from ecs.credit_lines import store
from ecs.credit_lines.contract import AcceptIncrease
from ecs.errors import Conflict, NotFound

router = APIRouter(prefix="/me/credit-lines", tags=["me"])


def _own(user_id: uuid.UUID, account_id: uuid.UUID) -> None:
    if account_id != user_id:
        raise NotFound("no such credit line", code="no-credit-line")


@router.get(
    "/{account_id}/changes",
    response_model=CreditLineChanges,
    summary="The re-evaluations of the caller's credit line, oldest first",
    responses={404: {"description": "Not the caller's credit line"}},
)
def line_changes(
    account_id: uuid.UUID, user: CurrentUser, resources: ResourcesDep
) -> CreditLineChanges:
    _own(user.id, account_id)
    rows = store.changes(resources.engine, account_id)
    return CreditLineChanges(
        account_id=account_id, items=[CreditLineChangePublic.model_validate(r) for r in rows]
    )


@router.post(
    "/{account_id}/increase/accept",
    response_model=CreditLineTerms,
    summary="Accept the increase a re-evaluation offered",
    responses={
        404: {"description": "Not the caller's credit line"},
        200: {"description": "Applied now, or already (a repeat answers with the same terms)"},
        409: {"description": "No increase offer is open on this line"},
    },
)
async def accept_increase(
    account_id: uuid.UUID, user: CurrentUser, resources: ResourcesDep, temporal: TemporalDep
) -> CreditLineTerms:
    """Safe to retry: once the increase is applied, accepting again answers with its terms
    (200) until the line is reviewed again; with no increase to accept, 409."""
    _own(user.id, account_id)
    workflow_id = await asyncio.to_thread(
        store.pending_offer_workflow, resources.engine, account_id
    )
    if workflow_id is None:
        return await _already_applied(resources, account_id)
    try:
        result = await engine.update(
            temporal, workflow_id, "accept_increase", AcceptIncrease(), f"accept:{workflow_id}"
        )
    except (engine.Rejected, engine.NotRunning) as exc:
        return await _already_applied(resources, account_id, cause=exc)
    return CreditLineTerms(
        credit_limit=result["credit_limit"] if isinstance(result, dict) else result.credit_limit,
        interest_rate=result["interest_rate"] if isinstance(result, dict) else result.interest_rate,
    )


async def _already_applied(
    resources: ResourcesDep, account_id: uuid.UUID, cause: Exception | None = None
) -> CreditLineTerms:
    applied = await asyncio.to_thread(store.applied_increase, resources.engine, account_id)
    if applied is None:
        raise Conflict(
            "no increase offer is open on this credit line", code="no-open-increase"
        ) from cause
    return CreditLineTerms(credit_limit=applied.new_limit, interest_rate=applied.new_rate)
