"""Data-subject rights through the real API, database and Temporal worker: consent, export, erasure.

Async tests with ``httpx.AsyncClient`` where a decision is involved: the worker runs on the test's
event loop, so a blocking HTTP call would also stop the worker that must act.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, SQLModel, select
from temporalio.client import Client, WorkflowExecutionStatus

from api.caches import CONSENT_TTL_SECONDS
from ecs.accounts import export as export_service
from ecs.contracts import WORKFLOW_TYPE, workflow_id_for
from ecs.credit.workflow_input import decision_input
from ecs.db.tables import (
    CreditDecision,
    DecisionRecord,
    EmotionDaily,
    EmotionEvent,
    Notification,
    Offer,
    Transaction,
    User,
)
from ecs.domain.reasons import describe
from ecs.domain.status import DecisionStatus, OfferStatus
from ecs.settings import Settings
from tests import ledger
from tests.api.conftest import (
    Account,
    assert_problem,
    register_and_login,
    seed_good_history,
    serve_api,
)
from tests.support import wait_for

WAIT = {"wait": 20}


@pytest.fixture
async def client(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:
        yield http


def _reading() -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC).isoformat(),
        "kind": "joy",
        "metrics": {"positivity": 0.8, "intensity": 0.4, "stress": 0.1},
    }


def _seed_emotions(engine: Engine, user_id: uuid.UUID, count: int = 3) -> set[uuid.UUID]:
    """Rows as the stream consumer writes them (it does not run in the API tests)."""
    now = datetime.now(UTC)
    ids = {uuid.uuid4() for _ in range(count)}
    with Session(engine) as session:
        for index, event_id in enumerate(sorted(ids)):
            session.add(
                EmotionEvent(
                    event_id=event_id,
                    user_id=user_id,
                    occurred_at=now - timedelta(hours=index + 1),
                    kind="joy",
                    positivity=0.7,
                    intensity=0.3,
                    stress=0.2,
                    context={"screen": "home"},
                )
            )
        session.add(
            EmotionDaily(
                user_id=user_id,
                day=now.date(),
                readings=count,
                positivity_sum=0.7 * count,
                intensity_sum=0.3 * count,
                stress_sum=0.2 * count,
            )
        )
        session.commit()
    return ids


def _notify(engine: Engine, user_id: uuid.UUID, title: str) -> uuid.UUID:
    with Session(engine) as session:
        row = Notification(
            user_id=user_id, dedup_key=f"test-{uuid.uuid4()}", kind="test", title=title, body="b"
        )
        session.add(row)
        session.commit()
        return row.id


def _count(engine: Engine, table: type[SQLModel], user_id: uuid.UUID) -> int:
    column = table.user_id  # type: ignore[attr-defined]
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(table).where(column == user_id)).one()


def _emotion_rows(engine: Engine, user_id: uuid.UUID) -> int:
    return _count(engine, EmotionEvent, user_id) + _count(engine, EmotionDaily, user_id)


def _user(engine: Engine, user_id: uuid.UUID) -> User:
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        return user


# --- consent -----------------------------------------------------------------------------------


def test_withdrawing_consent_deletes_emotions_and_ingest_refuses(
    api_url: str, engine: Engine, customer: Account, other_customer: Account
) -> None:
    _seed_emotions(engine, customer.id)
    _seed_emotions(engine, other_customer.id)
    ingest = f"{api_url}/v1/emotions"
    # Accepted first, so the ingest's consent cache holds "consented" for this user.
    assert httpx.post(ingest, json=_reading(), headers=customer.headers).status_code == 202

    response = httpx.put(
        f"{api_url}/v1/me/consent", json={"emotion_processing": False}, headers=customer.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["emotion_processing"] is False
    withdrawn_at = datetime.fromisoformat(body["updated_at"])
    assert datetime.now(UTC) - withdrawn_at < timedelta(minutes=1)

    assert _emotion_rows(engine, customer.id) == 0
    assert _emotion_rows(engine, other_customer.id) == 4  # nobody else's data is touched
    user = _user(engine, customer.id)
    assert user.consent_emotion_processing is False and user.consent_updated_at == withdrawn_at

    def refused() -> httpx.Response | None:
        answer = httpx.post(ingest, json=_reading(), headers=customer.headers)
        return answer if answer.status_code == 403 else None

    # Immediate on this instance (the route clears its cache); at most the cache TTL elsewhere.
    refusal = wait_for(refused, timeout=CONSENT_TTL_SECONDS + 5, message="ingest to refuse")
    assert assert_problem(refusal, 403)["type"] == "https://ecs.example/problems/consent-required"

    again = httpx.put(
        f"{api_url}/v1/me/consent", json={"emotion_processing": True}, headers=customer.headers
    )
    assert again.status_code == 200 and again.json()["emotion_processing"] is True
    assert _emotion_rows(engine, customer.id) == 0  # granting again restores nothing

    def accepted() -> bool:
        return httpx.post(ingest, json=_reading(), headers=customer.headers).status_code == 202

    wait_for(accepted, timeout=CONSENT_TTL_SECONDS + 5, message="ingest to accept again")


def test_consent_must_be_an_explicit_boolean(api_url: str, customer: Account) -> None:
    url = f"{api_url}/v1/me/consent"
    for body in ({"emotion_processing": "yes"}, {"emotion_processing": 1}, {}):
        assert_problem(httpx.put(url, json=body, headers=customer.headers), 422)
    assert_problem(httpx.put(url, json={"emotion_processing": False}), 401)


# --- export ------------------------------------------------------------------------------------


def _post_transaction(api_url: str, account: Account, amount: str) -> str:
    when = datetime.now(UTC) - timedelta(days=1)
    body = ledger.feed_sync(api_url, [ledger.entry(account.id, amount, "in", when)])
    transaction_id: str = body["results"][0]["transaction_id"]
    return transaction_id


def test_export_holds_the_callers_data_and_nobody_elses(
    api_url: str, engine: Engine, customer: Account, other_customer: Account
) -> None:
    mine_tx = {_post_transaction(api_url, customer, "1234.56")}
    theirs_tx = _post_transaction(api_url, other_customer, "999.99")
    mine_events = _seed_emotions(engine, customer.id, count=4)
    theirs_events = _seed_emotions(engine, other_customer.id, count=2)
    mine_note = _notify(engine, customer.id, "for you")
    theirs_note = _notify(engine, other_customer.id, "for them")

    response = httpx.get(f"{api_url}/v1/me/export", headers=customer.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"] == (
        f'attachment; filename="ecs-export-{customer.id}.json"'
    )
    assert response.headers["cache-control"] == "no-store"
    export = response.json()

    assert export["format"] == "ecs-export/1" and export["user_id"] == str(customer.id)
    profile = export["profile"]
    assert profile["email"] == customer.email and profile["role"] == "customer"
    assert profile["consent_emotion_processing"] is True and profile["created_at"]
    assert {t["id"] for t in export["transactions"]} == mine_tx
    assert export["transactions"][0]["amount"] == "1234.56"
    assert {uuid.UUID(e["event_id"]) for e in export["emotion_readings"]} == mine_events
    stamps = [e["occurred_at"] for e in export["emotion_readings"]]
    assert stamps == sorted(stamps, reverse=True)  # newest first (the cap drops the oldest)
    assert export["emotion_readings_truncated"] is False
    assert [d["readings"] for d in export["emotion_daily"]] == [4]
    assert [n["id"] for n in export["notifications"]] == [str(mine_note)]
    assert export["credit_decisions"] == [] and export["credit_account"] is None
    assert export["retention"] == {"emotion_readings_days": 90, "emotion_daily_days": 730}

    text = response.text
    foreign = [other_customer.email, str(other_customer.id), theirs_tx, str(theirs_note)]
    foreign += [str(e) for e in theirs_events]
    assert not [value for value in foreign if value in text]


def test_export_caps_raw_readings_and_says_so(
    api_url: str, engine: Engine, customer: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cap keeps the newest readings (the API server shares this process, hence the patch)."""
    monkeypatch.setattr(export_service, "EXPORT_READINGS_LIMIT", 2)
    _seed_emotions(engine, customer.id, count=3)  # 1, 2 and 3 hours ago

    export = httpx.get(f"{api_url}/v1/me/export", headers=customer.headers).json()

    readings = export["emotion_readings"]
    assert len(readings) == 2 and export["emotion_readings_truncated"] is True
    assert "newest 2 raw readings" in export["emotion_readings_note"]
    oldest_kept = datetime.fromisoformat(readings[-1]["occurred_at"])
    assert datetime.now(UTC) - oldest_kept < timedelta(hours=2, minutes=30)


