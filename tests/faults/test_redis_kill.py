"""Redis killed with SIGKILL mid-ingest and restarted from its append-only file.

A private ``redis-server`` (the suite's shared one is never touched) with AOF; readings are posted
through the real API while a real ``ecs stream`` consumer drains them. Redis is killed: the API
answers 503 with ``Retry-After`` — never a 202 it could not keep, never a 500. Redis restarts on
the same port from its AOF; the consumer and the API reconnect on their own, and every reading
ever acknowledged with 202 ends up committed exactly once.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select

from ecs.db.tables import EmotionEvent
from ecs.embedded_redis import start_redis
from ecs.settings import DEV_INGEST_API_KEY, Settings
from tests.api.conftest import serve_api
from tests.faults.conftest import Processes, fault_env
from tests.stream.helpers import make_users
from tests.support import free_port, wait_for


def _readings(users: list[uuid.UUID], rng: random.Random, n: int) -> list[dict[str, object]]:
    now = datetime.now(UTC)
    return [
        {
            "event_id": str(uuid.uuid4()),
            "user_id": str(rng.choice(users)),
            "occurred_at": (now - timedelta(seconds=rng.randint(0, 86400))).isoformat(),
            "kind": "calm",
            "metrics": {"positivity": 0.6, "intensity": 0.3, "stress": 0.2},
        }
        for _ in range(n)
    ]


def test_a_killed_redis_loses_no_acknowledged_reading(
    settings: Settings, engine: Engine, tmp_path: Path, processes: Processes
) -> None:
    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    server = start_redis(port, tmp_path, persist=True)
    processes.env = fault_env(settings, redis_url)
    own = settings.model_copy(
        update={
            "redis_url": redis_url,
            "stream_name": processes.env["ECS_STREAM_NAME"],
            "stream_group": processes.env["ECS_STREAM_GROUP"],
        }
    )
    users = make_users(engine, 10)
    rng = random.Random(11)
    accepted: set[str] = set()
    statuses: Counter[int] = Counter()

    def post(client: httpx.Client) -> int:
        batch = _readings(users, rng, 20)
        response = client.post(
            "/v1/emotions", json={"readings": batch}, headers={"X-API-Key": DEV_INGEST_API_KEY}
        )
        statuses[response.status_code] += 1
        if response.status_code == 202:
            accepted.update(str(r["event_id"]) for r in batch)
        else:
            assert response.status_code == 503, response.text
            assert int(response.headers["retry-after"]) > 0
        return response.status_code

    try:
        processes.start("consumer", "stream")
        with serve_api(own) as api, httpx.Client(base_url=api, timeout=30) as client:
            for _ in range(50):
                assert post(client) == 202
            server.kill()  # SIGKILL, mid-ingest: the consumer is draining meanwhile
            server.wait(timeout=10)
            refused = [post(client) for _ in range(10)]
            assert refused == [503] * 10  # nothing acknowledged while the stream is down
            server = start_redis(port, tmp_path, persist=True)  # same AOF, same port
            wait_for(lambda: post(client) == 202, timeout=30, message="the API to reconnect")
            for _ in range(50):
                assert post(client) == 202

        def committed() -> bool:
            with engine.connect() as conn:
                count = conn.execute(
                    select(func.count()).where(EmotionEvent.user_id.in_(users))  # type: ignore[attr-defined]
                ).scalar_one()
            return int(count) >= len(accepted)

        wait_for(committed, timeout=90, message="every acknowledged reading to be committed")
        with engine.connect() as conn:
            stored = {
                str(row[0])
                for row in conn.execute(
                    select(EmotionEvent.event_id).where(EmotionEvent.user_id.in_(users))  # type: ignore[attr-defined,call-overload]
                )
            }
        print(f"accepted={len(accepted)} committed={len(stored)} statuses={dict(statuses)}")
        assert stored == accepted  # every 202 kept; nothing refused was written
    finally:
        processes.stop_all()
        server.terminate()
        server.wait(timeout=10)
