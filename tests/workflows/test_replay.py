"""Replay committed histories: a workflow change that would break running workflows fails here.

Histories were recorded by ``python -m tests.workflows.record_histories`` with the fixed test
payload key; replay runs the current workflow code against each recorded event sequence.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from ecs.contracts import DecisionInput, DecisionView
from ecs.credit_lines.contract import ChangeKind, ReviewInput
from ecs.proactive.contract import ProactiveInput, ProactiveSummary
from ecs.settings import Settings
from ecs.temporal.client import data_converter
from tests.conftest import TEST_PAYLOAD_KEY
from workflows import summary
from workflows.credit_decision import CreditDecisionWorkflow
from workflows.credit_line import CreditLineReviewWorkflow
from workflows.proactive import ProactiveOffersWorkflow
from workflows.registry import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
EXPECTED = {
    # accept_and_deploy: settle, deploy and record the "credit active" notice in one activity
    "approved_accepted",
    # Recorded before NOTICE_WITH_DEPLOYMENT_PATCH (accept_and_deploy, then notify) and kept by
    # hand under this name: decisions accepted back then must replay their separate notify.
    "approved_accepted_separate_notify",
    # Recorded before ACCEPT_IN_ONE_STEP_PATCH (settle_offer, then deploy_credit) and kept by
    # hand: the recorder no longer produces it, and decisions accepted back then must replay.
    "approved_accepted_two_steps",
    "denied",
    "expired",
    "referred_reviewed_declined",
    "continued_as_new",  # the first run of an offer kept through continue-as-new
    "continued_run",  # the carried run: resumes the wait, accepts, deploys
    # With review rules: a contested denial, escalated, four-eyes rejected then confirmed,
    # accepted; and a contested offer upheld, then declined.
    "contested_four_eyes_accepted",
    "contested_offer_upheld_declined",
    # Credit-line re-evaluation: a proactive-offers run from REEVALUATION_PATCH on, which starts
    # one review per due line, and those two reviews (an increase offered and accepted; a
    # decrease noticed, then applied after its notice).
    "proactive_reviews_started",
    "line_increase_accepted",
    "line_decrease_applied",
}


def test_histories_cover_the_main_paths() -> None:
    assert {p.stem for p in HISTORIES} == EXPECTED


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_replay_is_deterministic(path: Path) -> None:
    settings = Settings(_env_file=None, payload_key=TEST_PAYLOAD_KEY)
    replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter(settings))
    history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


@workflow.defn(name="CreditDecisionWorkflow", sandboxed=False)
class _WorkflowWithoutOfferNotification(CreditDecisionWorkflow):
    """The kind of innocent-looking edit that breaks running workflows."""

    @workflow.run
    async def run(self, inp: DecisionInput) -> DecisionView:
        return await super().run(inp)

    async def _notify(self, message: summary.Message, data: dict[str, str] | None = None) -> None:
        if message.kind != "offer_ready":
            await super()._notify(message, data)


async def _replay_fails(workflow_type: type, stem: str) -> bool:
    settings = Settings(_env_file=None, payload_key=TEST_PAYLOAD_KEY)
    replayer = Replayer(workflows=[workflow_type], data_converter=data_converter(settings))
    path = next(p for p in HISTORIES if p.stem == stem)
    history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    return result.replay_failure is not None


async def test_replay_detects_a_breaking_change() -> None:
    """Proof that the guard can fail: without the offer notification, replay must break."""
    assert await _replay_fails(_WorkflowWithoutOfferNotification, "approved_accepted")


@workflow.defn(name="CreditDecisionWorkflow", sandboxed=False)
class _WorkflowThatNeverContinues(CreditDecisionWorkflow):
    @workflow.run
    async def run(self, inp: DecisionInput) -> DecisionView:
        return await super().run(inp)

    def _history_full(self) -> bool:
        return False


async def test_replay_guards_continue_as_new() -> None:
    """Dropping continue-as-new would break decisions that already continued: replay fails."""
    assert await _replay_fails(_WorkflowThatNeverContinues, "continued_as_new")


@workflow.defn(name="ProactiveOffersWorkflow", sandboxed=False)
class _RunWithoutReviews(ProactiveOffersWorkflow):
    """The re-evaluation removed (or its patch dropped) while runs that started reviews exist."""

    @workflow.run
    async def run(self, inp: ProactiveInput) -> ProactiveSummary:
        return await super().run(inp)

    async def _start_reviews(self, run_id: str, among: list[str] | None) -> int:
        return 0


@workflow.defn(name="CreditLineReviewWorkflow", sandboxed=False)
class _ReviewWithoutNotices(CreditLineReviewWorkflow):
    """A review that stops telling the customer (the notice is what gives them time to act)."""

    @workflow.run
    async def run(self, inp: ReviewInput) -> ChangeKind:
        return await super().run(inp)

    async def _notify(
        self, inp: ReviewInput, kind: ChangeKind, title: str, body: str, **data: str
    ) -> None:
        return None


async def test_replay_guards_the_credit_line_review() -> None:
    """The re-evaluation's histories guard it: a run that no longer starts reviews, or a review
    that no longer notifies, fails to replay them."""
    assert await _replay_fails(_RunWithoutReviews, "proactive_reviews_started")
    for stem in ("line_increase_accepted", "line_decrease_applied"):
        assert await _replay_fails(_ReviewWithoutNotices, stem), stem
