"""The account services against the suite's real database, without HTTP: the domain errors the
API and the command line translate (their ``code`` is the slug of the problem ``type``)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client

from ecs.accounts.consent import set_consent
from ecs.accounts.erasure import erase_account
from ecs.accounts.users import active_account, authenticate, create_user
from ecs.contracts import workflow_id_for
from ecs.db.tables import CreditDecision, User
from ecs.db.types import utcnow
from ecs.domain.status import Role
from ecs.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound, Unavailable

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


async def _no_temporal() -> Client | None:
    """The injected connection when the workflow engine cannot be reached."""
    return None


async def test_erasure_refuses_while_an_open_decision_cannot_be_ended(engine: Engine) -> None:
    with Session(engine) as session:
        user = create_user(session, _email(), PASSWORD)
        user_id = user.id
        with pytest.raises(Forbidden) as wrong:
            await erase_account(engine, _no_temporal, user_id, "not the password")
        decision_id = uuid.uuid4()
        session.add(
            CreditDecision(
                id=decision_id, user_id=user_id, workflow_id=workflow_id_for(str(decision_id))
            )
        )
        session.commit()
    assert wrong.value.code == "wrong-password"

    with pytest.raises(Unavailable) as down:
        await erase_account(engine, _no_temporal, user_id, PASSWORD)
    assert down.value.code == "workflow-engine-unavailable" and down.value.retry_after > 0
    with Session(engine) as session:
        assert active_account(session, user_id).email.startswith("accounts-")  # nothing erased


async def test_erasure_without_open_decisions_needs_no_workflow_engine(engine: Engine) -> None:
    with Session(engine) as session:
        user_id = create_user(session, _email(), PASSWORD).id
    report = await erase_account(engine, _no_temporal, user_id, PASSWORD)
    assert report.decisions_ended == 0
    with Session(engine) as session, pytest.raises(NotFound):
        active_account(session, user_id)
    with pytest.raises(NotFound):  # erasing again: the account is gone
        await erase_account(engine, _no_temporal, user_id, PASSWORD)
