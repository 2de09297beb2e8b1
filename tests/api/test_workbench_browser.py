"""The analyst workbench in a real browser: Debian's chromium driven by Playwright's Python
package, launched exactly as the dashboard's browser test does (its fixture, reused).

Cases are made the way production makes them: REFERRED ones by a worker whose risk model is down
(``test_reviews``' fixtures), automated ones by the real worker and then contested by their
customer through the API. Each test works the case in the page and then asks the API what
happened, so the page is shown to act, not only to draw:

* a referral is found in the queue, opened, drawn (snapshot, contributions, history) and denied
  with a comment the page insists on;
* an approval above the four-eyes limit waits in CONFIRMING; its proposer is refused (the page
  shows the 409's own sentence) and a second analyst, in another browser context, confirms it;
* a contested decision shows as CONTESTED with the customer's reason and the model's
  contributions; an open offer is upheld with its terms (it cannot be denied), a denial is given
  terms;
* a review past its deadline is marked overdue, at the top of the queue, with its escalation.

No request may leave the app's origin. Waits are Playwright's (auto-waiting locators and
``expect`` with a timeout), ``<body data-rendered>`` and polls of the API; nothing sleeps a
fixed time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect
from sqlalchemy import Engine

from ecs.settings import Settings
from tests.api import test_dashboard_browser as dashboard_browser
from tests.api import test_reviews as reviews
from tests.api.conftest import (
    Account,
    make_analyst,
    register_and_login,
    seed_good_history,
    serve_api,
)
from tests.api.test_dashboard_browser import Visit
from tests.support import async_wait_for

pytestmark = pytest.mark.usefixtures("worker")

# The same fixtures, so this module launches chromium (or fails saying how to install it) and
# makes referrals exactly as those modules do.
browser = dashboard_browser.browser
referral_settings = reviews.referral_settings
down_model_worker = reviews.down_model_worker
referral_api = reviews.referral_api

TIMEOUT = 20_000  # ms, for every wait on the page
CONTEST_REASON = "My salary doubled last month; the history does not show it yet."


# --- driving the page ----------------------------------------------------------------------------


@asynccontextmanager
async def _workbench(
    browser: Browser, api_url: str, analyst: Account, case: str | None = None
) -> AsyncIterator[Visit]:
    """The workbench signed in as this analyst, in a browser context of its own."""
    context = await browser.new_context(viewport={"width": 1440, "height": 1000})
    try:
        page = await context.new_page()
        parts = urlsplit(api_url)
        visit = Visit(page, f"{parts.scheme}://{parts.netloc}")
        query = f"?case={case}" if case else ""
        await page.goto(f"{api_url}/workbench{query}#token={analyst.token}")
        await page.wait_for_selector("body[data-rendered]", timeout=TIMEOUT)
        assert "token=" not in page.url, "the token is removed from the address bar"
        yield visit
        visit.assert_same_origin_only()
    finally:
        await context.close()


async def _renders(page: Page) -> int:
    count: int = await page.evaluate("Number(document.body.dataset.rendered || 0)")
    return count


async def _open_from_queue(page: Page, decision_id: str) -> Locator:
    """Click the decision's row, showing more of the queue while it is not on the page yet
    (the queue is shared with every other test of the session, oldest first)."""
    row = page.locator(f'#queue tbody tr[data-id="{decision_id}"]')
    while not await row.count():
        more = page.locator("#more")
        assert await more.is_visible(), f"{decision_id} is not in the review queue"
        count = await _renders(page)
        await more.click()
        await page.wait_for_function(
            "n => Number(document.body.dataset.rendered) > n", arg=count, timeout=TIMEOUT
        )
    await row.click()
    await expect(page.locator("#case-id")).to_have_attribute("title", decision_id, timeout=TIMEOUT)
    return row


async def _status_is(page: Page, status: str) -> None:
    await expect(page.locator("#case-status")).to_have_text(status, timeout=TIMEOUT)


async def _assert_case_drawn(page: Page, case: dict[str, Any]) -> None:
    """Every feature, contribution and record the API has for the case is on the page."""
    features = page.locator("#features tbody th")
    await expect(features).to_have_count(len(case["features"]), timeout=TIMEOUT)
    assert set(await features.all_text_contents()) == set(case["features"])
    bars = page.locator("#contributions svg rect.bar")
    await expect(bars).to_have_count(len(case["contributions"]))
    riskier = sum(1 for c in case["contributions"] if c["log_odds"] > 0)
    await expect(page.locator("#contributions svg rect.riskier")).to_have_count(riskier)
    records = page.locator("#records tbody tr[data-kind]")
    await expect(records).to_have_count(len(case["records"]))
    for code in case["reason_codes"]:
        await expect(page.locator("#reason-codes li", has_text=code)).to_have_count(1)
    await expect(page.locator("#emotions tbody tr").first).to_be_visible()


# --- seeding through the API ---------------------------------------------------------------------


async def _referred(api_url: str, customer: Account) -> str:
    """A decision the down-model worker REFERRED for review."""
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as client:
        await seed_good_history(client, customer)
        response = await client.post(
            "/v1/credit-decisions", params={"wait": 30}, headers=customer.headers
        )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "REFERRED", response.text
    decision_id: str = response.json()["id"]
    return decision_id


async def _contested(api_url: str, customer: Account, *, history: bool) -> str:
    """An automated decision (an offer with a good ledger history, else a denial) that its
    customer contests through the API."""
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as client:
        if history:
            await seed_good_history(client, customer)
        decided = await client.post(
            "/v1/credit-decisions", params={"wait": 20}, headers=customer.headers
        )
        assert decided.status_code == 201, decided.text
        decision_id: str = decided.json()["id"]
        contested = await client.post(
            f"/v1/credit-decisions/{decision_id}/contest",
            json={"reason": CONTEST_REASON},
            headers=customer.headers,
        )
    assert contested.status_code == 202, contested.text
    assert contested.json()["status"] == "CONTESTED"
    return decision_id


async def _case(api_url: str, analyst: Account, decision_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        response = await client.get(f"/v1/reviews/{decision_id}", headers=analyst.headers)
    assert response.status_code == 200, response.text
    case: dict[str, Any] = response.json()
    return case


async def _customer_sees(api_url: str, customer: Account, decision_id: str, status: str) -> Any:
    async def seen() -> dict[str, Any] | None:
        async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
            response = await client.get(
                f"/v1/credit-decisions/{decision_id}", headers=customer.headers
            )
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view if view["status"] == status else None

    return await async_wait_for(seen, timeout=20, message=f"the customer to see {status}")


def _money(amount: str) -> str:
    return f"{Decimal(amount):,.2f}"


# --- the tests -----------------------------------------------------------------------------------


def test_workbench_is_served_under_the_strict_policy(api_url: str) -> None:
    page = httpx.get(f"{api_url}/workbench")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "<script>" not in page.text, "no inline script: the policy would refuse it"
    for asset in ("workbench.js", "charts.js", "workbench.css"):
        assert httpx.get(f"{api_url}/workbench/{asset}").status_code == 200, asset


@pytest.mark.usefixtures("down_model_worker")
async def test_a_referral_is_opened_from_the_queue_and_denied_with_a_comment(
    browser: Browser, referral_api: str, engine: Engine
) -> None:
    customer = register_and_login(referral_api, prefix="wb-referred")
    decision_id = await _referred(referral_api, customer)
    analyst = make_analyst(referral_api, engine)
    case = await _case(referral_api, analyst, decision_id)

    async with _workbench(browser, referral_api, analyst) as visit:
        page = visit.page
        row = await _open_from_queue(page, decision_id)
        await expect(row.locator("td").nth(0)).to_have_text("REFERRED")
        await expect(row.locator("td").nth(1)).to_have_text("referred")
        await _status_is(page, "REFERRED")
        await _assert_case_drawn(page, case)
        assert "case=" + decision_id in page.url, "the open case can be linked"

        comment, deny = page.locator("#review-comment"), page.locator("#deny")
        await expect(deny).to_be_disabled()
        await comment.fill("no")
        await expect(deny).to_be_disabled()
        await expect(page.locator("#approve")).to_be_disabled()
        await comment.fill("Income cannot be verified")
        await expect(deny).to_be_enabled()
        await expect(page.locator("#approve")).to_be_disabled()  # no terms, no approval
        await deny.click()

        await _status_is(page, "DENIED")
        await expect(page.locator("#action-message")).to_contain_text("DENIED")
        await expect(page.locator("#review")).to_be_hidden()
        await expect(row).to_have_count(0, timeout=TIMEOUT)
        review = page.locator('#records tbody tr[data-kind="REVIEW"]')
        await expect(review).to_contain_text("Income cannot be verified")
        await expect(review).to_contain_text("you")

    after = await _case(referral_api, analyst, decision_id)
    assert after["status"] == "DENIED"
    (record,) = [r for r in after["records"] if r["kind"] == "REVIEW"]
    assert record["comment"] == "Income cannot be verified"
    assert record["reviewer_id"] == str(analyst.id)
    await _customer_sees(referral_api, customer, decision_id, "DENIED")


@pytest.mark.usefixtures("down_model_worker")
async def test_an_approval_above_the_four_eyes_limit_needs_a_second_analyst(
    browser: Browser, referral_api: str, engine: Engine
) -> None:
    customer = register_and_login(referral_api, prefix="wb-four-eyes")
    decision_id = await _referred(referral_api, customer)
    proposer, confirmer = make_analyst(referral_api, engine), make_analyst(referral_api, engine)
    limit = Decimal((await _case(referral_api, proposer, decision_id))["four_eyes_limit"])
    above = f"{limit + 5000:.2f}"

    async with _workbench(browser, referral_api, proposer, case=decision_id) as visit:
        page = visit.page
        await _status_is(page, "REFERRED")
        four_eyes = page.locator("#four-eyes")
        await expect(four_eyes).to_contain_text(_money(str(limit)))
        await expect(four_eyes).to_contain_text("second analyst")
        await page.fill("#limit", above)
        await page.fill("#rate", "18.50")
        await page.select_option("#credit-type", "LONG_TERM")
        await expect(page.locator("#approve")).to_be_disabled()  # no comment yet
        await page.fill("#review-comment", "Fourteen months of stable salary")
        await expect(four_eyes).to_contain_text("wait for that confirmation")
        await page.click("#approve")

        await _status_is(page, "CONFIRMING")
        proposal = page.locator("#proposal")
        await expect(proposal).to_contain_text(_money(above))
        await expect(proposal).to_contain_text("you")

        # The proposer cannot confirm: the server says why, and the page shows its sentence.
        await page.fill("#confirm-comment", "Confirming my own proposal")
        await page.click("#confirm")
        async with httpx.AsyncClient(base_url=referral_api, timeout=30) as client:
            refused = await client.post(
                f"/v1/reviews/{decision_id}/confirm",
                json={"confirm": True, "comment": "Confirming my own proposal"},
                headers=proposer.headers,
            )
        assert refused.status_code == 409, refused.text
        detail = refused.json()["detail"]
        await expect(page.locator("#action-message")).to_have_text(detail, timeout=TIMEOUT)
        await _status_is(page, "CONFIRMING")

    async with _workbench(browser, referral_api, confirmer) as visit:
        page = visit.page
        row = await _open_from_queue(page, decision_id)
        await expect(row.locator("td").nth(0)).to_have_text("CONFIRMING")
        await expect(page.locator("#review")).to_be_hidden()
        await expect(page.locator("#proposal")).to_contain_text(_money(above))
        await expect(page.locator("#confirm")).to_be_disabled()
        await page.fill("#confirm-comment", "Checked the salary history")
        await page.click("#confirm")
        await _status_is(page, "OFFERED")
        confirmation = page.locator('#records tbody tr[data-kind="CONFIRMATION"]')
        await expect(confirmation).to_contain_text("Checked the salary history")

    offered = await _customer_sees(referral_api, customer, decision_id, "OFFERED")
    assert offered["credit_limit"] == above
    assert offered["interest_rate"] == "0.1850"
    assert offered["credit_type"] == "LONG_TERM"
    kinds = [r["kind"] for r in (await _case(referral_api, confirmer, decision_id))["records"]]
    assert "PROPOSAL" in kinds and "CONFIRMATION" in kinds, kinds


@pytest.mark.parametrize("history", [True, False], ids=["offer", "denial"])
async def test_a_contested_decision_shows_the_reason_and_is_reviewed(
    browser: Browser, api_url: str, engine: Engine, history: bool
) -> None:
    """An open offer (good history) is upheld with its terms, prefilled from it, and cannot be
    denied; an automated denial (no history) is given terms. Both end OFFERED."""
    customer = register_and_login(api_url, prefix="wb-contest")
    decision_id = await _contested(api_url, customer, history=history)
    analyst = make_analyst(api_url, engine)
    case = await _case(api_url, analyst, decision_id)
    assert case["contributions"], "an automated decision has the model's contributions"
    assert (case["offer"] is not None) is history, case["offer"]

    async with _workbench(browser, api_url, analyst) as visit:
        page = visit.page
        row = await _open_from_queue(page, decision_id)
        await expect(row.locator("td").nth(0)).to_have_text("CONTESTED")
        await expect(row.locator("td").nth(1)).to_have_text("contested")
        await _status_is(page, "CONTESTED")
        await expect(page.locator("#contest-reason")).to_have_text(CONTEST_REASON)
        await _assert_case_drawn(page, case)
        contest = page.locator('#records tbody tr[data-kind="CONTEST"]')
        await expect(contest).to_contain_text(CONTEST_REASON)
        await expect(contest).to_contain_text("customer")

        await page.fill("#review-comment", "The salary rise is confirmed by the payslips")
        if history:
            offer = case["offer"]
            await expect(page.locator("#offer")).to_contain_text(_money(offer["credit_limit"]))
            await expect(page.locator("#limit")).to_have_value(offer["credit_limit"])
            await expect(page.locator("#deny")).to_be_disabled()  # even with a comment
            await expect(page.locator("#deny-note")).to_be_visible()
        else:
            await expect(page.locator("#limit")).to_have_value("")
            await expect(page.locator("#approve")).to_be_disabled()  # no terms yet
            await page.fill("#limit", "1500.00")
            await page.fill("#rate", "24.00")
        await page.click("#approve")
        await _status_is(page, "OFFERED")
        await expect(row).to_have_count(0, timeout=TIMEOUT)

    offered = await _customer_sees(api_url, customer, decision_id, "OFFERED")
    expected = case["offer"]["credit_limit"] if history else "1500.00"
    assert offered["credit_limit"] == expected


@pytest.fixture
def overdue_api(settings: Settings) -> Iterator[str]:
    """An API whose reviews are overdue after 2 s (the deadline travels in each workflow's
    input, so the session's worker escalates them as set here)."""
    with serve_api(settings.model_copy(update={"review_deadline_hours": 2 / 3600})) as url:
        yield url


async def test_an_escalated_review_is_marked_overdue(
    browser: Browser, overdue_api: str, engine: Engine
) -> None:
    customer = register_and_login(overdue_api, prefix="wb-overdue")
    decision_id = await _contested(overdue_api, customer, history=False)
    analyst = make_analyst(overdue_api, engine)

    async def escalated() -> dict[str, Any] | None:
        case = await _case(overdue_api, analyst, decision_id)
        return case if case["escalated_at"] else None

    case = await async_wait_for(escalated, timeout=30, message="the review to be escalated")
    async with _workbench(browser, overdue_api, analyst) as visit:
        page = visit.page
        row = await _open_from_queue(page, decision_id)
        await expect(row.locator(".badge.overdue")).to_have_text("overdue")
        await expect(page.locator("#case-overdue")).to_be_visible()
        await expect(page.locator("#case-due")).to_contain_text("escalated")
        escalation = page.locator('#records tbody tr[data-kind="ESCALATION"]')
        await expect(escalation).to_contain_text("system")
        await _assert_case_drawn(page, case)
        first = page.locator("#queue tbody tr").first
        await expect(first.locator(".badge.overdue")).to_be_visible()  # overdue come first
