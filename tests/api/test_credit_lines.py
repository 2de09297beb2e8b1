"""The credit-line re-evaluation routes through the real API: own lines only, nothing to accept
without an open offer (the review workflow's branches are in tests/workflows)."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import Account, register_and_login


async def test_another_customers_line_is_a_404_and_no_offer_is_a_409(
    api_url: str, customer: Account
) -> None:
    other = register_and_login(api_url, prefix="otherline")
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        mine = await http.get(
            f"/v1/me/credit-lines/{customer.id}/changes", headers=customer.headers
        )
        assert mine.status_code == 200, mine.text
        assert mine.json() == {"account_id": str(customer.id), "items": []}
        theirs = await http.get(f"/v1/me/credit-lines/{other.id}/changes", headers=customer.headers)
        assert theirs.status_code == 404
        assert theirs.headers["content-type"].startswith("application/problem+json")
        accept = await http.post(
            f"/v1/me/credit-lines/{customer.id}/increase/accept", headers=customer.headers
        )
        assert accept.status_code == 409, accept.text
        assert accept.json()["type"].endswith("no-open-increase")


pytestmark = pytest.mark.usefixtures("worker")
