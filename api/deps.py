"""Dependency injection: routes declare what they need with ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends, Request
from sqlmodel import Session
from temporalio.client import Client

from api.problems import Problem
from api.resources import Resources
from ecs.settings import Settings


def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


def get_settings_dep(resources: ResourcesDep) -> Settings:
    return resources.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_session(resources: ResourcesDep) -> Iterator[Session]:
    with Session(resources.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_redis(resources: ResourcesDep) -> aioredis.Redis:
    return resources.redis


RedisDep = Annotated[aioredis.Redis, Depends(get_redis)]


async def get_temporal(resources: ResourcesDep) -> Client:
    try:
        return await resources.temporal()
    except Exception as exc:
        raise Problem(
            503,
            "The workflow engine is unreachable; retry shortly.",
            headers={"Retry-After": "5"},
        ) from exc


TemporalDep = Annotated[Client, Depends(get_temporal)]
