"""Credit-line re-evaluation end to end: the real API, a real worker, the Temporal dev server.

A customer gets an active line the normal way (ledger feed, decision, accept); the ledger then
changes and a proactive-offers run re-scores the line exactly as the schedule starts it (the
schedule's own action: workflow, task queue, timeout), for a cohort of this test's customer so
other suites' lines in a shared database are never touched. The run's worker has the settings
copied with time made short: every line is due at once, a decrease takes effect seconds after
its notice. Everything is asserted through the API: the change history (append-only), the
inbox, the answer to an accept, and the line itself.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from temporalio.client import Client, ScheduleActionStartWorkflow

from ecs.proactive import schedule
from ecs.proactive.contract import ProactiveInput, ProactiveSummary
from ecs.settings import Settings
from tests import ledger
from tests.api.conftest import Account, assert_problem, register_and_login, seed_good_history
from tests.support import async_wait_for

pytestmark = pytest.mark.usefixtures("worker")

DAY = 86400.0
NOTICE_SECONDS = 4.0
ANSWER = 30.0  # seconds any one step may take on a loaded CI machine


@pytest.fixture(scope="module")
def review_settings(settings: Settings) -> Settings:
    """The suite's settings with re-evaluation time made short, on a queue of their own."""
    return settings.model_copy(
        update={
            "temporal_task_queue": f"reevaluation-test-{uuid.uuid4().hex[:8]}",
            "reevaluation_interval_days": 1e-9,  # every line is due (as if a month had passed)
            "limit_decrease_notice_days": NOTICE_SECONDS / DAY,
            "limit_increase_offer_days": 1.0,  # open far longer than the test
        }
    )


@asynccontextmanager
async def _real_worker(temporal: Client, settings: Settings) -> AsyncIterator[None]:
    """The real worker (every workflow and activity) with these settings."""
    from worker import create_worker

    with ThreadPoolExecutor(max_workers=8) as executor:
        async with create_worker(temporal, settings, executor):
            yield


@pytest.fixture(scope="module")
async def review_worker(review_settings: Settings, temporal_client: Client) -> AsyncIterator[None]:
    async with _real_worker(temporal_client, review_settings):
        yield


