"""The interactive API documentation (Swagger UI at ``/docs``, ReDoc at ``/redoc``), offline.

FastAPI's built-in pages load their JavaScript and CSS from a CDN, so on a machine without
internet ``/docs`` is a blank page. Here both pages load their files from this server: the
bundles come from the installed ``fastapi-offline`` package (its ``static`` folder ships Swagger
UI and ReDoc builds) and nothing is fetched from anywhere at run time. The pages themselves are
FastAPI's own HTML with the asset URLs pointed at ``/docs/assets``; ReDoc's Google Fonts link is
turned off. Both pages carry a Content-Security-Policy allowing this origin only: ReDoc's bundle
shows a vendor logo from its CDN in the sidebar, which the policy blocks (the logo then hides
itself), so no request leaves the server. ``tests/api/test_docs.py`` loads both pages and every
asset they reference; ``tests/api/test_dashboard_browser.py`` renders them in chromium and fails
on any request to another origin.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSETS_PATH = "/docs/assets"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"

SWAGGER_PARAMETERS = {
    # The validator badge would send the schema to an external validation service.
    "validatorUrl": None,
    "persistAuthorization": True,
    "displayRequestDuration": True,
}


# Swagger UI's bootstrap is an inline script and both UIs inject styles; ReDoc builds its search
# worker from a blob. Everything else, images included, must come from this origin.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' blob:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def _offline(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = DOCS_CSP
    return page


def assets_directory() -> Path:
    """The Swagger UI / ReDoc bundles inside the installed ``fastapi_offline`` package."""
    return Path(str(files("fastapi_offline").joinpath("static")))


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs``, ``/redoc`` and their assets; the app must be built with
    ``docs_url=None, redoc_url=None`` so FastAPI's CDN pages are not registered too."""
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_directory()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    def root(request: Request) -> str:
        return str(request.scope.get("root_path", ""))

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        prefix = root(request)
        return _offline(
            get_swagger_ui_html(
                openapi_url=prefix + openapi_url,
                title=f"{app.title} · Swagger UI",
                oauth2_redirect_url=prefix + OAUTH2_REDIRECT_PATH,
                swagger_js_url=f"{prefix}{ASSETS_PATH}/swagger-ui-bundle.js",
                swagger_css_url=f"{prefix}{ASSETS_PATH}/swagger-ui.css",
                swagger_favicon_url=f"{prefix}{ASSETS_PATH}/favicon.png",
                swagger_ui_parameters=SWAGGER_PARAMETERS,
            )
        )

    @app.get(OAUTH2_REDIRECT_PATH, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_PATH, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        prefix = root(request)
        return _offline(
            get_redoc_html(
                openapi_url=prefix + openapi_url,
                title=f"{app.title} · ReDoc",
                redoc_js_url=f"{prefix}{ASSETS_PATH}/redoc.standalone.js",
                redoc_favicon_url=f"{prefix}{ASSETS_PATH}/favicon.png",
                with_google_fonts=False,
            )
        )
