"""Creating and authenticating users.

``create_user`` is the one place accounts are made: the public registration route (always a
customer), the ``ecs`` command line and the tests (which need analysts) all call it, so password
hashing and e-mail normalisation cannot drift between them.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from api.security import hash_password, verify_password
from ecs.db.tables import User
from ecs.db.types import utcnow
from ecs.domain.status import Role


class EmailAlreadyRegistered(Exception):
    """The e-mail address belongs to an existing account."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    session: Session,
    email: str,
    password: str,
    role: Role = Role.CUSTOMER,
    *,
    consent_emotion_processing: bool = False,
) -> User:
    """Insert and commit a user; raises ``EmailAlreadyRegistered`` on a duplicate address.

    The unique index decides duplicates (not a prior SELECT), so two simultaneous registrations
    of one address cannot both succeed.
    """
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
        raise EmailAlreadyRegistered(user.email) from exc
    session.refresh(user)
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user for these credentials, or ``None``.

    Unknown addresses still pay for one argon2 verification (``verify_password`` uses a dummy
    hash), so response time does not reveal which addresses are registered. Erased accounts
    cannot log in.
    """
    user = session.exec(select(User).where(User.email == normalise_email(email))).first()
    if not verify_password(user.password_hash if user else None, password):
        return None
    if user is None or user.erased_at is not None:
        return None
    return user
