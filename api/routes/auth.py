"""Registration and token issuing (OAuth2 password flow, so /docs' Authorize button works)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import SessionDep, SettingsDep
from api.schemas.accounts import Token, UserCreate, UserPublic
from api.throttling import guard_login, guard_registration
from ecs.accounts.tokens import create_access_token
from ecs.accounts.users import authenticate, create_user
from ecs.domain.status import Role

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    summary="Create a customer account",
    responses={409: {"description": "The e-mail address is already registered"}},
    dependencies=[Depends(guard_registration)],
)
def register(body: UserCreate, session: SessionDep) -> UserPublic:
    """Public sign-up always makes a customer: analysts are created by operators (``ecs``)."""
    user = create_user(
        session,
        body.email,
        body.password,
        Role.CUSTOMER,
        consent_emotion_processing=body.consent_emotion_processing,
    )
    return UserPublic.model_validate(user)


@router.post(
    "/token",
    response_model=Token,
    summary="Exchange e-mail and password for a bearer token",
    responses={401: {"description": "Wrong e-mail or password"}},
    dependencies=[Depends(guard_login)],
)
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> Token:
    """One message for unknown e-mail and wrong password: the endpoint is no account oracle."""
    user = authenticate(session, form.username, form.password)
    return Token(
        access_token=create_access_token(user.id, Role(user.role), settings),
        expires_in=settings.jwt_ttl_seconds,
    )
