"""The analyst workbench page: the review queue, one case at a time, and the review actions.

Static files only (``api/static/workbench.*`` and the dashboard's ``charts.js``), under the same
policy as the dashboard (``api.pages``). Every figure, and every action, goes through the
analyst-only ``/v1/reviews`` API with the analyst's own token, so the page grants nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.pages import serve

page_router = APIRouter(tags=["workbench"])


@page_router.get("/workbench", summary="Analyst review workbench (HTML)", response_class=Response)
def workbench() -> Response:
    """Self-contained: its script and styles come from this server only (see the CSP)."""
    return serve("workbench.html")


@page_router.get("/workbench/workbench.js", include_in_schema=False)
def workbench_js() -> Response:
    return serve("workbench.js")


@page_router.get("/workbench/charts.js", include_in_schema=False)
def workbench_charts_js() -> Response:
    return serve("charts.js")


@page_router.get("/workbench/workbench.css", include_in_schema=False)
def workbench_css() -> Response:
    return serve("workbench.css")
