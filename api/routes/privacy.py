"""The caller's data-subject rights: consent to emotion processing, export, erasure (LGPD Art. 18).

Routes translate HTTP to ``ecs.accounts`` (``consent``, ``export``, ``erasure``); the services
hold the rules and document the trade-offs. Every route refuses an erased account with 404:
access tokens are not revoked (they expire within ``ECS_JWT_TTL_SECONDS``), so the account row is
checked here instead.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from fastapi.responses import StreamingResponse

from api.deps import ResourcesDep, SessionDep
from api.schemas.accounts import ConsentPublic, ConsentUpdate, ErasureRequest
from api.security import CurrentUser
from ecs.accounts.consent import set_consent
from ecs.accounts.erasure import erase_account
from ecs.accounts.export import export_json
from ecs.accounts.users import active_account
from ecs.credit.engine import connect_or_none
from ecs.db.tables import User

router = APIRouter(prefix="/me", tags=["privacy"])

_PROBLEM = {"description": "Problem body", "content": {"application/problem+json": {}}}
_ERASED = {**_PROBLEM, "description": "The account has been erased"}


def get_active_account(user: CurrentUser, session: SessionDep) -> User:
    return active_account(session, user.id)


ActiveAccount = Annotated[User, Depends(get_active_account)]


@router.put(
    "/consent",
    response_model=ConsentPublic,
    summary="Grant or withdraw consent to emotion processing",
    responses={404: _ERASED},
)
def put_consent(
    body: ConsentUpdate, account: ActiveAccount, resources: ResourcesDep
) -> ConsentPublic:
    """Withdrawing deletes the caller's emotion readings and daily aggregates at once, and the
    ingest endpoint refuses new readings (403) within 10 seconds on every API instance.
    Granting again only sets the flag; nothing deleted comes back."""
    state = set_consent(resources.engine, account.id, body.emotion_processing)
    resources.caches.consent.forget(account.id)
    return ConsentPublic(emotion_processing=state.emotion_processing, updated_at=state.updated_at)


@router.get(
    "/export",
    summary="Everything ECS holds about the caller, as one JSON document",
    response_class=StreamingResponse,
    responses={
        200: {"description": "The export (a download)", "content": {"application/json": {}}},
        404: _ERASED,
    },
)
def export_me(account: ActiveAccount, resources: ResourcesDep) -> StreamingResponse:
    """Profile, transactions, emotion readings (newest 100,000; ``emotion_readings_truncated``
    says whether more exist) and daily aggregates, credit decisions with their audit records and
    explained reason codes, offers, the credit line and notifications."""
    return StreamingResponse(
        export_json(resources.engine, resources.settings, account.id),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="ecs-export-{account.id}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.delete(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Erase the caller's account (needs the current password)",
    responses={
        403: {**_PROBLEM, "description": "Wrong password; nothing was erased"},
        404: _ERASED,
        409: {**_PROBLEM, "description": "Decisions kept being requested meanwhile; retry"},
        503: {**_PROBLEM, "description": "Workflow engine unavailable; nothing was erased"},
    },
)
async def erase_me(body: ErasureRequest, user: CurrentUser, resources: ResourcesDep) -> Response:
    """Deletes emotional data, transactions and notifications and pseudonymises the account;
    open credit decisions are ended first (an open offer is declined). Credit decisions, their
    records, offers and the credit line are kept under the lender's legal obligation, keyed only
    by the pseudonymous id. Login stops at once; tokens already issued expire on their own, and
    every privacy route and the ingest endpoint refuse them. Erasing again answers 404."""
    connect = partial(connect_or_none, resources.temporal)  # the API's one Temporal client
    await erase_account(resources.engine, connect, user.id, body.password)
    resources.caches.forget(user.id)  # this instance refuses the account's tokens at once
    return Response(status_code=status.HTTP_204_NO_CONTENT)
