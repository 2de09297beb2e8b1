"""The worker's activities, built once per process from settings.

Each seam of the workflow's I/O is one class (``activities.history``, ``.decision``,
``.status``, ``.offer``, ``.notify``, ``.review``) implementing its declaration in
``activities.interface``;
this module wires them to one engine, one risk model and one push provider.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.credit_lines import CreditLineActivities
from activities.decision import DecisionActivities
from activities.history import HistoryActivities
from activities.notifications import LoggingPushProvider, PushProvider
from activities.notify import NotifyActivities
from activities.offer import OfferActivities
from activities.proactive import ProactiveActivities
from activities.review import ReviewActivities
from activities.status import StatusActivities
from ecs.db.engine import get_engine
from ecs.notifications.events import RedisEventPublisher
from ecs.risk.http_client import HttpRiskModel
from ecs.risk.model import RiskModel
from ecs.risk.scorecard import ScorecardModel
from ecs.settings import Settings


def build_model(settings: Settings) -> RiskModel:
    """The in-process scorecard by default; a remote model (behind a breaker) when configured."""
    if settings.model_url:
        return HttpRiskModel(settings.model_url, timeout=settings.model_timeout_seconds)
    return ScorecardModel()


def build_activities(
    settings: Settings,
    *,
    model: RiskModel | None = None,
    push: PushProvider | None = None,
) -> list[Callable[..., Any]]:
    engine = get_engine(settings)
    history = HistoryActivities(engine)
    decisions = DecisionActivities(engine, model or build_model(settings))
    status = StatusActivities(engine)
    events = RedisEventPublisher.from_url(settings.effective_redis_url, settings.events_channel)
    push = push or LoggingPushProvider()
    offers = OfferActivities(engine, push, events)
    notify = NotifyActivities(engine, push, events)
    proactive = ProactiveActivities(engine, settings)
    lines = CreditLineActivities(engine, settings, events)
    reviews = ReviewActivities(engine, events)
    return [
        history.fetch_history,
        decisions.score,
        decisions.approve,
        status.record_status,
        offers.settle_offer,
        offers.deploy_credit,
        offers.accept_and_deploy,
        notify.notify,
        reviews.open_contest,
        reviews.record_review_step,
        reviews.escalate_review,
        proactive.select_eligible,
        proactive.start_decision,
        lines.select_due_lines,
        lines.propose_terms,
        lines.record_change,
        lines.apply_change,
        lines.notify_line,
    ]
