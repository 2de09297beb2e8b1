"""Operators drive the same workflows with the `temporal` CLI, in plain JSON.

Signals and updates typed on the command line are unencrypted JSON, which the payload codec
passes through; results are encrypted, so the CLI reads them through the API's codec endpoint.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.client import Client

from ecs.contracts import DecisionView
from ecs.domain.status import DecisionStatus
from ecs.settings import Settings
from ecs.temporal.devserver import find_binary
from tests.factories import make_user
from tests.support import async_wait_for
from tests.workflows.conftest import start_decision, status_of

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("worker")]


async def temporal(settings: Settings, *args: str, codec_url: str | None = None) -> str:
    """Run the CLI without blocking the event loop: the test's worker shares this loop."""
    command = [find_binary("temporal"), *args, "--address", settings.temporal_address]
    if codec_url:
        command += [
            "--codec-endpoint",
            codec_url,
            "--codec-header",
            f"X-API-Key={settings.codec_api_key.get_secret_value()}",
        ]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, f"{' '.join(args)} failed: {stderr.decode()}"
    return stdout.decode()


async def query_status(settings: Settings, workflow_id: str, api_url: str) -> dict[str, Any]:
    out = await temporal(
        settings,
        "workflow",
        "query",
        "--workflow-id",
        workflow_id,
        "--name",
        "status",
        "-o",
        "json",
        codec_url=f"{api_url}/codec",
    )
    body = json.loads(out)
    result: dict[str, Any] = body["queryResult"][0]
    return result


async def test_query_signal_and_update_from_the_cli(
    temporal_client: Client, engine: Engine, settings: Settings, api_url: str
) -> None:
    user_id = make_user(engine)
    handle = await start_decision(temporal_client, engine, settings, user_id)

    async def offered() -> DecisionView | None:
        view = await status_of(handle)
        return view if view.status is DecisionStatus.OFFERED else None

    await async_wait_for(offered, timeout=20, message="the offer")

    status = await query_status(settings, handle.id, api_url)
    assert status["status"] == "OFFERED" and status["user_id"] == str(user_id)

    await temporal(
        settings,
        "workflow",
        "signal",
        "--workflow-id",
        handle.id,
        "--name",
        "emotion",
        "--input",
        '{"event_id": "cli-1", "stress": 0.95, "intensity": 0.9}',
    )

    async def cooling() -> DecisionView | None:
        view = await status_of(handle)
        return view if view.status is DecisionStatus.COOLING_OFF else None

    try:
        paused = await async_wait_for(cooling, timeout=20, message="cooling-off")
    except AssertionError:
        raise AssertionError(str(await status_of(handle))) from None
    assert paused.last_emotion_event_id == "cli-1"

    await temporal(
        settings,
        "workflow",
        "signal",
        "--workflow-id",
        handle.id,
        "--name",
        "emotion",
        "--input",
        '{"event_id": "cli-2", "stress": 0.1}',
    )
    await async_wait_for(offered, timeout=20, message="the offer to reopen")

    await temporal(
        settings,
        "workflow",
        "update",
        "execute",
        "--workflow-id",
        handle.id,
        "--name",
        "accept",
        "--input",
        json.dumps({"user_id": str(user_id)}),
        codec_url=f"{api_url}/codec",
    )
    result = await handle.result()
    assert result.status is DecisionStatus.ACTIVE


async def test_history_is_unreadable_without_the_codec(
    temporal_client: Client, engine: Engine, settings: Settings
) -> None:
    """Without the codec endpoint the CLI sees ciphertext: no user id, no emotions, no money."""
    user_id = make_user(engine)
    handle = await start_decision(temporal_client, engine, settings, user_id)
    await handle.signal("emotion", {"event_id": "priv-1", "stress": 0.2, "intensity": 0.3})
    out = await temporal(settings, "workflow", "show", "--workflow-id", handle.id, "-o", "json")
    assert "binary/encrypted" in out or "YmluYXJ5L2VuY3J5cHRlZA" in out
    assert str(user_id) not in out
