"""The account services against the suite's real database, without HTTP: the domain errors the
API and the command line translate (their ``code`` is the slug of the problem ``type``)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from ecs.accounts.consent import set_consent
from ecs.accounts.users import active_account, authenticate, create_user
from ecs.db.tables import User
from ecs.db.types import utcnow
from ecs.domain.status import Role
from ecs.errors import Conflict, InvalidInput, NotAuthenticated, NotFound

PASSWORD = "correct horse battery staple"


def _email() -> str:
    return f"Accounts-{uuid.uuid4().hex[:12]}@Example.com"


def test_create_user_normalises_the_email_and_refuses_a_taken_one(engine: Engine) -> None:
    email = _email()
    with Session(engine) as session:
        user = create_user(session, email, PASSWORD, Role.ANALYST)
        assert user.email == email.lower() and user.role == Role.ANALYST
        assert PASSWORD not in user.password_hash
        with pytest.raises(Conflict) as taken:
            create_user(session, f"  {email.upper()} ", PASSWORD)
    assert taken.value.code == "email-taken"


def test_create_user_enforces_the_password_length(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(InvalidInput):
        create_user(session, _email(), "too short")


def test_authenticate_has_one_refusal_for_every_bad_login(engine: Engine) -> None:
    email = _email()
    with Session(engine) as session:
        user = create_user(session, email, PASSWORD)
        assert authenticate(session, email.upper(), PASSWORD).id == user.id
        refusals = []
        for address, password in ((email, "wrong password 123"), (_email(), PASSWORD)):
            with pytest.raises(NotAuthenticated) as refused:
                authenticate(session, address, password)
            refusals.append((refused.value.code, refused.value.detail))
        assert refusals[0] == refusals[1] and refusals[0][0] == "invalid-credentials"


def test_an_erased_account_is_gone_for_login_and_for_its_rights(engine: Engine) -> None:
    email = _email()
    with Session(engine) as session:
        user = create_user(session, email, PASSWORD, consent_emotion_processing=True)
        user_id = user.id
        # Erased but, in this test only, with its password still usable: login must still fail.
        user.erased_at = utcnow()
        session.add(user)
        session.commit()
        with pytest.raises(NotAuthenticated):
            authenticate(session, email, PASSWORD)
        with pytest.raises(NotFound) as gone:
            active_account(session, user_id)
    assert gone.value.code == "account-erased"
    with pytest.raises(NotFound):
        set_consent(engine, user_id, False)
    with Session(engine) as session:
        row = session.get(User, user_id)
        assert row is not None and row.consent_emotion_processing is True  # nothing changed
