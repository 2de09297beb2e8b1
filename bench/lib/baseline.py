"""The synchronous, non-durable baseline ``bench.decisions`` puts beside ECS.

What a plain design would do with the same case, on the same database, in one process: the
HTTP request authenticates the JWT, claims the decision row, reads the history, scores it and
writes the record, offer and status, all before answering; accepting answers 202 at once and a
background task (an in-process "queue worker") settles the offer, deploys the line and notifies.
Nothing survives a crash between those steps: that is the durability ECS pays for.

The reads, scoring and writes are ECS's own: the activity implementations run here under
``temporalio.testing.ActivityEnvironment`` (a context for ``activity.info()``, no server), so the
comparison isolates what Temporal and the workflow add, not differences in SQL.

    python -c "from bench.lib.baseline import serve; serve(PORT)"   # settings from ECS_* env
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import BackgroundTasks, FastAPI, Header, HTTPException
from temporalio.testing import ActivityEnvironment

from activities.decision import DecisionActivities
from activities.history import HistoryActivities
from activities.messages import (
    ApproveInput,
    DeployInput,
    FetchHistoryInput,
    NotifyInput,
    SettleInput,
)
from activities.notifications import LoggingPushProvider
from activities.notify import NotifyActivities
from activities.offer import OfferActivities
from ecs.accounts.tokens import decode_token
from ecs.credit.claims import claim_decision
from ecs.credit.queries import offer_of
from ecs.db.engine import get_engine
from ecs.domain.emotions import CoolingOff
from ecs.domain.policy import Decision
from ecs.risk.scorecard import ScorecardModel
from ecs.settings import Settings

SERVE_COMMAND = "import sys; from bench.lib.baseline import serve; serve(int(sys.argv[1]))"


def create_app(settings: Settings) -> FastAPI:
    engine = get_engine(settings)
    history = HistoryActivities(engine)
    decisions = DecisionActivities(engine, ScorecardModel())
    offers = OfferActivities(engine)
    notify = NotifyActivities(engine, LoggingPushProvider())
    env = ActivityEnvironment()
    app = FastAPI()

    def user_of(authorization: str | None) -> uuid.UUID:
        if not authorization or not authorization.startswith("Bearer "):
            raise HTTPException(401)
        return decode_token(authorization.removeprefix("Bearer "), settings).id

    def decide(user_id: uuid.UUID) -> dict[str, Any]:
        decision = claim_decision(engine, user_id, None).decision
        now = datetime.now(UTC)
        snapshot = env.run(
            history.fetch_history, FetchHistoryInput(user_id=str(user_id), as_of=now)
        )
        score = asyncio.run(env.run(decisions.score, snapshot.features))
        result = env.run(
            decisions.approve,
            ApproveInput(
                decision_id=str(decision.id),
                user_id=str(user_id),
                features=snapshot.features,
                score=score,
                offer_expires_at=now + timedelta(seconds=settings.offer_ttl_seconds),
                cooling_off=CoolingOff.from_settings(settings),
            ),
        )
        if result.outcome.decision is not Decision.APPROVED or result.offer is None:
            raise HTTPException(409, f"not approved: {result.outcome.decision}")
        return {"id": str(decision.id), "offer": result.offer.model_dump(mode="json")}

    def activate(decision_id: str, offer_id: str, user_id: str) -> None:
        settle = SettleInput(decision_id=decision_id, offer_id=offer_id, outcome="ACCEPTED")
        env.run(offers.settle_offer, settle)
        env.run(
            offers.deploy_credit,
            DeployInput(decision_id=decision_id, offer_id=offer_id, user_id=user_id),
        )
        env.run(
            notify.notify,
            NotifyInput(
                user_id=user_id,
                decision_id=decision_id,
                kind="credit_active",
                title="Credit active",
                body="Your credit line is active.",
            ),
        )

    @app.get("/readyz")
    def readyz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/decide", status_code=201)
    async def post_decide(authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        return await asyncio.to_thread(decide, user_of(authorization))

    @app.post("/decide/{decision_id}/accept", status_code=202)
    async def post_accept(
        decision_id: uuid.UUID,
        tasks: BackgroundTasks,
        authorization: Annotated[str | None, Header()] = None,
    ) -> dict[str, str]:
        user_id = user_of(authorization)
        offer = await asyncio.to_thread(offer_of, engine, decision_id)
        if offer is None or offer.user_id != user_id:
            raise HTTPException(404)
        tasks.add_task(asyncio.to_thread, activate, str(decision_id), str(offer.id), str(user_id))
        return {"status": "ACCEPTED"}

    return app


def serve(port: int) -> None:
    import uvicorn

    uvicorn.run(create_app(Settings()), host="127.0.0.1", port=port, log_level="warning")
