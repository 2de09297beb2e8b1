"""``CreditLineReviewWorkflow`` on fakes and the time-skipping server: each branch of a review.

The line's terms and the customer's history are scripted (``FakeLines``); the policy is the real
one, applied by the fake exactly as ``activities.credit_lines.propose_terms`` applies it. The
notice and the offer's validity are real durable timers that the test server skips through.
The SQL (due lines, idempotent rows, applying a change) is tested in
``tests/integration/test_credit_line_store.py``, the whole flow through the API in
``tests/api/test_credit_line_reevaluation.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ecs.credit_lines.contract import (
    AcceptIncrease,
    ApplyResult,
    ChangeKind,
    CreditLines,
    DueInput,
    LineNotice,
    Proposal,
    ProposeInput,
    RecordInput,
    ReviewInput,
)
from ecs.credit_lines.terms import compare
from ecs.domain.emotions import CoolingOff
from ecs.domain.policy import decide
from ecs.settings import Settings
from ecs.temporal.client import data_converter
from ecs.temporal.devserver import find_binary
from tests.workflows.fakes import HEALTHY, NO_INCOME, FakeCredit
from worker import SANDBOX
from workflows.credit_line import CreditLineReviewWorkflow
from workflows.registry import WORKFLOWS

DAY = 86400.0
POLICY_LIMIT = Decimal("3600")  # what the policy gives HEALTHY with the fake model's score
POLICY_RATE = Decimal("0.1890")


@dataclass
class FakeLines(FakeCredit, CreditLines):
    limit: Decimal = POLICY_LIMIT
    rate: Decimal = POLICY_RATE
    changes: list[RecordInput] = field(default_factory=list)
    notices: list[LineNotice] = field(default_factory=list)

    def activities(self) -> list[Callable[..., Any]]:
        return [
            self.fetch_history,
            self.score,
            self.select_due_lines,
            self.propose_terms,
            self.record_change,
            self.apply_change,
            self.notify_line,
        ]

    @activity.defn
    def select_due_lines(self, inp: DueInput) -> list[str]:
        return []

    @activity.defn
    def propose_terms(self, inp: ProposeInput) -> Proposal | None:
        assert inp.features.credit_exposure == 0.0, "the line's own limit is not exposure"
        outcome = decide(inp.features, inp.score, CoolingOff.from_settings(Settings()))
        return Proposal(
            kind=compare(outcome, self.limit, self.rate),
            old_limit=self.limit,
            new_limit=outcome.credit_limit,
            old_rate=self.rate,
            new_rate=outcome.interest_rate,
            offer_id=str(uuid.uuid4()),
            policy_version=outcome.policy_version,
            model_version="fake-1",
            notice_seconds=30 * DAY,
            offer_seconds=14 * DAY,
        )

    @activity.defn
    def record_change(self, inp: RecordInput) -> None:
        self.changes.append(inp)

    @activity.defn
    def apply_change(self, inp: RecordInput) -> ApplyResult:
        self.changes.append(inp)
        self.limit, self.rate = inp.proposal.new_limit, inp.proposal.new_rate
        return ApplyResult(applied=True, credit_limit=self.limit, interest_rate=self.rate)

    @activity.defn
    def notify_line(self, inp: LineNotice) -> None:
        self.notices.append(inp)

    @property
    def kinds(self) -> list[ChangeKind]:
        return [c.kind for c in self.changes]


@pytest.fixture
async def env(base_settings: Settings) -> AsyncIterator[WorkflowEnvironment]:
    try:
        binary = find_binary("temporal-test-server")
    except RuntimeError as exc:
        pytest.fail(str(exc))
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary, data_converter=data_converter(base_settings)
    )
    yield environment
    await environment.shutdown()


async def _review(env: WorkflowEnvironment, fakes: FakeLines) -> ChangeKind:
    queue = f"lines-{uuid.uuid4()}"
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with Worker(
            env.client,
            task_queue=queue,
            workflows=WORKFLOWS,
            workflow_runner=SANDBOX,
            activities=fakes.activities(),
            activity_executor=executor,
        ):
            return await env.client.execute_workflow(
                CreditLineReviewWorkflow.run,
                ReviewInput(account_id=str(uuid.uuid4())),
                id=f"review-{uuid.uuid4()}",
                task_queue=queue,
            )


async def test_a_worse_score_decreases_the_limit_after_the_notice(
    env: WorkflowEnvironment,
) -> None:
    fakes = FakeLines(limit=Decimal("5000"))
    before = await env.get_current_time()
    assert await _review(env, fakes) is ChangeKind.DECREASE_APPLIED
    assert fakes.kinds == [ChangeKind.DECREASE_NOTICED, ChangeKind.DECREASE_APPLIED]
    noticed, applied = fakes.changes
    assert noticed.effective_at is not None and applied.effective_at is not None
    assert (noticed.effective_at - before).total_seconds() >= 30 * DAY
    assert applied.effective_at >= noticed.effective_at  # applied only once the notice ran out
    assert fakes.limit == POLICY_LIMIT
    assert [n.kind for n in fakes.notices] == ["line_decrease_notice", "line_decreased"]
    assert fakes.notices[0].data["credit_limit"] == "3600"
    assert "effective_at" in fakes.notices[0].data


async def test_an_unanswered_increase_offer_expires_and_changes_nothing(
    env: WorkflowEnvironment,
) -> None:
    fakes = FakeLines(limit=Decimal("2000"))
    assert await _review(env, fakes) is ChangeKind.INCREASE_EXPIRED
    assert fakes.kinds == [ChangeKind.INCREASE_OFFERED, ChangeKind.INCREASE_EXPIRED]
    assert fakes.limit == Decimal("2000")
    assert [n.kind for n in fakes.notices] == ["line_increase_offer"]


async def test_an_accepted_increase_is_applied_once(env: WorkflowEnvironment) -> None:
    fakes = FakeLines(limit=Decimal("2000"))
    queue = f"lines-{uuid.uuid4()}"
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with Worker(
            env.client,
            task_queue=queue,
            workflows=WORKFLOWS,
            workflow_runner=SANDBOX,
            activities=fakes.activities(),
            activity_executor=executor,
        ):
            with env.auto_time_skipping_disabled():
                handle = await env.client.start_workflow(
                    CreditLineReviewWorkflow.run,
                    ReviewInput(account_id=str(uuid.uuid4())),
                    id=f"review-{uuid.uuid4()}",
                    task_queue=queue,
                )
                applied = None
                for _ in range(200):  # the update is refused until the offer is open
                    try:
                        applied = await handle.execute_update(
                            CreditLineReviewWorkflow.accept_increase, AcceptIncrease()
                        )
                        break
                    except WorkflowUpdateFailedError:
                        await env.sleep(0.05)
                assert applied == ApplyResult(
                    applied=True, credit_limit=POLICY_LIMIT, interest_rate=POLICY_RATE
                )
                with pytest.raises(WorkflowUpdateFailedError):
                    await handle.execute_update(
                        CreditLineReviewWorkflow.accept_increase, AcceptIncrease()
                    )
                assert await handle.result() is ChangeKind.INCREASE_APPLIED
    assert fakes.kinds == [ChangeKind.INCREASE_OFFERED, ChangeKind.INCREASE_APPLIED]
    assert [n.kind for n in fakes.notices] == ["line_increase_offer", "line_increased"]


@pytest.mark.parametrize(
    ("fakes", "kind"),
    [
        (FakeLines(), ChangeKind.NO_CHANGE),
        (FakeLines(features=NO_INCOME), ChangeKind.FLAGGED),
        (FakeLines(model_down=True), ChangeKind.FLAGGED),
    ],
    ids=["same-terms", "denied-by-policy", "model-down"],
)
async def test_no_change_and_a_denial_are_recorded_without_touching_the_line(
    env: WorkflowEnvironment, fakes: FakeLines, kind: ChangeKind
) -> None:
    assert await _review(env, fakes) is kind
    assert fakes.kinds == [kind]
    assert fakes.limit == POLICY_LIMIT and not fakes.notices
    assert HEALTHY.credit_exposure == fakes.features.credit_exposure or kind is ChangeKind.FLAGGED
