"""Analyst insights (emotion trends, credit outcomes, score drift, fairness) and the dashboard.

The JSON endpoints are analyst-only and return aggregates only. The dashboard page itself is
public static content: it holds no data, and fetches everything with the analyst's token.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api.deps import SessionDep, SettingsDep
from api.pages import serve
from api.schemas.insights import CreditInsights, EmotionInsights, ModelInsights
from api.security import Analyst
from ecs.db.types import utcnow
from ecs.domain.emotions import CoolingOff
from ecs.insights import credit_queries, model_queries, trends_queries
from ecs.insights.window import DecisionWindow

router = APIRouter(prefix="/insights", tags=["insights"])
page_router = APIRouter(tags=["dashboard"])

_PROBLEM: dict[str, Any] = {
    "description": "Problem body",
    "content": {"application/problem+json": {}},
}
_RESPONSES: dict[int | str, dict[str, Any]] = {401: _PROBLEM, 403: _PROBLEM, 422: _PROBLEM}

Days = Annotated[int, Query(ge=1, le=365, description="Window length in days, ending now")]
ModelVersion = Annotated[
    str | None, Query(max_length=64, description="Only decisions scored by this model version")
]
PolicyVersion = Annotated[
    str | None, Query(max_length=32, description="Only decisions made under this policy version")
]


@router.get(
    "/emotions",
    response_model=EmotionInsights,
    summary="Daily emotion trend of consenting users, with key takeaways (k-anonymous)",
    responses=_RESPONSES,
)
def emotions(_analyst: Analyst, session: SessionDep, days: Days = 30) -> EmotionInsights:
    """Days with fewer than k distinct users are left out: see ``ecs.insights.anonymity``."""
    report = trends_queries.emotion_insights(session, days=days, today=utcnow().date())
    return EmotionInsights.model_validate(report)


@router.get(
    "/credit",
    response_model=CreditInsights,
    summary="Automated outcomes, approval by band, limit histogram, reasons, review backlog",
    responses=_RESPONSES,
)
def credit(
    _analyst: Analyst,
    session: SessionDep,
    days: Days = 30,
    model_version: ModelVersion = None,
    policy_version: PolicyVersion = None,
) -> CreditInsights:
    window = DecisionWindow(days, utcnow(), model_version, policy_version)
    report = credit_queries.credit_insights(session, window)
    return CreditInsights.model_validate(report)


@router.get(
    "/model",
    response_model=ModelInsights,
    summary="Score drift (weekly percentiles, PSI) and the empathy fairness monitor",
    responses=_RESPONSES,
)
def model(
    _analyst: Analyst,
    session: SessionDep,
    settings: SettingsDep,
    days: Annotated[
        int, Query(ge=14, le=365, description="Window in days; the last 7 are compared to the rest")
    ] = 90,
    model_version: ModelVersion = None,
    policy_version: PolicyVersion = None,
) -> ModelInsights:
    """At least 14 days, so the PSI's reference window is never shorter than the recent one."""
    window = DecisionWindow(days, utcnow(), model_version, policy_version)
    report = model_queries.model_insights(session, window, CoolingOff.from_settings(settings))
    return ModelInsights.model_validate(report)


# --- The dashboard page ---------------------------------------------------------------------------


@page_router.get("/dashboard", summary="Analyst dashboard (HTML)", response_class=Response)
def dashboard() -> Response:
    """Self-contained: its script and styles come from this server only (see the CSP)."""
    return serve("dashboard.html")


@page_router.get("/dashboard/dashboard.js", include_in_schema=False)
def dashboard_js() -> Response:
    return serve("dashboard.js")


@page_router.get("/dashboard/charts.js", include_in_schema=False)
def dashboard_charts_js() -> Response:
    return serve("charts.js")


@page_router.get("/dashboard/dashboard.css", include_in_schema=False)
def dashboard_css() -> Response:
    return serve("dashboard.css")
