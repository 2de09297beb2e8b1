"""Record the replay histories committed under ``tests/workflows/histories``.

    python -m tests.workflows.record_histories                      # every history
    python -m tests.workflows.record_histories continued_as_new     # only the named ones

Run this only when a workflow change is *meant* to alter histories (with a patch/version gate
for running workflows); the replay test then guards the new histories. Uses the same embedded
services as the test suite and the fixed test payload key, so the files stay decodable.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.registry import build_activities
from ecs.contracts import (
    UPDATE_CONTEST,
    AcceptRequest,
    ConfirmRequest,
    ContestRequest,
    DeclineRequest,
    EmotionSignal,
    ReviewRequest,
)
from ecs.credit_lines import store
from ecs.credit_lines.contract import AcceptIncrease, ChangeKind, review_workflow_id
from ecs.db.engine import make_engine
from ecs.db.migrate import upgrade
from ecs.domain.review import ReviewRules
from ecs.domain.status import DecisionStatus, Role
from ecs.proactive.contract import ProactiveInput, ProactiveSummary
from ecs.risk.model import ModelUnavailable, RiskScore
from ecs.settings import Settings
from ecs.temporal.client import data_converter
from ecs.temporal.devserver import dynamic_config_args, find_binary
from ecs.temporal.search import ALL as SEARCH_ATTRIBUTES
from ecs.temporal.search import register
from tests.conftest import TEST_PAYLOAD_KEY
from tests.factories import make_credit_line, make_user
from tests.workflows.conftest import (
    DecisionHandle,
    lowered_history_limit_args,
    start_decision,
    status_of,
)
from workflows.credit_decision import CreditDecisionWorkflow
from workflows.credit_line import CreditLineReviewWorkflow
from workflows.proactive import ProactiveOffersWorkflow
from workflows.registry import WORKFLOWS

HERE = Path(__file__).parent / "histories"
PATHS = ("approved_accepted", "denied", "expired", "referred_reviewed_declined")
REVIEWS = ("contested_four_eyes_accepted", "contested_offer_upheld_declined")
RULES = ReviewRules(contest_window_seconds=3600, deadline_seconds=1)  # escalates at once
CONTINUED = ("continued_as_new", "continued_run")
LINES = ("proactive_reviews_started", "line_increase_accepted", "line_decrease_applied")


class _DownModel:
    name = "down"

    async def predict(self, features: object) -> RiskScore:
        raise ModelUnavailable("recorded outage")


async def _until(handle: DecisionHandle, status: DecisionStatus) -> None:
    for _ in range(400):
        if (await status_of(handle)).status is status:
            return
        await asyncio.sleep(0.05)  # poll (bounded by the loop's 400 tries)
    raise TimeoutError(f"{handle.id} never reached {status}")


async def _save(client: Client, name: str, handle: DecisionHandle) -> None:
    await handle.result()
    _write(name, await client.get_workflow_handle(handle.id).fetch_history())


def _write(name: str, history: WorkflowHistory) -> None:
    (HERE / f"{name}.json").write_text(json.dumps(json.loads(history.to_json()), indent=1))
    print(f"recorded {name}: {len(history.events)} events")


@asynccontextmanager
async def _dev_server(
    settings: Settings, *, activities_from: Settings | None = None, extra_args: Sequence[str] = ()
) -> AsyncIterator[Client]:
    """A fresh dev server and one real worker on the settings' task queue (its activities
    built from ``activities_from``, the same settings unless told); yields the client."""
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_binary("temporal"),
        data_converter=data_converter(settings),
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_extra_args=[*dynamic_config_args(), *extra_args],
    ) as env:
        with ThreadPoolExecutor(8) as pool:
            async with Worker(
                env.client,
                task_queue=settings.temporal_task_queue,
                workflows=WORKFLOWS,
                activities=build_activities(activities_from or settings),
                activity_executor=pool,
            ):
                yield env.client


async def record_continued(engine: Engine, settings: Settings) -> None:
    """An open offer kept through continue-as-new (history limits lowered): the first run,
    which ends by continuing, and the carried run, which accepts and deploys."""
    async with _dev_server(settings, extra_args=lowered_history_limit_args()) as client:
        user = make_user(engine)
        h = await start_decision(client, engine, settings, user)
        first_run = h.result_run_id
        await _until(h, DecisionStatus.OFFERED)
        latest: DecisionHandle = client.get_workflow_handle_for(CreditDecisionWorkflow.run, h.id)
        for n in range(200):
            if (await latest.describe()).run_id != first_run:
                break
            calm = EmotionSignal(event_id=f"rec-{n}", stress=0.2)
            await latest.signal(CreditDecisionWorkflow.emotion, calm)
        else:
            raise AssertionError("the decision never continued as new")
        second_run = (await latest.describe()).run_id
        await latest.execute_update(CreditDecisionWorkflow.accept, AcceptRequest(user_id=str(user)))
        await latest.result()
        for name, run_id in (
            ("continued_as_new", first_run),
            ("continued_run", second_run),
        ):
            _write(name, await client.get_workflow_handle(h.id, run_id=run_id).fetch_history())


async def record(engine: Engine, settings: Settings) -> None:
    converter = data_converter(settings)
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_binary("temporal"),
        data_converter=converter,
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_extra_args=dynamic_config_args(),
    ) as env:
        await register(env.client, "default")
        client = env.client
        q, q_down = settings.temporal_task_queue, "recorder-down"
        with ThreadPoolExecutor(8) as pool:
            async with (
                Worker(
                    client,
                    task_queue=q,
                    workflows=WORKFLOWS,
                    activities=build_activities(settings),
                    activity_executor=pool,
                ),
                Worker(
                    client,
                    task_queue=q_down,
                    workflows=WORKFLOWS,
                    activities=build_activities(settings, model=_DownModel()),
                    activity_executor=pool,
                ),
            ):
                user = make_user(engine)
                h = await start_decision(client, engine, settings, user)
                await _until(h, DecisionStatus.OFFERED)
                await h.execute_update(
                    CreditDecisionWorkflow.accept, AcceptRequest(user_id=str(user))
                )
                await _save(client, "approved_accepted", h)

                user = make_user(engine, monthly_inflow=Decimal("0"))
                h = await start_decision(client, engine, settings, user)
                await _save(client, "denied", h)

                user = make_user(engine)
                h = await start_decision(client, engine, settings, user, offer_ttl_seconds=2)
                await _save(client, "expired", h)

                user = make_user(engine)
                analyst = make_user(engine, role=Role.ANALYST, months=0)
                h = await start_decision(client, engine, settings, user, task_queue=q_down)
                await _until(h, DecisionStatus.REFERRED)
                await h.execute_update(
                    CreditDecisionWorkflow.review,
                    ReviewRequest(
                        reviewer_id=str(analyst),
                        approve=True,
                        comment="checked by hand",
                        credit_limit=Decimal("1000.00"),
                        interest_rate=Decimal("0.2200"),
                        credit_type="SHORT_TERM",
                    ),
                )
                await _until(h, DecisionStatus.OFFERED)
                await h.execute_update(
                    CreditDecisionWorkflow.decline, DeclineRequest(user_id=str(user))
                )
                await _save(client, "referred_reviewed_declined", h)


async def record_reviews(engine: Engine, settings: Settings) -> None:
    """Human review with review rules: a contested denial escalated past its deadline, a
    four-eyes proposal rejected, proposed again, confirmed, accepted and deployed; and a
    contested offer upheld by an analyst, then declined."""
    async with _dev_server(settings) as client:
        first = make_user(engine, role=Role.ANALYST, months=0)
        second = make_user(engine, role=Role.ANALYST, months=0)
        user = make_user(engine, monthly_inflow=Decimal("0"))
        h = await start_decision(client, engine, settings, user, review_rules=RULES)
        await _until(h, DecisionStatus.DENIED)
        await h.execute_update(  # by name: mypy picks the wrong overload for async
            UPDATE_CONTEST,
            ContestRequest(user_id=str(user), reason="paid in cash"),
        )
        for _ in range(400):  # the one-second deadline passes
            if (await status_of(h)).escalated:
                break
            await asyncio.sleep(0.05)  # poll (bounded by the loop's 400 tries)
        large = ReviewRequest(
            reviewer_id=str(first),
            approve=True,
            comment="documented",
            credit_limit=Decimal("30000.00"),
            interest_rate=Decimal("0.1800"),
            credit_type="LONG_TERM",
        )
        for confirm in (False, True):
            await h.execute_update(CreditDecisionWorkflow.review, large)
            await _until(h, DecisionStatus.CONFIRMING)
            await h.execute_update(
                CreditDecisionWorkflow.confirm,
                ConfirmRequest(reviewer_id=str(second), confirm=confirm, comment="seen"),
            )
            await _until(h, DecisionStatus.OFFERED if confirm else DecisionStatus.CONTESTED)
        await h.execute_update(CreditDecisionWorkflow.accept, AcceptRequest(user_id=str(user)))
        await _save(client, "contested_four_eyes_accepted", h)

        user = make_user(engine)
        h = await start_decision(client, engine, settings, user, review_rules=RULES)
        await _until(h, DecisionStatus.OFFERED)
        offer = (await status_of(h)).offer
        assert offer is not None
        await h.execute_update(  # by name: mypy picks the wrong overload for async
            UPDATE_CONTEST,
            ContestRequest(user_id=str(user), reason="the rate is too high"),
        )
        await h.execute_update(
            CreditDecisionWorkflow.review,
            ReviewRequest(
                reviewer_id=str(first),
                approve=True,
                comment="the rate follows the band",
                credit_limit=offer.credit_limit,
                interest_rate=offer.interest_rate,
                credit_type=offer.credit_type,
            ),
        )
        await _until(h, DecisionStatus.OFFERED)
        await h.execute_update(CreditDecisionWorkflow.decline, DeclineRequest(user_id=str(user)))
        await _save(client, "contested_offer_upheld_declined", h)


async def record_lines(engine: Engine, settings: Settings) -> None:
    """Credit-line re-evaluation as the schedule runs it: a proactive-offers run (from the
    reevaluation patch on) starts a review for each of two due lines; one line is below what
    the policy now gives (an increase, offered and accepted), the other above it (a decrease,
    noticed, applied once its one-second notice has passed)."""
    due_now = settings.model_copy(
        update={
            "reevaluation_interval_days": 1e-9,
            "limit_decrease_notice_days": 1 / 86400,
            "limit_increase_offer_days": 1.0,
        }
    )
    async with _dev_server(settings, activities_from=due_now) as client:
        low, high = make_user(engine), make_user(engine)
        make_credit_line(engine, low, credit_limit=Decimal("1000.00"))
        make_credit_line(engine, high, credit_limit=Decimal("20000.00"))
        # Replay runs a history under its file's name as workflow id, and the run derives
        # its reviews' ids from its own: so the run's id is the file's name.
        run_id = "proactive_reviews_started"
        summary = await client.execute_workflow(
            ProactiveOffersWorkflow.run,
            ProactiveInput(user_ids=[str(low), str(high)]),
            id=run_id,
            task_queue=settings.temporal_task_queue,
        )
        assert summary == ProactiveSummary(selected=0, started=0, reviews=2), summary
        increase: WorkflowHandle[CreditLineReviewWorkflow, ChangeKind] = (
            client.get_workflow_handle_for(
                CreditLineReviewWorkflow.run, review_workflow_id(str(low), run_id)
            )
        )
        decrease: WorkflowHandle[CreditLineReviewWorkflow, ChangeKind] = (
            client.get_workflow_handle_for(
                CreditLineReviewWorkflow.run, review_workflow_id(str(high), run_id)
            )
        )
        for _ in range(400):
            if store.pending_offer_workflow(engine, low) == increase.id:
                break
            await asyncio.sleep(0.05)  # poll (bounded by the loop's 400 tries)
        else:
            raise AssertionError("the increase was never offered")
        await increase.execute_update(CreditLineReviewWorkflow.accept_increase, AcceptIncrease())
        for name, handle in (
            ("line_increase_accepted", increase),
            ("line_decrease_applied", decrease),
        ):
            print(f"{name}: {(await handle.result()).value}")
            _write(name, await handle.fetch_history())
        _write(run_id, await client.get_workflow_handle(run_id).fetch_history())


def main() -> None:
    HERE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/record.db"
        upgrade(url)
        settings = Settings(
            _env_file=None,
            database_url=url,
            payload_key=TEST_PAYLOAD_KEY,
            temporal_task_queue=f"recorder-{uuid.uuid4().hex[:6]}",
        )
        engine = make_engine(url)
        wanted = set(sys.argv[1:])
        if not wanted or wanted & set(PATHS):
            asyncio.run(record(engine, settings))  # the four main paths, recorded together
        if not wanted or wanted & set(CONTINUED):
            asyncio.run(record_continued(engine, settings))
        if not wanted or wanted & set(REVIEWS):
            asyncio.run(record_reviews(engine, settings))
        if not wanted or wanted & set(LINES):
            asyncio.run(record_lines(engine, settings))
        engine.dispose()


if __name__ == "__main__":
    main()
