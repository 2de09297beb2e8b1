"""``ecs api --workers 2``: /metrics merges every worker process, so no counts are lost."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ecs.settings import Settings
from tests.support import free_port, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def two_workers(settings: Settings, redis_url: str) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECS_", "PROMETHEUS_"))}
    env |= {
        "ECS_DATABASE_URL": settings.effective_database_url,
        "ECS_REDIS_URL": redis_url,
        "ECS_TEMPORAL_ADDRESS": settings.temporal_address,
        "ECS_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "ecs", "api", "--port", str(port), "--workers", "2"], env=env
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, timeout=30, message="ecs api --workers 2 to answer")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _healthz_count(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "ecs_api_requests_total" and sample.labels.get("route") == "/healthz"
    )


def test_every_workers_requests_are_counted(two_workers: str) -> None:
    before = _healthz_count(two_workers)
    with httpx.Client(base_url=two_workers, timeout=5) as client:
        for _ in range(60):  # new connections spread over both worker processes
            assert client.get("/healthz", headers={"Connection": "close"}).status_code == 200
    # Whichever process answers the scrape, it reports the sum over both.
    for _ in range(5):
        assert _healthz_count(two_workers) - before >= 60
