"""The analyst dashboard and the API docs in a real browser: Debian's chromium, driven by
Playwright's Python package (``executable_path``; Playwright's own browser download is never used).

Data is seeded the way production gets it: customers register, their salaries and spending come
from the ledger feed, and they request credit through the API, decided by the real worker. The
test then asserts what an analyst sees: charts drawn with data, whole-number count axes, the
fairness monitor saying "not enough data" for a view without decisions, and no request leaving
the app's origin (the dashboard, ``/docs`` and ``/redoc`` alike).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy import Engine

from tests.api.conftest import Account, make_analyst, register_and_login, seed_good_history

pytestmark = pytest.mark.usefixtures("worker")

CHROMIUM = os.environ.get("ECS_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no chromium at {CHROMIUM}: install Debian's package with "
            "`apt-get install -y chromium` (.ci/run does), or set ECS_TEST_CHROMIUM"
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


class Visit:
    """A page that records every request and script error, to assert on afterwards.

    A request the page's Content-Security-Policy blocked never left the browser (Chromium
    reports it as failed with reason "csp"); every other request must go to the app."""

    def __init__(self, page: Page, origin: str) -> None:
        self.page, self.origin = page, origin
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.blocked: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on(
            "requestfailed",
            lambda request: self.blocked.append(request.url) if request.failure == "csp" else None,
        )
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def assert_same_origin_only(self) -> None:
        foreign = [
            url
            for url in self.requests
            if not url.startswith(("data:", "blob:", self.origin)) and url not in self.blocked
        ]
        assert not foreign, f"requests left the app: {foreign}"
        assert not self.errors, f"script errors: {self.errors}"


async def _visit(browser: Browser, api_url: str, path: str) -> Visit:
    page = await browser.new_page()
    visit = Visit(page, f"{urlsplit(api_url).scheme}://{urlsplit(api_url).netloc}")
    await page.goto(api_url + path)
    return visit


async def _rendered(visit: Visit) -> None:
    await visit.page.wait_for_selector("body[data-rendered]", timeout=20_000)


async def _seed_decisions(api_url: str) -> list[Account]:
    """Two customers with four months of ledger history and one without; each asks for credit."""
    customers = [register_and_login(api_url, prefix="dash") for _ in range(3)]
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as client:
        for customer in customers[:2]:
            await seed_good_history(client, customer)
        for customer in customers:
            response = await client.post(
                "/v1/credit-decisions", params={"wait": 20}, headers=customer.headers
            )
            assert response.status_code == 201, response.text
    return customers


async def test_dashboard_draws_the_charts_with_data(
    browser: Browser, api_url: str, engine: Engine
) -> None:
    await _seed_decisions(api_url)
    analyst = make_analyst(api_url, engine)
    visit = await _visit(browser, api_url, f"/dashboard#token={analyst.token}")
    await _rendered(visit)
    page = visit.page
    assert "token=" not in page.url, "the token is removed from the address bar"

    decisions = int((await page.text_content("#kpi-decisions") or "0").replace(",", ""))
    assert decisions >= 3
    for chart in ("chart-outcomes", "chart-bands", "chart-limits", "chart-reasons"):
        bars = await page.locator(f"#{chart} svg rect.bar").count()
        assert bars > 0, f"{chart} has no bars"
        assert await page.locator(f"#{chart} svg text.empty").count() == 0, chart

    ticks = await page.locator("#chart-limits svg text.tick").all_text_contents()
    assert ticks and all(re.fullmatch(r"\d+", t) for t in ticks), ticks
    assert len(set(ticks)) == len(ticks), f"repeated count ticks: {ticks}"
    assert (await page.locator("#model-version option").count()) >= 2, "model versions offered"
    assert "Updated" in (await page.text_content("#updated") or "")
    visit.assert_same_origin_only()
    await page.close()


async def test_fairness_says_not_enough_data_without_decisions(
    browser: Browser, api_url: str, engine: Engine
) -> None:
    analyst = make_analyst(api_url, engine)
    view = "/dashboard?days=14&policy_version=no-such-policy"
    visit = await _visit(browser, api_url, f"{view}#token={analyst.token}")
    await _rendered(visit)
    page = visit.page
    verdict = await page.text_content("#fairness-verdict") or ""
    assert "not enough data" in verdict, verdict
    assert "✓" not in verdict
    assert await page.input_value("#policy-version") == "no-such-policy"
    assert await page.locator("#chart-outcomes svg text.empty").count() == 1
    visit.assert_same_origin_only()
    await page.close()


@pytest.mark.parametrize(
    ("path", "rendered"),
    [("/docs", ".swagger-ui .info .title"), ("/redoc", "redoc h1, [role=main] h1, h1")],
)
async def test_api_docs_render_offline(
    browser: Browser, api_url: str, path: str, rendered: str
) -> None:
    visit = await _visit(browser, api_url, path)
    title = visit.page.locator(rendered).first
    await title.wait_for(timeout=20_000)
    assert "Empathic Credit System" in (await title.text_content() or "")
    visit.assert_same_origin_only()
    await visit.page.close()
