"""Liveness and readiness probes.

``/healthz`` says the process is alive (never touches dependencies, so a database outage does not
get the pod restarted in a loop); ``/readyz`` says whether this instance can do useful work now.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import ResourcesDep
from api.problems import TYPE_BASE, problem_response
from api.resources import Resources

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_SECONDS = 2.0


@router.get("/healthz", summary="Liveness probe")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check_database(resources: Resources) -> None:
    def ping() -> None:
        with resources.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    await asyncio.to_thread(ping)


async def _check_redis(resources: Resources) -> None:
    await resources.redis.ping()


async def _check_temporal(resources: Resources) -> None:
    client = await resources.temporal()
    await client.service_client.check_health(timeout=timedelta(seconds=2))


async def _run(name: str, check: Any, resources: Resources) -> tuple[str, str | None]:
    try:
        await asyncio.wait_for(check(resources), timeout=CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        return name, f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__
    return name, None


@router.get(
    "/readyz",
    summary="Readiness probe: database, Redis and Temporal",
    responses={503: {"description": "A dependency is down (problem body names it)"}},
)
async def readyz(request: Request, resources: ResourcesDep) -> JSONResponse:
    results = await asyncio.gather(
        _run("database", _check_database, resources),
        _run("redis", _check_redis, resources),
        _run("temporal", _check_temporal, resources),
    )
    checks = {name: ("ok" if error is None else error) for name, error in results}
    down = [name for name, error in results if error is not None]
    if down:
        return problem_response(
            request,
            503,
            f"Not ready: {', '.join(down)} unavailable",
            type_=TYPE_BASE + "dependency-unavailable",
            title="Dependency unavailable",
            headers={"Retry-After": "5"},
            checks=checks,
            down=down,
        )
    return JSONResponse({"status": "ready", "checks": checks})
