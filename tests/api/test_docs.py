"""``/docs`` and ``/redoc`` work without internet: every file they load comes from the app.

Each page is fetched from the live server, every ``src``/``href`` it references (and the URLs
the inline bootstrap script names) is resolved against the page and must be same-origin and
answer 200 from the app itself. A CDN URL anywhere in the page fails the test.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from api.routes.docs import SWAGGER_PARAMETERS

_REFERENCE = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*['"]([^'"]+)['"]""")
_ABSOLUTE = re.compile(r"""["'(](?:https?:)?//[^"')\s]+""")


def _references(html: str) -> list[str]:
    return [a or b for a, b in _REFERENCE.findall(html)]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css", "openapi.json"}),
        ("/redoc", {"redoc.standalone.js", "openapi.json"}),
    ],
)
def test_docs_page_loads_every_asset_from_the_app(
    api_url: str, path: str, expected: set[str]
) -> None:
    page = httpx.get(api_url + path)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    external = _ABSOLUTE.findall(page.text)
    assert not external, f"{path} references URLs outside the app: {external}"

    references = _references(page.text)
    assert {urlsplit(r).path.rsplit("/", 1)[-1] for r in references} >= expected, references
    origin = urlsplit(api_url).netloc
    for reference in references:
        url = urljoin(api_url + path, reference)
        assert urlsplit(url).netloc == origin, f"{path} loads {url} from another host"
        asset = httpx.get(url)
        assert asset.status_code == 200, f"{url}: HTTP {asset.status_code}"
        assert asset.content, f"{url} is empty"


def test_swagger_ui_sends_the_schema_to_no_validator(api_url: str) -> None:
    assert SWAGGER_PARAMETERS["validatorUrl"] is None
    page = httpx.get(api_url + "/docs").text
    assert '"validatorUrl": null' in page


def test_oauth2_redirect_page_is_served(api_url: str) -> None:
    response = httpx.get(api_url + "/docs/oauth2-redirect")
    assert response.status_code == 200
    assert "oauth2" in response.text.lower()
