"""``GET /metrics``: the documented counters move when requests and readings arrive."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, update

from api.metrics import REVIEW_QUEUE, REVIEW_QUEUE_REFRESH_SECONDS, ReviewQueueSampler
from ecs.db.tables import CreditDecision
from ecs.domain.status import DecisionStatus
from tests.api.conftest import Account
from tests.factories import make_decision_row, make_user
from tests.support import ManualClock


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page, keyed by name and sorted labels."""
    response = httpx.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _reading() -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC).isoformat(),
        "kind": "calm",
        "metrics": {"positivity": 0.6, "intensity": 0.3, "stress": 0.2},
    }


def test_requests_and_readings_move_the_documented_counters(
    api_url: str, customer: Account
) -> None:
    before = scrape(f"{api_url}/metrics")
    decision_id = uuid.uuid4()
    missing = httpx.get(f"{api_url}/v1/credit-decisions/{decision_id}", headers=customer.headers)
    assert missing.status_code == 404
    batch = {"readings": [_reading() for _ in range(3)]}
    accepted = httpx.post(f"{api_url}/v1/emotions", json=batch, headers=customer.headers)
    assert accepted.status_code == 202
    assert httpx.get(f"{api_url}/no/such/{decision_id}").status_code == 404
    refused = httpx.post(f"{api_url}/v1/emotions", json={"readings": []}, headers=customer.headers)
    assert refused.status_code == 422
    after = scrape(f"{api_url}/metrics")

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    template = "/v1/credit-decisions/{decision_id}"
    assert delta("ecs_api_requests_total", route=template, method="GET", status="404") == 1
    assert delta("ecs_api_request_duration_seconds_count", route=template, method="GET") == 1
    assert delta("ecs_api_requests_total", route="/v1/emotions", method="POST", status="202") == 1
    assert delta("ecs_api_requests_total", route="unmatched", method="GET", status="404") == 1
    assert delta("ecs_ingest_readings_accepted_total") == 3
    assert delta("ecs_ingest_requests_refused_total", reason="validation-error") == 1
    assert after[("ecs_api_requests_in_flight", ())] >= 1  # the scrape itself
    # Raw paths never become series: a scan of random ids cannot explode the label set.
    assert not any(str(decision_id) in value for _name, labels in after for _k, value in labels)


async def test_the_review_queue_gauge_counts_referred_decisions(engine: Engine) -> None:
    clock = ManualClock()
    sampler = ReviewQueueSampler(engine, clock=clock)
    await sampler.refresh()
    before = REVIEW_QUEUE._value.get()
    decision_id, _ = make_decision_row(engine, make_user(engine))
    with engine.begin() as conn:
        conn.execute(
            update(CreditDecision)
            .where(CreditDecision.id == uuid.UUID(decision_id))  # type: ignore[arg-type]
            .values(status=DecisionStatus.REFERRED)
        )
    await sampler.refresh()
    assert REVIEW_QUEUE._value.get() == before  # sampled at most every 15 s
    clock.advance(REVIEW_QUEUE_REFRESH_SECONDS)
    await sampler.refresh()
    assert REVIEW_QUEUE._value.get() == before + 1
