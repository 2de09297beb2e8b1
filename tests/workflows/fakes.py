"""Fake activities for workflow unit tests: the workflow is ours, the database is not under test.

``FakeCredit`` implements every declaration in ``activities.interface`` (so mypy holds it to the
real signatures) and registers under the same activity names. It applies the real, pure policy
(``ecs.domain.policy.decide``) to a scripted history and records what the workflow asked for,
so a test asserts on the calls instead of on database rows. The activities' own behaviour
(idempotency, SQL) is tested in ``test_activities.py`` and the integration tests.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.interface import (
    INVALID_REVIEW,
    Decisions,
    History,
    Notifications,
    Offers,
    Status,
)
from activities.messages import (
    ApprovalResult,
    ApproveInput,
    DeployInput,
    DeployResult,
    FetchHistoryInput,
    HistorySnapshot,
    NotifyInput,
    SettleInput,
    StatusInput,
)
from ecs.contracts import OfferView
from ecs.domain.features import Features
from ecs.domain.policy import CreditType, Decision, PolicyOutcome, decide
from ecs.domain.reasons import ReasonCode
from ecs.risk.model import RiskScore
from tests.unit.applicants import make_features
from worker import SANDBOX
from workflows.registry import WORKFLOWS

HEALTHY = make_features()
NO_INCOME = make_features(inflow_30d=0.0, inflow_90d=0.0)
DISTRESSED = make_features(latest_stress=0.95, latest_intensity=0.9)
GOOD_SCORE = RiskScore(score=0.08, model_name="fake", model_version="fake-1", contributions={})


@dataclass
class FakeCredit(History, Decisions, Status, Offers, Notifications):
    """Scripted history and model; every call the workflow makes is recorded."""

    features: Features = HEALTHY
    stored_distress_ago: timedelta | None = None  # a distress reading stored before the start
    model_down: bool = False
    refused_reviewers: frozenset[str] = frozenset()  # reviewers the database would not accept
    calls: list[tuple[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, name: str, value: Any) -> None:
        with self._lock:
            self.calls.append((name, value))

    def called(self, name: str) -> list[Any]:
        with self._lock:
            return [value for called, value in self.calls if called == name]

    @property
    def notified(self) -> list[str]:
        return [n.kind for n in self.called("notify")]

    def activities(self) -> list[Callable[..., Any]]:
        return [
            self.fetch_history,
            self.score,
            self.approve,
            self.record_status,
            self.settle_offer,
            self.deploy_credit,
            self.accept_and_deploy,
            self.notify,
        ]

    @activity.defn
    def fetch_history(self, inp: FetchHistoryInput) -> HistorySnapshot:
        self._record("fetch_history", inp)
        ago = self.stored_distress_ago
        return HistorySnapshot(
            features=self.features, latest_emotion_at=None if ago is None else inp.as_of - ago
        )

    @activity.defn
    async def score(self, features: Features) -> RiskScore:
        self._record("score", features)
        if self.model_down:  # non-retryable: the test need not sit through the retry budget
            raise ApplicationError("fake model down", type="ModelUnavailable", non_retryable=True)
        return GOOD_SCORE

    @activity.defn
    def approve(self, inp: ApproveInput) -> ApprovalResult:
        self._record("approve", inp)
        if inp.review is None:
            outcome = decide(inp.features, inp.score, inp.cooling_off)
        elif inp.review.reviewer_id in self.refused_reviewers:
            raise ApplicationError("not an analyst", type=INVALID_REVIEW, non_retryable=True)
        elif inp.review.approve:
            assert inp.review.credit_limit and inp.review.interest_rate and inp.review.credit_type
            outcome = _manual(
                Decision.APPROVED,
                inp.review.credit_limit,
                inp.review.interest_rate,
                CreditType(inp.review.credit_type),
            )
        else:
            outcome = _manual(Decision.DENIED, Decimal(0), Decimal(0), None)
        offer = None
        if outcome.decision is Decision.APPROVED and outcome.credit_type is not None:
            offer = OfferView(
                offer_id=str(uuid.uuid4()),
                credit_limit=outcome.credit_limit,
                interest_rate=outcome.interest_rate,
                credit_type=outcome.credit_type.value,
                expires_at=inp.offer_expires_at,
            )
        return ApprovalResult(outcome=outcome, offer=offer)

    @activity.defn
    def record_status(self, inp: StatusInput) -> None:
        self._record("record_status", inp.status)

    @activity.defn
    def settle_offer(self, inp: SettleInput) -> None:
        self._record("settle_offer", inp)

    @activity.defn
    def deploy_credit(self, inp: DeployInput) -> DeployResult:
        self._record("deploy_credit", inp)
        return DeployResult(
            credit_limit=Decimal("1000"),
            interest_rate=Decimal("0.2"),
            credit_type="SHORT_TERM",
            activated_at=datetime.now(UTC),
            newly_deployed=True,
        )

    @activity.defn
    def accept_and_deploy(self, inp: DeployInput) -> DeployResult:
        self._record("accept_and_deploy", inp)
        if inp.notice is not None:  # the real activity writes it with the deployment
            self._record("notify", inp.notice)
        return DeployResult(
            credit_limit=Decimal("1000"),
            interest_rate=Decimal("0.2"),
            credit_type="SHORT_TERM",
            activated_at=datetime.now(UTC),
            newly_deployed=True,
        )

    @activity.defn
    def notify(self, inp: NotifyInput) -> None:
        self._record("notify", inp)


def _manual(
    decision: Decision, limit: Decimal, rate: Decimal, credit_type: CreditType | None
) -> PolicyOutcome:
    return PolicyOutcome(
        decision=decision,
        risk_band=None,
        credit_limit=limit,
        interest_rate=rate,
        credit_type=credit_type,
        reason_codes=[ReasonCode.MANUAL_REVIEW],
        policy_version="manual",
    )


@asynccontextmanager
async def fake_worker(client: Client, fakes: FakeCredit) -> AsyncIterator[str]:
    """A fresh worker on its own task queue, running the real workflow on ``fakes``."""
    queue = f"fake-{uuid.uuid4()}"
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with Worker(
            client,
            task_queue=queue,
            workflows=WORKFLOWS,
            workflow_runner=SANDBOX,
            activities=fakes.activities(),
            activity_executor=executor,
        ):
            yield queue
