"""All I/O the credit workflow needs, as Temporal activities."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.credit import CreditActivities
from activities.notifications import LoggingPushProvider, PushProvider
from ecs.db.engine import get_engine
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
    credit = CreditActivities(
        get_engine(settings), model or build_model(settings), push or LoggingPushProvider()
    )
    return [
        credit.fetch_history,
        credit.score,
        credit.approve,
        credit.record_status,
        credit.settle_offer,
        credit.deploy_credit,
        credit.notify,
    ]
