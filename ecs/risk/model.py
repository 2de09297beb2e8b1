"""The credit-risk model seen as a black box: features in, a score and its explanation out.

This module is imported by the pure policy (and so inside the Temporal workflow sandbox): it may
depend only on the standard library, pydantic and ``ecs.domain``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from ecs.domain.features import Features


class RiskScore(BaseModel):
    """A probability-like risk score with per-factor log-odds contributions.

    ``contributions`` maps a factor (a feature name) to how many log-odds it added to the score
    relative to a reference applicant: positive means "riskier than reference". The policy picks
    reason codes from the largest positive ones, and strips the emotional ones before pricing.
    """

    model_config = ConfigDict(frozen=True, allow_inf_nan=False, protected_namespaces=())

    score: float = Field(ge=0.0, le=1.0)
    model_name: str
    model_version: str
    contributions: dict[str, float] = Field(default_factory=dict)


@runtime_checkable
class RiskModel(Protocol):
    """Anything that can score features; implementations raise ``ModelUnavailable`` when they
    cannot, so callers can refer the decision instead of guessing."""

    name: str

    async def predict(self, features: Features) -> RiskScore: ...


class ModelUnavailable(Exception):
    """The model could not produce a score (remote error, timeout, open circuit breaker)."""
