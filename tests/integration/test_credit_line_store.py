"""``ecs.credit_lines.store`` on the real database: which lines are due, and writes that a
retried activity may repeat without appending or applying anything twice.

Every case runs on the suite's database (SQLite, or ``ECS_TEST_DATABASE_URL``) for its own users
only (``among``), so a shared database is fine. Concurrent applies of one step need row locks
(``SELECT ... FOR UPDATE``): that case runs on PostgreSQL whenever ``ECS_TEST_POSTGRES_URL`` is
set, on a database of its own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from ecs.credit_lines import store
from ecs.credit_lines.contract import (
    ApplyResult,
    ChangeKind,
    Proposal,
    RecordInput,
    review_workflow_id,
)
from ecs.db.engine import make_engine
from ecs.db.migrate import upgrade
from ecs.db.tables import CreditAccount, User
from tests.factories import make_credit_line, make_user
from tests.support import fresh_postgres_database

INTERVAL = timedelta(days=30)
OLD_LIMIT, NEW_LIMIT = Decimal("5000.00"), Decimal("3600.00")
RATE = Decimal("0.1890")


def _line(engine: Engine, *, days_ago: float = 40, consent: bool = True) -> uuid.UUID:
    user = make_user(engine, months=0, consent=consent)
    activated = datetime.now(UTC) - timedelta(days=days_ago)
    make_credit_line(
        engine, user, credit_limit=OLD_LIMIT, interest_rate=RATE, activated_at=activated
    )
    return user


def _offer_id(engine: Engine, account: uuid.UUID) -> str:
    with Session(engine) as session:
        line = session.get(CreditAccount, account)
        assert line is not None
        return str(line.offer_id)


def _step(engine: Engine, account: uuid.UUID, kind: ChangeKind, **proposal: object) -> RecordInput:
    values: dict[str, object] = {
        "kind": ChangeKind.DECREASE_NOTICED,
        "old_limit": OLD_LIMIT,
        "new_limit": NEW_LIMIT,
        "old_rate": RATE,
        "new_rate": RATE,
        "offer_id": _offer_id(engine, account),
        "policy_version": "policy-test",
        "model_version": "model-test",
        "notice_seconds": 1.0,
        "offer_seconds": 1.0,
        **proposal,
    }
    return RecordInput(account_id=str(account), kind=kind, proposal=Proposal.model_validate(values))


def _wf(account: uuid.UUID, run: str) -> str:
    """A review's workflow id as the schedule makes it: unique across accounts, as in life."""
    return review_workflow_id(str(account), run)


def _kinds(engine: Engine, account: uuid.UUID) -> list[tuple[str, str]]:
    """The line's rows as (kind, the run the review was started by)."""
    return [(c.kind, c.workflow_id.rsplit(":", 1)[1]) for c in store.changes(engine, account)]


def _terms(engine: Engine, account: uuid.UUID) -> tuple[Decimal, Decimal]:
    with Session(engine) as session:
        line = session.get(CreditAccount, account)
        assert line is not None
        return line.credit_limit, line.interest_rate


def _due(engine: Engine, among: list[uuid.UUID], at: datetime, limit: int = 100) -> list[uuid.UUID]:
    return store.due_lines(engine, at, INTERVAL, limit, among)


def test_record_appends_one_row_per_workflow_and_kind(engine: Engine) -> None:
    account = _line(engine)
    noticed = _step(engine, account, ChangeKind.DECREASE_NOTICED)
    for _ in range(3):  # the activity retried after a lost answer
        store.record(engine, noticed, _wf(account, "review-1"))
    store.record(
        engine, noticed, _wf(account, "review-2")
    )  # another review's notice is its own row
    store.record(engine, _step(engine, account, ChangeKind.NO_CHANGE), _wf(account, "review-1"))
    assert _kinds(engine, account) == [
        ("DECREASE_NOTICED", "review-1"),
        ("DECREASE_NOTICED", "review-2"),
        ("NO_CHANGE", "review-1"),
    ]
    [first, *_] = store.changes(engine, account)
    assert (first.old_limit, first.new_limit, first.policy_version) == (
        OLD_LIMIT,
        NEW_LIMIT,
        "policy-test",
    )
    assert _terms(engine, account) == (OLD_LIMIT, RATE)  # recording never touches the line


