"""Compatibility shim while ``api.services.privacy`` moves: the credit code is ``ecs.credit``.

Re-exports only what privacy (and its tests) still import from here; removed at merge.
"""

from __future__ import annotations

from temporalio.client import Client

from api.resources import Resources
from ecs.credit import engine
from ecs.credit.engine import unavailable as temporal_unavailable
from ecs.credit.workflow_input import decision_input

__all__ = ["connect_or_none", "decision_input", "temporal_unavailable"]


async def connect_or_none(resources: Resources) -> Client | None:
    return await engine.connect_or_none(resources.temporal)
