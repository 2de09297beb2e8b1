"""Processes freeze their start-up heap while they serve (``ecs.heap``): a full collection then
walks only what requests allocated, not the application (at batches of 1,000 readings those
passes cost the ingest API more CPU than the readings)."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from api.main import create_app
from ecs.heap import startup_heap_frozen
from ecs.settings import Settings


def test_the_heap_is_frozen_inside_the_block_and_collectable_after() -> None:
    gc.unfreeze()  # whatever an earlier test's server froze
    with startup_heap_frozen():
        assert gc.get_freeze_count() > 1000
    assert gc.get_freeze_count() == 0


def test_the_api_serves_with_its_startup_heap_frozen(settings: Settings) -> None:
    gc.unfreeze()
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_freeze_count() > 1000
    assert gc.get_freeze_count() == 0
