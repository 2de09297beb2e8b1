"""The proactive-offers workflow's I/O: select eligible users, start a decision for each.

``start_decision`` is ``ecs.credit.service.request_decision`` (claim, then start under the
business-key id, no wait) with this worker's Temporal client, so a proactive decision is the
same as a requested one, and a retry with the same idempotency key returns the same decision.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import Engine
from temporalio import activity
from temporalio.client import Client

from ecs.credit.service import request_decision
from ecs.logs import log_context
from ecs.proactive.contract import Proactive, SelectInput, StartInput, StartResult
from ecs.proactive.eligibility import Rules, eligible_users
from ecs.settings import Settings


class ProactiveActivities(Proactive):
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    async def temporal(self) -> Client:
        """The ``Backends`` the credit use cases need: this activity's own client."""
        return activity.client()

    @activity.defn
    def select_eligible(self, inp: SelectInput) -> list[str]:
        among = None if inp.user_ids is None else [uuid.UUID(u) for u in inp.user_ids]
        users = eligible_users(
            self.engine,
            Rules.from_settings(self.settings),
            datetime.now(UTC),
            inp.limit or self.settings.proactive_max_per_run,
            among,
        )
        return [str(u) for u in users]

    @activity.defn
    async def start_decision(self, inp: StartInput) -> StartResult:
        with log_context(workflow_id=activity.info().workflow_id, user_id=inp.user_id):
            requested = await request_decision(
                self, uuid.UUID(inp.user_id), inp.idempotency_key, wait_seconds=0
            )
        return StartResult(decision_id=str(requested.decision.id), created=requested.created)
