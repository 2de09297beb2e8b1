"""Regenerate ``docs/images/workbench.png``: the analyst workbench with a contested case open.

A real picture of the README's *Analyst workbench*, not a mock-up: against a running stack,
three customers with four months of ledger history and a week of emotion readings ask for
credit, the real model decides, and each contests the decision through the API with a reason
of their own. An analyst made with ``ecs create-user`` (run from this checkout, so it writes to
the stack's database: start the stack from the same checkout) opens the first case, and Debian's
chromium (through Playwright, never Playwright's own browser download) screenshots the page.
Every account it makes is new; nothing else in the stack is touched.

    .venv/bin/ecs dev &                                           # or `make run`
    .venv/bin/python docs/images/render_workbench.py              # the default port of `ecs dev`
    .venv/bin/python docs/images/render_workbench.py --api http://127.0.0.1:18431
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

from ecs.settings import DEV_LEDGER_KEY

OUTPUT = Path(__file__).with_name("workbench.png")
PASSWORD = "workbench picture 2026"
REASONS = (
    "My salary went up by 40% two months ago; the limit does not reflect it.",
    "The overdraft in October was a bank error, since refunded.",
    "I asked for a long-term loan for my studies, not a short-term line.",
)


def _checked(response: httpx.Response, status: int) -> dict[str, Any]:
    if response.status_code != status:
        raise SystemExit(f"{response.request.method} {response.request.url}: {response.text}")
    body: dict[str, Any] = response.json()
    return body


def _token(client: httpx.Client, email: str) -> str:
    answer = client.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    return str(_checked(answer, 200)["access_token"])


def _history(user_id: str, salary: str, now: datetime) -> list[dict[str, Any]]:
    """Four months of salary in and spending out, as the ledger feed would send them."""

    def entry(amount: str, direction: str, when: datetime) -> dict[str, Any]:
        return {
            "ledger_id": f"tx-{uuid.uuid4().hex}",
            "user_id": user_id,
            "amount": amount,
            "currency": "BRL",
            "direction": direction,
            "occurred_at": when.isoformat(),
        }

    entries = []
    for month in range(4):
        day = now - timedelta(days=30 * month + 2)
        entries.append(entry(salary, "in", day))
        entries += [entry("1100.00", "out", day - timedelta(days=7 * p + 1)) for p in range(3)]
    return entries


def _readings(now: datetime, stress: float) -> list[dict[str, Any]]:
    """A week of calm-to-moderate readings, every six hours (never distress: no cooling-off)."""
    return [
        {
            "occurred_at": (now - timedelta(hours=6 * n + 1)).isoformat(),
            "kind": "reading",
            "metrics": {"positivity": 0.55, "intensity": 0.4, "stress": stress},
        }
        for n in range(24)
    ]


def _contested_case(client: httpx.Client, salary: str, stress: float, reason: str) -> str:
    """A new customer's automated decision, contested; returns the decision id."""
    email = f"workbench-{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "password": PASSWORD, "consent_emotion_processing": True}
    user_id = str(_checked(client.post("/v1/auth/register", json=body), 201)["id"])
    headers = {"Authorization": f"Bearer {_token(client, email)}"}
    now = datetime.now(UTC)
    ledger = {"transactions": _history(user_id, salary, now)}
    _checked(
        client.post(
            "/v1/ledger/transactions", json=ledger, headers={"X-Ledger-Key": DEV_LEDGER_KEY}
        ),
        200,
    )
    readings = {"readings": _readings(now, stress)}
    _checked(client.post("/v1/emotions", json=readings, headers=headers), 202)
    decided = _checked(
        client.post("/v1/credit-decisions", params={"wait": 30}, headers=headers), 201
    )
    contest = client.post(
        f"/v1/credit-decisions/{decided['id']}/contest", json={"reason": reason}, headers=headers
    )
    _checked(contest, 202)
    return str(decided["id"])


def _analyst(client: httpx.Client) -> str:
    email = f"analyst-{uuid.uuid4().hex[:10]}@example.com"
    create = [sys.executable, "-m", "ecs", "create-user", "--email", email]
    subprocess.run([*create, "--role", "analyst", "--password", PASSWORD], check=True)
    return _token(client, email)


def _screenshot(url: str, output: Path) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(url)
            page.wait_for_selector("body[data-rendered] #case:not([hidden])", timeout=30_000)
            page.wait_for_selector("#contributions svg", timeout=30_000)
            page.screenshot(path=str(output), full_page=True)
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default="http://127.0.0.1:8000", help="the API's base URL")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()

    with httpx.Client(base_url=args.api, timeout=60) as client:
        cases = [
            _contested_case(client, salary, stress, reason)
            for salary, stress, reason in zip(
                ("5200.00", "4100.00", "6100.00"), (0.35, 0.5, 0.25), REASONS, strict=True
            )
        ]
        token = _analyst(client)
    _screenshot(f"{args.api}/workbench?case={cases[0]}#token={token}", args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
