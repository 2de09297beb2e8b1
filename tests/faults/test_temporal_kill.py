"""The Temporal dev server killed with SIGKILL, file-backed, and restarted on the same file.

Its own server (never the suite's), the ``make run`` kind: SQLite state with the WAL pragmas. A
customer holds an open offer when the server dies. Meanwhile the API answers 503 with
``Retry-After`` for new decisions and for the accept, never a 500; the worker and the API
reconnect by themselves once it is back, the offer is still there, and accepting deploys the
credit line once.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from ecs.db.tables import CreditAccount, Offer
from ecs.settings import Settings
from ecs.temporal.devserver import find_binary, server_args
from tests.api.conftest import Account, register_and_login, serve_api
from tests.faults.conftest import Processes, fault_env
from tests.ledger import entry, feed_sync
from tests.support import free_port, wait_for


class TemporalServer:
    def __init__(self, port: int, db: Path) -> None:
        self.port, self.db = port, db
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [
            find_binary("temporal"),
            *server_args(port=self.port, ui_port=None, db_filename=self.db),
        ]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def temporal_server(tmp_path: Path) -> Iterator[TemporalServer]:
    server = TemporalServer(free_port(), tmp_path / "temporal.db")
    server.start()
    yield server
    server.stop()


def _customer(api: str) -> Account:
    customer = register_and_login(api, prefix="temporal-fault")
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


def test_a_killed_temporal_server_loses_no_offer(
    settings: Settings,
    engine: Engine,
    redis_url: str,
    processes: Processes,
    temporal_server: TemporalServer,
) -> None:
    address = f"127.0.0.1:{temporal_server.port}"
    processes.env = fault_env(settings, redis_url, ECS_TEMPORAL_ADDRESS=address)
    own = settings.model_copy(
        update={
            "temporal_address": address,
            "temporal_task_queue": processes.env["ECS_TEMPORAL_TASK_QUEUE"],
        }
    )
    processes.start("worker", "worker")  # retries until the server answers
    with serve_api(own) as api, httpx.Client(base_url=api, timeout=40) as http:
        customer = _customer(api)

        def offered() -> str | None:
            response = http.post("/v1/credit-decisions?wait=5", headers=customer.headers)
            if response.status_code in (200, 201) and response.json()["status"] == "OFFERED":
                return str(response.json()["id"])
            return None

        decision_id = wait_for(offered, timeout=60, message="an offer (server and worker up)")

        temporal_server.kill()
        other = _customer(api)
        refused = http.post("/v1/credit-decisions?wait=1", headers=other.headers)
        assert refused.status_code in (202, 503), refused.text  # stored, or "retry": never 500
        accept = http.post(f"/v1/credit-decisions/{decision_id}/accept", headers=customer.headers)
        assert accept.status_code == 503, accept.text
        assert int(accept.headers["retry-after"]) > 0

        temporal_server.start()  # the same SQLite file: the workflow and its timer are still there

        def accepted() -> bool:
            response = http.post(
                f"/v1/credit-decisions/{decision_id}/accept", headers=customer.headers
            )
            assert response.status_code in (202, 503), response.text
            return response.status_code == 202

        wait_for(accepted, timeout=60, message="accept to go through after the restart")

        def active() -> bool:
            view = http.get(f"/v1/credit-decisions/{decision_id}", headers=customer.headers)
            return view.status_code == 200 and view.json()["status"] == "ACTIVE"

        wait_for(active, timeout=60, message="the credit line to be deployed")

    with Session(engine) as session:
        account = session.get(CreditAccount, customer.id)
        offer = session.exec(select(Offer).where(Offer.user_id == customer.id)).one()
        assert account is not None and account.credit_limit == offer.credit_limit
