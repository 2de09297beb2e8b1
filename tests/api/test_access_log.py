"""The API's access line for a request about a decision carries its decision and workflow ids."""

from __future__ import annotations

import logging
import uuid

import httpx
import pytest

from ecs.contracts import workflow_id_for
from tests.api.conftest import Account
from tests.support import wait_for


def test_a_decision_request_logs_its_decision_and_workflow_id(
    api_url: str, customer: Account, caplog: pytest.LogCaptureFixture
) -> None:
    decision_id = str(uuid.uuid4())
    caplog.set_level(logging.INFO, logger="ecs.api.access")
    response = httpx.get(f"{api_url}/v1/credit-decisions/{decision_id}", headers=customer.headers)
    assert response.status_code == 404

    def line() -> logging.LogRecord | None:
        return next((r for r in caplog.records if decision_id in str(getattr(r, "path", ""))), None)

    record = wait_for(line, timeout=5, message="the access line")
    assert getattr(record, "decision_id", None) == decision_id
    assert getattr(record, "workflow_id", None) == workflow_id_for(decision_id)
    assert getattr(record, "status", None) == 404
