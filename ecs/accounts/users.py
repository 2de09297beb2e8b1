"""Creating and authenticating users, and finding the caller's account.

``create_user`` is the one place accounts are made: the public registration route (always a
customer), the ``ecs`` command line and the tests (which need analysts) all call it, so password
rules, hashing and e-mail normalisation cannot drift between them.
"""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ecs.accounts.passwords import hash_password, verify_password
from ecs.db.tables import User
from ecs.db.types import utcnow
from ecs.domain.status import Role
from ecs.errors import Conflict, InvalidInput, NotAuthenticated, NotFound

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


def normalise_email(email: str) -> str:
    """Lower-cased, so "Ana@Example.com" and "ana@example.com" are one account."""
    return email.strip().lower()


def create_user(
    session: Session,
    email: str,
    password: str,
    role: Role = Role.CUSTOMER,
    *,
    consent_emotion_processing: bool = False,
) -> User:
    """Insert and commit a user; ``Conflict`` (``email-taken``) on a duplicate address.

    The unique index decides duplicates (not a prior SELECT), so two simultaneous registrations
    of one address cannot both succeed.
    """
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"The password must have {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters."
        )
    now = utcnow()
    user = User(
        email=normalise_email(email),
        password_hash=hash_password(password),
        role=role,
        consent_emotion_processing=consent_emotion_processing,
        consent_updated_at=now,
        created_at=now,
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(
            "An account with this e-mail address already exists.", code="email-taken"
        ) from exc
    session.refresh(user)
    return user


def authenticate(session: Session, email: str, password: str) -> User:
    """The user for these credentials; ``NotAuthenticated`` otherwise.

    One message for an unknown address, a wrong password and an erased account, and unknown
    addresses still pay for one argon2 verification, so neither the answer nor its timing
    reveals which addresses are registered.
    """
    user = session.exec(select(User).where(User.email == normalise_email(email))).first()
    verified = verify_password(user.password_hash if user else None, password)
    if not verified or user is None or user.erased_at is not None:
        raise NotAuthenticated("Incorrect e-mail or password.", code="invalid-credentials")
    return user


def account_erased() -> NotFound:
    """An erased account is reported as gone by every data-subject right, including erasure
    itself: a repeated erasure cannot prove the password any more, and nothing is left."""
    return NotFound("This account has been erased.", code="account-erased", title="Account erased")


def active_account(session: Session, user_id: uuid.UUID) -> User:
    """The caller's row; ``NotFound`` once erased (an access token may outlive the account)."""
    user = session.get(User, user_id)
    if user is None or user.erased_at is not None:
        raise account_erased()
    return user


def locked_account(session: Session, user_id: uuid.UUID) -> User:
    """The caller's row, locked until commit on PostgreSQL, so consent changes and erasure of
    one account serialise (SQLite serialises writers anyway)."""
    user = session.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None or user.erased_at is not None:
        raise account_erased()
    return user
