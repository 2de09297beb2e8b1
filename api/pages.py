"""The analyst pages' static files (dashboard, workbench), served under one strict policy.

The pages are public static content: they hold no data and fetch everything with the analyst's
token. Their Content-Security-Policy allows only this origin and nothing inlined, so a page
provably loads no CDN, font or tracker, and an injected ``<script>`` would not run.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import PurePath

from fastapi import Response

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@cache
def _asset(name: str) -> bytes:
    """Read once from the installed package (``api/static``, shipped as package data)."""
    return files("api").joinpath("static", name).read_bytes()


def serve(name: str) -> Response:
    """One file of ``api/static``; routes name their files literally, never from the request."""
    return Response(
        _asset(name),
        media_type=_MEDIA_TYPES[PurePath(name).suffix],
        headers={
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        },
    )