@pytest.fixture
async def client(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:
        yield http


async def _run_schedule_action(
    temporal: Client, settings: Settings, cohort: list[Account]
) -> ProactiveSummary:
    """One proactive-offers run started as the schedule's action starts it, for this cohort."""
    action = schedule.schedule_for(settings).action
    assert isinstance(action, ScheduleActionStartWorkflow)
    summary: ProactiveSummary = await temporal.execute_workflow(
        action.workflow,
        ProactiveInput(user_ids=[str(a.id) for a in cohort]),
        id=f"{action.id}-test-{uuid.uuid4()}",
        task_queue=action.task_queue,
        execution_timeout=action.execution_timeout,
        result_type=ProactiveSummary,
    )
    return summary


async def _active_line(client: httpx.AsyncClient, customer: Account) -> dict[str, Any]:
    """Ledger history, a decision, its acceptance: the line as ``/v1/me/credit`` shows it."""
    await seed_good_history(client, customer)
    offered = await client.post(
        "/v1/credit-decisions", params={"wait": 20}, headers=customer.headers
    )
    assert offered.json()["status"] == "OFFERED", offered.text
    accepted = await client.post(
        f"/v1/credit-decisions/{offered.json()['id']}/accept", headers=customer.headers
    )
    assert accepted.status_code == 202, accepted.text

    async def deployed() -> dict[str, Any] | None:
        got = await client.get("/v1/me/credit", headers=customer.headers)
        return got.json() if got.status_code == 200 else None

    line = await async_wait_for(deployed, timeout=ANSWER, message="the credit line")
    assert Decimal(line["credit_limit"]) == Decimal(offered.json()["credit_limit"])
    return line


async def _changes(client: httpx.AsyncClient, customer: Account) -> list[dict[str, Any]]:
    got = await client.get(f"/v1/me/credit-lines/{customer.id}/changes", headers=customer.headers)
    assert got.status_code == 200, got.text
    assert got.json()["account_id"] == str(customer.id)
    items: list[dict[str, Any]] = got.json()["items"]
    return items


async def _changes_until(
    client: httpx.AsyncClient, customer: Account, *kinds: str
) -> list[dict[str, Any]]:
    """The line's change history once it holds exactly these kinds, in this order."""
    last: list[dict[str, Any]] = []

    async def recorded() -> list[dict[str, Any]] | None:
        last[:] = await _changes(client, customer)
        return last if [c["kind"] for c in last] == list(kinds) else None

    try:
        return await async_wait_for(recorded, timeout=ANSWER, message=f"the changes {kinds}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last seen: {[c['kind'] for c in last]}") from None


async def _notified(
    client: httpx.AsyncClient, customer: Account, *kinds: str
) -> dict[str, dict[str, Any]]:
    async def arrived() -> dict[str, dict[str, Any]] | None:
        got = await client.get(
            "/v1/me/notifications", params={"limit": 100}, headers=customer.headers
        )
        by_kind = {n["kind"]: n for n in got.json()["items"]}
        return by_kind if set(kinds) <= by_kind.keys() else None

    return await async_wait_for(arrived, timeout=ANSWER, message=f"notifications {kinds}")


async def _credit(client: httpx.AsyncClient, customer: Account) -> dict[str, Any]:
    got = await client.get("/v1/me/credit", headers=customer.headers)
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def _money(value: str) -> Decimal:
    return Decimal(value)


def _terms(body: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """A line's (limit, rate), from ``/v1/me/credit`` or an accept's answer."""
    return _money(body["credit_limit"]), _money(body["interest_rate"])


@pytest.mark.usefixtures("review_worker")
async def test_a_higher_salary_offers_an_increase_applied_once_on_acceptance(
    client: httpx.AsyncClient, api_url: str, temporal_client: Client, review_settings: Settings
) -> None:
    customer = register_and_login(api_url, prefix="increase")
    bystander = register_and_login(api_url, prefix="bystander")  # a cohort member with no line
    line = await _active_line(client, customer)
    old_limit, old_rate = _terms(line)
    assert await _changes(client, customer) == []

    # The lender's ledger now shows a much higher salary.
    salary = ledger.entry(customer.id, "20000.00", "in", datetime.now(UTC) - timedelta(days=1))
    await ledger.feed(client, [salary])

    summary = await _run_schedule_action(temporal_client, review_settings, [customer, bystander])
    assert summary == ProactiveSummary(selected=0, started=0, reviews=1)

    [offered] = await _changes_until(client, customer, "INCREASE_OFFERED")
    new_limit, new_rate = _money(offered["new_limit"]), _money(offered["new_rate"])
    assert (_money(offered["old_limit"]), _money(offered["old_rate"])) == (old_limit, old_rate)
    assert new_limit > old_limit and new_rate <= old_rate
    assert offered["policy_version"] and offered["model_version"]
    open_until = datetime.fromisoformat(offered["effective_at"])
    assert open_until > datetime.now(UTC) + timedelta(hours=23)  # ECS_LIMIT_INCREASE_OFFER_DAYS

    notice = (await _notified(client, customer, "line_increase_offer"))["line_increase_offer"]
    assert _money(notice["data"]["credit_limit"]) == new_limit
    assert datetime.fromisoformat(notice["data"]["expires_at"]) == open_until
    # Offered, not applied: the line keeps its terms until the customer accepts.
    assert _money((await _credit(client, customer))["credit_limit"]) == old_limit

    # Two accepts at once (a double tap, a retry): the increase is applied once, and both
    # answer 200 with the same terms.
    url = f"/v1/me/credit-lines/{customer.id}/increase/accept"
    answers = await asyncio.gather(*(client.post(url, headers=customer.headers) for _ in range(2)))
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    applied = [a.json() for a in answers]
    assert all(_terms(terms) == (new_limit, new_rate) for terms in applied), applied

    credit = await _credit(client, customer)
    assert _terms(credit) == (new_limit, new_rate)
    # The same strings everywhere (two and four decimals), not just the same numbers.
    assert applied[0] == {k: credit[k] for k in ("credit_limit", "interest_rate")}
    assert (offered["new_limit"], offered["new_rate"]) == (
        credit["credit_limit"],
        credit["interest_rate"],
    )
    assert credit["offer_id"] == line["offer_id"]  # the same line, re-priced: not a new offer

    history = await _changes_until(client, customer, "INCREASE_OFFERED", "INCREASE_APPLIED")
    assert history[0] == offered  # append-only: the offer's row is unchanged
    assert (_money(history[1]["old_limit"]), _money(history[1]["new_limit"])) == (
        old_limit,
        new_limit,
    )
    rose = (await _notified(client, customer, "line_increased"))["line_increased"]
    assert _money(rose["data"]["credit_limit"]) == new_limit

    # Accepting again (a retry after a lost answer): the same terms, and nothing changes.
    again = await client.post(url, headers=customer.headers)
    assert again.status_code == 200 and again.json() == applied[0], again.text
    assert _money((await _credit(client, customer))["credit_limit"]) == new_limit

    # The next run re-scores the line at its new terms: a review with no change, appended.
    summary = await _run_schedule_action(temporal_client, review_settings, [customer])
    assert summary == ProactiveSummary(selected=0, started=0, reviews=1)
    final = await _changes_until(
        client, customer, "INCREASE_OFFERED", "INCREASE_APPLIED", "NO_CHANGE"
    )
    assert final[:2] == history
    assert _money(final[2]["old_limit"]) == _money(final[2]["new_limit"]) == new_limit
    # Reviewed again: the applied increase is history, and there is nothing to accept now.
    stale = await client.post(url, headers=customer.headers)
    assert str(assert_problem(stale, 409)["type"]).endswith("no-open-increase")


@pytest.mark.usefixtures("review_worker")
async def test_heavier_spending_decreases_the_line_after_its_notice(
    client: httpx.AsyncClient, api_url: str, temporal_client: Client, review_settings: Settings
) -> None:
    customer = register_and_login(api_url, prefix="decrease")
    line = await _active_line(client, customer)
    old_limit = _money(line["credit_limit"])

    # Three months of 2,000 more spending: a riskier band, a lower limit at a higher rate.
    now = datetime.now(UTC)
    spending = [
        ledger.entry(customer.id, "2000.00", "out", now - timedelta(days=30 * month + 1))
        for month in range(3)
    ]
    await ledger.feed(client, spending)

    summary = await _run_schedule_action(temporal_client, review_settings, [customer])
    assert summary == ProactiveSummary(selected=0, started=0, reviews=1)

    [noticed] = await _changes_until(client, customer, "DECREASE_NOTICED")
    new_limit = _money(noticed["new_limit"])
    assert _money(noticed["old_limit"]) == old_limit and new_limit < old_limit
    effective = datetime.fromisoformat(noticed["effective_at"])
    created = datetime.fromisoformat(noticed["created_at"])
    assert timedelta(0) < effective - created <= timedelta(seconds=NOTICE_SECONDS + 1)
    notice = (await _notified(client, customer, "line_decrease_notice"))["line_decrease_notice"]
    assert _money(notice["data"]["credit_limit"]) == new_limit
    assert datetime.fromisoformat(notice["data"]["effective_at"]) == effective

    # During the notice the line keeps its limit (checked only while the notice surely runs).
    during = await _credit(client, customer)
    if datetime.now(UTC) < effective:
        assert _money(during["credit_limit"]) == old_limit

    # Nothing to accept on a decrease.
    accept = await client.post(
        f"/v1/me/credit-lines/{customer.id}/increase/accept", headers=customer.headers
    )
    assert_problem(accept, 409)

    async def decreased() -> dict[str, Any] | None:
        credit = await _credit(client, customer)
        return credit if _money(credit["credit_limit"]) == new_limit else None

    credit = await async_wait_for(
        decreased, timeout=NOTICE_SECONDS + ANSWER, message="the decrease to take effect"
    )
    assert _money(credit["interest_rate"]) == _money(noticed["new_rate"])
    history = await _changes_until(client, customer, "DECREASE_NOTICED", "DECREASE_APPLIED")
    assert history[0] == noticed  # append-only
    assert datetime.fromisoformat(history[1]["created_at"]) >= effective  # the notice was kept
    changed = (await _notified(client, customer, "line_decreased"))["line_decreased"]
    assert _money(changed["data"]["credit_limit"]) == new_limit


@pytest.mark.usefixtures("review_worker")
async def test_a_line_under_notice_is_not_reviewed_again(
    client: httpx.AsyncClient, api_url: str, temporal_client: Client, review_settings: Settings
) -> None:
    """While an increase offer waits for an answer the line is not due: a second run starts no
    second review (and so never a second, conflicting offer)."""
    customer = register_and_login(api_url, prefix="pending")
    await _active_line(client, customer)
    salary = ledger.entry(customer.id, "20000.00", "in", datetime.now(UTC) - timedelta(days=1))
    await ledger.feed(client, [salary])
    first = await _run_schedule_action(temporal_client, review_settings, [customer])
    assert first.reviews == 1
    await _changes_until(client, customer, "INCREASE_OFFERED")
    second = await _run_schedule_action(temporal_client, review_settings, [customer])
    assert second == ProactiveSummary(selected=0, started=0, reviews=0)
    assert [c["kind"] for c in await _changes(client, customer)] == ["INCREASE_OFFERED"]


async def test_an_unanswered_increase_expires_and_the_line_keeps_its_terms(
    client: httpx.AsyncClient, api_url: str, temporal_client: Client, review_settings: Settings
) -> None:
    """ECS_LIMIT_INCREASE_OFFER_DAYS passes without an answer: the offer is recorded expired, an
    accept is then a 409, the line is unchanged, and it is due again at the next interval."""
    brief = review_settings.model_copy(
        update={
            "temporal_task_queue": f"reevaluation-expiry-{uuid.uuid4().hex[:8]}",
            "limit_increase_offer_days": 2.0 / DAY,
        }
    )
    customer = register_and_login(api_url, prefix="expiry")
    line = await _active_line(client, customer)
    salary = ledger.entry(customer.id, "20000.00", "in", datetime.now(UTC) - timedelta(days=1))
    await ledger.feed(client, [salary])
    async with _real_worker(temporal_client, brief):
        assert (await _run_schedule_action(temporal_client, brief, [customer])).reviews == 1
        offered, expired = await _changes_until(
            client, customer, "INCREASE_OFFERED", "INCREASE_EXPIRED"
        )
        assert datetime.fromisoformat(expired["created_at"]) >= datetime.fromisoformat(
            offered["effective_at"]
        )  # open for the whole offer period
        accept = await client.post(
            f"/v1/me/credit-lines/{customer.id}/increase/accept", headers=customer.headers
        )
        assert str(assert_problem(accept, 409)["type"]).endswith("no-open-increase")
        assert _terms(await _credit(client, customer)) == _terms(line)
        # Closed, so due again: the next run offers the increase anew.
        assert (await _run_schedule_action(temporal_client, brief, [customer])).reviews == 1
        await _changes_until(
            client, customer, "INCREASE_OFFERED", "INCREASE_EXPIRED", "INCREASE_OFFERED"
        )