def test_apply_changes_the_line_and_appends_its_row_once(engine: Engine) -> None:
    account = _line(engine)
    store.record(
        engine, _step(engine, account, ChangeKind.DECREASE_NOTICED), _wf(account, "review")
    )
    applied = _step(engine, account, ChangeKind.DECREASE_APPLIED, new_rate=Decimal("0.2690"))
    first = store.apply(engine, applied, _wf(account, "review"))
    assert (first.applied, first.credit_limit, first.interest_rate) == (
        True,
        NEW_LIMIT,
        Decimal("0.2690"),
    )
    assert _terms(engine, account) == (NEW_LIMIT, Decimal("0.2690"))
    retried = store.apply(engine, applied, _wf(account, "review"))
    assert retried == first  # the same answer, nothing applied or appended again
    assert _kinds(engine, account) == [
        ("DECREASE_NOTICED", "review"),
        ("DECREASE_APPLIED", "review"),
    ]


def test_a_change_to_a_replaced_line_is_superseded_and_stays_so_when_retried(
    engine: Engine,
) -> None:
    """The customer accepted a new offer during the notice: the decrease made on the old line
    must not cut the new one. A retried apply (the answer was lost) still applies nothing."""
    account = _line(engine)
    applied = _step(engine, account, ChangeKind.DECREASE_APPLIED)
    make_credit_line(engine, account, credit_limit=Decimal("8000.00"), interest_rate=RATE)
    for _ in range(2):
        result = store.apply(engine, applied, _wf(account, "review"))
        assert (result.applied, result.credit_limit) == (False, Decimal("8000.00"))
    assert _terms(engine, account) == (Decimal("8000.00"), RATE)
    assert _kinds(engine, account) == [("SUPERSEDED", "review")]


def test_apply_without_a_line_applies_and_records_nothing(engine: Engine) -> None:
    account = _line(engine)
    step = _step(engine, account, ChangeKind.INCREASE_APPLIED)
    with Session(engine) as session:
        line = session.get(CreditAccount, account)
        session.delete(line)
        session.commit()
    result = store.apply(engine, step, _wf(account, "review"))
    assert (result.applied, result.credit_limit) == (False, Decimal(0))
    assert store.changes(engine, account) == []


def test_a_line_is_due_an_interval_after_its_activation_or_its_last_review(
    engine: Engine,
) -> None:
    now = datetime.now(UTC)
    oldest = _line(engine, days_ago=50)
    old = _line(engine, days_ago=40)
    recent = _line(engine, days_ago=10)
    reviewed = _line(engine, days_ago=60)
    store.record(engine, _step(engine, reviewed, ChangeKind.NO_CHANGE), _wf(reviewed, "review"))
    among = [recent, reviewed, old, oldest]
    assert _due(engine, among, now) == [oldest, old]  # least recently first
    assert _due(engine, among, now, limit=1) == [oldest]  # the run's bound
    assert _due(engine, among, now + timedelta(days=21)) == [oldest, old, recent]
    later = now + timedelta(days=31)
    assert _due(engine, among, later) == [oldest, old, recent, reviewed]
    assert _due(engine, [reviewed], later) == [reviewed]  # a cohort run sees only its cohort


