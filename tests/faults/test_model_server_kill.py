"""The remote risk model killed with SIGKILL: decisions are referred, never denied, never a 500.

A real ``ecs model-server`` behind the worker's circuit breaker. With it up a good customer gets an
offer; once it is killed the next customer's decision retries for the workflow's budget and is
REFERRED to an analyst (``MODEL_UNAVAILABLE``), and the API answers 201/202 meanwhile; once it is
back the breaker's half-open probe lets the next decision be scored again.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx

from ecs.settings import Settings
from tests.api.conftest import Account, register_and_login, serve_api
from tests.faults.conftest import Processes, fault_env
from tests.ledger import entry, feed_sync
from tests.support import free_port, wait_for


def _customer(api: str) -> Account:
    customer = register_and_login(api, prefix="model-fault")
    now = datetime.now(UTC)
    feed_sync(
        api,
        [
            entry(customer.id, amount, direction, now - timedelta(days=30 * month + 2))
            for month in range(4)
            for amount, direction in (("6000.00", "in"), ("2500.00", "out"))
        ],
    )
    return customer


def _decide(http: httpx.Client, customer: Account) -> str:
    response = http.post("/v1/credit-decisions?wait=20", headers=customer.headers)
    assert response.status_code in (201, 202), response.text  # never a 500
    decision_id = str(response.json()["id"])

    def settled() -> str | None:
        view = http.get(f"/v1/credit-decisions/{decision_id}", headers=customer.headers)
        assert view.status_code == 200, view.text
        status = str(view.json()["status"])
        return status if status != "PENDING" else None

    return wait_for(settled, timeout=40, message="the decision to leave PENDING")


def test_a_killed_model_refers_and_a_restarted_one_scores(
    settings: Settings, redis_url: str, processes: Processes
) -> None:
    port = free_port()
    processes.env = fault_env(settings, redis_url, ECS_MODEL_URL=f"http://127.0.0.1:{port}")
    own = settings.model_copy(
        update={"temporal_task_queue": processes.env["ECS_TEMPORAL_TASK_QUEUE"]}
    )

    def model_up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).is_success
        except httpx.HTTPError:
            return False

    processes.start("model", "model-server", "--port", str(port))
    wait_for(model_up, timeout=30, message="the model server")
    processes.start("worker", "worker")
    with serve_api(own) as api, httpx.Client(base_url=api, timeout=40) as http:
        assert _decide(http, _customer(api)) == "OFFERED"

        processes.kill("model")
        started = time.monotonic()
        assert _decide(http, _customer(api)) == "REFERRED"  # a human decides, never a silent no
        referred_after = time.monotonic() - started

        processes.start("model", "model-server", "--port", str(port))
        wait_for(model_up, timeout=30, message="the model server to come back")
        assert _decide(http, _customer(api)) == "OFFERED"
    print(f"referred after {referred_after:.1f} s of retries; scored again once the model was back")
