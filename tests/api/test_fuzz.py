"""Schemathesis over every operation of the live API: no 5xx, no response off its schema.

Three callers — nobody, a customer, an analyst — each against every documented operation, with
Hypothesis generating valid and invalid parameters and bodies (a bounded number per operation,
derandomized so CI is reproducible). The API under test is the real app on real HTTP, with the
real worker behind it, so "never a 500" covers the whole request path.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance
from sqlalchemy import Engine

from api.main import create_app
from ecs.settings import Environment, Settings
from tests.api.conftest import make_analyst, register_and_login, serve_api
from tests.faults.conftest import Processes, fault_env

schema = schemathesis.openapi.from_dict(create_app(Settings(env=Environment.TEST)).openapi())
CHECKS = [not_a_server_error, response_schema_conformance]
BOUNDED = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def fuzzed_api(settings: Settings, redis_url: str) -> Iterator[str]:
    """The API (a thread) and a worker of its own (a process): the tests are synchronous, so the
    session's worker (on the test loop) would sit still while they block. Not a worker thread:
    its sandbox compiles workflow modules while Hypothesis parses source on the test's thread,
    and Python 3.11's parser is not safe for that (``SystemError: AST constructor recursion``)."""
    workers = Processes(env=fault_env(settings, redis_url))
    own = settings.model_copy(
        update={
            "temporal_task_queue": workers.env["ECS_TEMPORAL_TASK_QUEUE"],
            # Its own throttle counters: fuzzed logins would lock 127.0.0.1 out of other tests.
            "throttle_key_prefix": f"throttle-fuzz-{uuid.uuid4().hex[:8]}",
        }
    )
    workers.start("worker", "worker")
    try:
        with serve_api(own) as url:
            yield url
    finally:
        workers.stop_all()


@pytest.fixture(scope="module")
def callers(fuzzed_api: str, engine: Engine) -> dict[str, dict[str, str]]:
    return {
        "customer": register_and_login(fuzzed_api, prefix="fuzz").headers,
        "analyst": make_analyst(fuzzed_api, engine).headers,
    }


@schema.parametrize()
@BOUNDED
def test_unauthenticated(case: Any, fuzzed_api: str) -> None:
    case.call_and_validate(base_url=fuzzed_api, checks=CHECKS)


@schema.parametrize()
@BOUNDED
def test_as_a_customer(case: Any, fuzzed_api: str, callers: dict[str, dict[str, str]]) -> None:
    case.call_and_validate(base_url=fuzzed_api, headers=callers["customer"], checks=CHECKS)


@schema.parametrize()
@BOUNDED
def test_as_an_analyst(case: Any, fuzzed_api: str, callers: dict[str, dict[str, str]]) -> None:
    case.call_and_validate(base_url=fuzzed_api, headers=callers["analyst"], checks=CHECKS)