def test_a_line_waiting_on_notice_or_an_answer_is_not_due_until_its_review_closes(
    engine: Engine,
) -> None:
    later = datetime.now(UTC) + 2 * INTERVAL
    noticed, offered = _line(engine), _line(engine)
    store.record(
        engine, _step(engine, noticed, ChangeKind.DECREASE_NOTICED), _wf(noticed, "notice")
    )
    store.record(engine, _step(engine, offered, ChangeKind.INCREASE_OFFERED), _wf(offered, "offer"))
    assert _due(engine, [noticed, offered], later) == []
    store.apply(engine, _step(engine, noticed, ChangeKind.DECREASE_APPLIED), _wf(noticed, "notice"))
    store.record(engine, _step(engine, offered, ChangeKind.INCREASE_EXPIRED), _wf(offered, "offer"))
    assert set(_due(engine, [noticed, offered], later)) == {noticed, offered}
    # A closed review of another workflow does not close this one.
    store.record(
        engine, _step(engine, offered, ChangeKind.INCREASE_OFFERED), _wf(offered, "offer-2")
    )
    store.record(
        engine, _step(engine, offered, ChangeKind.INCREASE_EXPIRED), _wf(offered, "offer-other")
    )
    assert _due(engine, [noticed, offered], later) == [noticed]


def test_only_consenting_living_customers_lines_are_due(engine: Engine) -> None:
    later = datetime.now(UTC) + 2 * INTERVAL
    consenting, withdrawn, erased = _line(engine), _line(engine, consent=False), _line(engine)
    with Session(engine) as session:
        user = session.get(User, erased)
        assert user is not None
        user.erased_at = datetime.now(UTC)
        session.add(user)
        session.commit()
    assert _due(engine, [consenting, withdrawn, erased], later) == [consenting]


def test_the_open_increase_offer_is_the_latest_unanswered_one(engine: Engine) -> None:
    account = _line(engine)
    assert store.pending_offer_workflow(engine, account) is None
    store.record(
        engine, _step(engine, account, ChangeKind.INCREASE_OFFERED), _wf(account, "offer-1")
    )
    assert store.pending_offer_workflow(engine, account) == _wf(account, "offer-1")
    store.record(
        engine, _step(engine, account, ChangeKind.INCREASE_EXPIRED), _wf(account, "offer-1")
    )
    assert store.pending_offer_workflow(engine, account) is None
    store.record(
        engine, _step(engine, account, ChangeKind.INCREASE_OFFERED), _wf(account, "offer-2")
    )
    assert store.pending_offer_workflow(engine, account) == _wf(account, "offer-2")
    increase = _step(engine, account, ChangeKind.INCREASE_APPLIED, new_limit=Decimal("9000.00"))
    assert store.apply(engine, increase, _wf(account, "offer-2")).applied
    assert store.pending_offer_workflow(engine, account) is None


@pytest.fixture(scope="module")
def pg() -> Iterator[Engine]:
    server = os.environ.get("ECS_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("PostgreSQL-only case: set ECS_TEST_POSTGRES_URL (CI always does)")
    with fresh_postgres_database(server) as url:
        upgrade(url)
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def _at_once(engine: Engine, step: RecordInput, workflow_id: str) -> list[ApplyResult]:
    """Eight attempts of one apply at the same time."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        attempts = [pool.submit(store.apply, engine, step, workflow_id) for _ in range(8)]
        return [a.result() for a in attempts]


@pytest.mark.postgres
def test_concurrent_applies_of_one_step_apply_it_once(pg: Engine) -> None:
    """Attempts of one activity at once (the first timed out but still runs): the row lock
    makes each later one find the first's row, so one row and every answer the same."""
    for _ in range(5):
        account = _line(pg)
        step = _step(pg, account, ChangeKind.INCREASE_APPLIED, new_limit=Decimal("9000.00"))
        results = _at_once(pg, step, _wf(account, "review"))
        assert all(r.applied and r.credit_limit == Decimal("9000.00") for r in results)
        assert _kinds(pg, account) == [("INCREASE_APPLIED", "review")]

        replaced = _line(pg)
        step = _step(pg, replaced, ChangeKind.DECREASE_APPLIED)
        make_credit_line(pg, replaced, credit_limit=Decimal("8000.00"), interest_rate=RATE)
        results = _at_once(pg, step, _wf(replaced, "review"))
        assert not any(r.applied for r in results)
        assert _kinds(pg, replaced) == [("SUPERSEDED", "review")]
