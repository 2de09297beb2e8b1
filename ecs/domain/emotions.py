"""Thresholds that turn an emotion reading into "acute distress" or "calm".

These drive the cooling-off pause: a decision waits while the user is in acute distress and
resumes on a calm reading (or when the pause times out). Both checks are deliberately simple
and monotone so that operators can reason about them and tests can pin their edges.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class CoolingOffThresholds(BaseModel):
    """Tunable cut-offs, all on the 0..1 scale of the readings.

    ``calm_stress`` must lie strictly below ``distress_stress``: otherwise one reading could be
    both distress and calm, and the cooling-off pause could end on the very reading that
    started it.
    """

    model_config = ConfigDict(frozen=True)

    distress_stress: float = Field(default=0.8, ge=0.0, le=1.0)
    distress_intensity: float = Field(default=0.6, ge=0.0, le=1.0)
    calm_stress: float = Field(default=0.5, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _calm_below_distress(self) -> Self:
        if self.calm_stress >= self.distress_stress:
            raise ValueError("calm_stress must be below distress_stress")
        return self


def is_acute_distress(stress: float, intensity: float, t: CoolingOffThresholds) -> bool:
    """High stress alone is not enough: a low-intensity stressed reading is background noise,
    so both must reach their thresholds (inclusive)."""
    return stress >= t.distress_stress and intensity >= t.distress_intensity


def is_calm(stress: float, t: CoolingOffThresholds) -> bool:
    """Calm is judged on stress only (inclusive), so any clearly de-stressed reading ends the
    pause regardless of how intense the emotion is."""
    return stress <= t.calm_stress