# --- erasure -----------------------------------------------------------------------------------


async def _erase(
    client: httpx.AsyncClient, account: Account, password: str | None = None
) -> httpx.Response:
    return await client.request(
        "DELETE",
        "/v1/me",
        json={"password": account.password if password is None else password},
        headers=account.headers,
    )


def _decision(engine: Engine, decision_id: str) -> tuple[CreditDecision, Offer | None]:
    with Session(engine) as session:
        decision = session.get(CreditDecision, uuid.UUID(decision_id))
        assert decision is not None
        offer = session.exec(select(Offer).where(Offer.decision_id == decision.id)).first()
        return decision, offer


@pytest.mark.usefixtures("worker")
async def test_erasure_declines_the_open_offer_deletes_and_pseudonymises(
    client: httpx.AsyncClient, engine: Engine, temporal_client: Client, api_url: str
) -> None:
    account = register_and_login(api_url, prefix="erase")
    await seed_good_history(client, account)
    offered = await client.post("/v1/credit-decisions", params=WAIT, headers=account.headers)
    assert offered.status_code == 201 and offered.json()["status"] == "OFFERED", offered.text
    decision_id = offered.json()["id"]
    _seed_emotions(engine, account.id)
    _notify(engine, account.id, "hello")

    # The export explains the decision: records with reason codes in words.
    export = (await client.get("/v1/me/export", headers=account.headers)).json()
    (decision,) = export["credit_decisions"]
    assert decision["id"] == decision_id and decision["offer"]["status"] == "OPEN"
    (record,) = decision["records"]
    assert record["kind"] == "AUTOMATED" and record["features"] and record["policy_version"]
    assert record["reason_codes"] and all(
        reason["description"] == describe(reason["code"]) for reason in record["reason_codes"]
    )

    wrong = await _erase(client, account, password="not my password at all")
    assert assert_problem(wrong, 403)["type"] == "https://ecs.example/problems/wrong-password"
    assert _count(engine, Transaction, account.id) > 0 and _emotion_rows(engine, account.id) > 0

    erased = await _erase(client, account)
    assert erased.status_code == 204, erased.text

    # The open offer was declined through the workflow, which ended normally.
    workflow_id = workflow_id_for(decision_id)
    result = await temporal_client.get_workflow_handle(workflow_id).result()
    assert result["status"] == "DECLINED"
    header, offer = _decision(engine, decision_id)
    assert header.status == DecisionStatus.DECLINED
    assert offer is not None and offer.status == OfferStatus.DECLINED

    # Personal data is gone; the credit record stays, keyed by the pseudonymous id.
    for table in (EmotionEvent, EmotionDaily, Notification, Transaction):
        assert _count(engine, table, account.id) == 0, table.__name__
    assert _count(engine, DecisionRecord, account.id) == 1
    user = _user(engine, account.id)
    assert user.email == f"erased-{account.id}@erased.invalid"
    assert user.erased_at is not None and user.consent_emotion_processing is False
    assert account.password not in user.password_hash and not user.password_hash.startswith("$")

    # No way back in, and the old token is refused everywhere (the account no longer exists).
    for username in (account.email, user.email):
        login = await client.post(
            "/v1/auth/token", data={"username": username, "password": account.password}
        )
        assert_problem(login, 401)
    assert_problem(await _erase(client, account), 401)
    assert_problem(await client.get("/v1/me/export", headers=account.headers), 401)
    consent = await client.put(
        "/v1/me/consent", json={"emotion_processing": True}, headers=account.headers
    )
    assert_problem(consent, 401)
    assert_problem(await client.get("/v1/transactions", headers=account.headers), 401)
    late = ledger.entry(account.id, "10.00", "in", datetime.now(UTC))
    fed = await client.post(
        ledger.LEDGER_URL, json={"transactions": [late]}, headers=ledger.LEDGER_HEADERS
    )
    assert fed.json()["results"][0]["code"] == "unknown-user", fed.text
    ingest = await client.post("/v1/emotions", json=_reading(), headers=account.headers)
    assert_problem(ingest, 403)


