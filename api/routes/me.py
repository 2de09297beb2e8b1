"""The caller's own account: the deployed credit line, the notifications the app shows (the
live stream of them is ``api.routes.events``) and the choice about proactive offers."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlmodel import col, select

from api.deps import ResourcesDep, SessionDep
from api.schemas import CreditAccountPublic, Limit, NotificationPublic, Offset, Page
from api.schemas.proactive import ProactiveOffersPreference
from api.security import CurrentUser
from ecs.db.tables import CreditAccount, Notification
from ecs.db.types import utcnow
from ecs.errors import NotFound
from ecs.proactive.preference import receives_offers, set_receives_offers

router = APIRouter(prefix="/me", tags=["me"])


@router.get(
    "/credit",
    response_model=CreditAccountPublic,
    summary="The caller's active credit line",
    responses={404: {"description": "No credit line has been deployed"}},
)
def my_credit(user: CurrentUser, session: SessionDep) -> CreditAccountPublic:
    account = session.get(CreditAccount, user.id)
    if account is None:
        raise NotFound("no active credit line", code="no-credit-line")
    return CreditAccountPublic.model_validate(account)


@router.get(
    "/notifications",
    response_model=Page[NotificationPublic],
    summary="The caller's notifications, newest first",
)
def my_notifications(
    user: CurrentUser,
    session: SessionDep,
    limit: Limit = 50,
    offset: Offset = 0,
    unread: bool = False,
) -> Page[NotificationPublic]:
    query = select(Notification).where(Notification.user_id == user.id)
    if unread:
        query = query.where(col(Notification.read_at).is_(None))
    rows = session.exec(
        query.order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
        .offset(offset)
        .limit(limit + 1)
    ).all()
    return Page[NotificationPublic](
        items=[NotificationPublic.model_validate(r) for r in rows[:limit]],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(rows) > limit else None,
    )


@router.post(
    "/notifications/{notification_id}/read",
    response_model=NotificationPublic,
    summary="Mark a notification as read (idempotent)",
    responses={404: {"description": "No such notification for this user"}},
)
def mark_read(
    notification_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> NotificationPublic:
    row = session.get(Notification, notification_id)
    # Another user's notification is reported as missing, not forbidden: ids are not an oracle.
    if row is None or row.user_id != user.id:
        raise NotFound("No such notification.")
    if row.read_at is None:
        row.read_at = utcnow()
        session.add(row)
        session.commit()
        session.refresh(row)
    return NotificationPublic.model_validate(row)


@router.get(
    "/proactive-offers",
    response_model=ProactiveOffersPreference,
    summary="Whether ECS may offer the caller credit on its own",
    responses={404: {"description": "The account has been erased"}},
)
def get_proactive_offers(user: CurrentUser, resources: ResourcesDep) -> ProactiveOffersPreference:
    return ProactiveOffersPreference(receive=receives_offers(resources.engine, user.id))


@router.put(
    "/proactive-offers",
    response_model=ProactiveOffersPreference,
    summary="Opt out of (or back into) proactive offers",
    responses={404: {"description": "The account has been erased"}},
)
def put_proactive_offers(
    body: ProactiveOffersPreference, user: CurrentUser, resources: ResourcesDep
) -> ProactiveOffersPreference:
    """Opting out stops ECS from starting decisions on its own; asking for credit still works,
    and a decision already started runs its course."""
    receive = set_receives_offers(resources.engine, user.id, body.receive)
    return ProactiveOffersPreference(receive=receive)
