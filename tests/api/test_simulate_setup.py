"""``ecs simulate`` sets customers up the way production does, and fails politely.

History comes from the ledger feed (never from the customer); a short run against the real API
and worker produces decisions and answers offers; with no API listening the command prints one
line naming the address, and no traceback.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ecs.demo.population import feed_ledger, register
from ecs.demo.profiles import LEDGER_MIN_DAYS, profile_for
from ecs.demo.progress import Counters
from ecs.settings import Settings
from ecs.simulate import _refused, add_arguments, run_simulation
from tests.support import free_port


async def test_simulated_customers_get_their_history_from_the_ledger(
    api_url: str, settings: Settings
) -> None:
    ledger_headers = {"X-Ledger-Key": settings.ledger_key.get_secret_value()}
    counters = Counters()
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        run_id = uuid.uuid4().hex[:8]
        user = await register(http, run_id, 0, random.Random(7))
        assert user.profile == profile_for(0)
        await feed_ledger(http, ledger_headers, user, 30, f"sim-{run_id}-0", counters)
        history = await http.get("/v1/transactions", params={"limit": 200}, headers=user.headers)
        assert history.status_code == 200, history.text
        items = history.json()["items"]
        assert counters.transactions >= len(items) > 0
        assert {t["currency"] for t in items} == {"BRL"}
        assert {"salary", "rent", "card purchase"} <= {t["description"] for t in items}
        oldest = min(datetime.fromisoformat(t["occurred_at"]) for t in items)
        assert oldest < datetime.now(UTC) - timedelta(days=LEDGER_MIN_DAYS - 1)


def _args(api_url: str, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(["--api-url", api_url, *argv])


@pytest.mark.usefixtures("worker")
async def test_a_short_run_makes_decisions_and_answers_offers(
    api_url: str, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _args(api_url, "--users", "3", "--duration", "3", "--rate", "6", "--settle", "20",
                 "--seed", "3")  # fmt: skip
    assert await run_simulation(settings, args) == 0
    out = capsys.readouterr().out
    assert "simulation summary" in out
    decisions = next(line for line in out.splitlines() if "credit decisions" in line)
    # profiles 0-2 are bands A, B and C: all approved, so each ends offered, accepted or declined
    assert any(status in decisions for status in ("OFFERED", "ACTIVE", "DECLINED")), decisions
    assert "PENDING" not in decisions, decisions


def test_without_a_running_stack_it_says_so_in_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = subprocess.run(
        [sys.executable, "-m", "ecs", "simulate", "--api-url", url, "--users", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert f"no ECS API at {url}" in result.stderr and "Traceback" not in result.stderr


def test_a_refused_request_is_one_line_with_the_problem_detail() -> None:
    request = httpx.Request("POST", "http://127.0.0.1:8000/v1/auth/register")
    response = httpx.Response(
        429, json={"detail": "Too many attempts; retry in 600 s."}, request=request
    )
    line = _refused(httpx.HTTPStatusError("429", request=request, response=response))
    assert "\n" not in line
    assert "POST /v1/auth/register answered 429: Too many attempts" in line
    assert "ECS_REGISTRATIONS_PER_ADDRESS" in line