def _stuck_decision(engine: Engine, user_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """A PENDING header with an OPEN offer, as left by a workflow that is still running."""
    decision_id = uuid.uuid4()
    with Session(engine) as session:
        session.add(
            CreditDecision(
                id=decision_id, user_id=user_id, workflow_id=workflow_id_for(str(decision_id))
            )
        )
        session.flush()
        offer = Offer(
            decision_id=decision_id,
            user_id=user_id,
            credit_limit=Decimal("500.00"),
            interest_rate=Decimal("0.2000"),
            credit_type="SHORT_TERM",
            expires_at=datetime.now(UTC) + timedelta(days=1),
        )
        session.add(offer)
        session.commit()
        return decision_id, offer.id


async def test_erasure_terminates_a_decision_that_has_no_offer_to_decline(
    client: httpx.AsyncClient,
    engine: Engine,
    temporal_client: Client,
    settings: Settings,
    api_url: str,
) -> None:
    account = register_and_login(api_url, prefix="erase-pending")
    decision_id, offer_id = _stuck_decision(engine, account.id)
    with Session(engine) as session:
        header = session.get(CreditDecision, decision_id)
        assert header is not None
    # Started on a task queue nobody polls: the workflow stays open and PENDING.
    handle = await temporal_client.start_workflow(
        WORKFLOW_TYPE,
        decision_input(header, settings),
        id=header.workflow_id,
        task_queue=f"nobody-polls-{uuid.uuid4().hex[:8]}",
    )

    assert (await _erase(client, account)).status_code == 204

    description = await handle.describe()
    assert description.status == WorkflowExecutionStatus.TERMINATED
    header_after, offer = _decision(engine, str(decision_id))
    assert header_after.status == DecisionStatus.FAILED
    assert offer is not None and offer.id == offer_id and offer.status == OfferStatus.EXPIRED
    assert _user(engine, account.id).erased_at is not None


async def test_erasure_with_the_workflow_engine_down(engine: Engine, settings: Settings) -> None:
    """An open decision cannot be ended: nothing is erased (503). Without one, erasure works."""
    down = settings.model_copy(update={"temporal_address": "127.0.0.1:1"})
    with serve_api(down) as url:
        blocked = register_and_login(url, prefix="erase-down")
        _stuck_decision(engine, blocked.id)
        _seed_emotions(engine, blocked.id)
        free = register_and_login(url, prefix="erase-free")
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            refused = await _erase(http, blocked)
            done = await _erase(http, free)
            export = await http.get("/v1/me/export", headers=free.headers)
    problem = assert_problem(refused, 503)
    assert problem["type"] == "https://ecs.example/problems/workflow-engine-unavailable"
    assert int(refused.headers["retry-after"]) > 0
    user = _user(engine, blocked.id)
    assert user.erased_at is None and user.email == blocked.email
    assert _emotion_rows(engine, blocked.id) == 4
    assert done.status_code == 204, done.text
    assert_problem(export, 401)
