"""The customer's preference about proactive offers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ProactiveOffersPreference(BaseModel):
    """Strict boolean, like consent: an explicit ``true``/``false``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"receive": False}]})

    receive: bool = Field(
        strict=True, description="Whether ECS may offer credit on its own (it may by default)."
    )
