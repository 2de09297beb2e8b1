"""The cooling-off rule: when a reading is "acute distress" or "calm", and how long a pause lasts.

These drive the cooling-off pause: a decision waits while the user is in acute distress and
resumes on a calm reading (or when the pause times out); the policy lowers the limit of a user in
acute distress. Both checks are deliberately simple and monotone so that operators can reason
about them and tests can pin their edges.

``CoolingOff`` is the one configuration type for that rule. It is built from the
``ECS_COOLING_OFF_*`` settings once (``CoolingOff.from_settings``) and handed to everything that
applies the rule: the workflow (inside its input, because workflow code never reads settings),
the policy, the stream consumer and insights. ``CoolingOffThresholds`` (and
``ecs.contracts.CoolingOffConfig``) are the same type under the names older call sites use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:  # settings are read by callers, never by workflow code that imports this
    from ecs.settings import Settings


class CoolingOff(BaseModel):
    """How long a pause lasts and the cut-offs, all thresholds on the 0..1 scale of the readings.

    ``calm_stress`` must lie strictly below ``distress_stress``: otherwise one reading could be
    both distress and calm, and the cooling-off pause could end on the very reading that
    started it. The defaults equal the settings' defaults (pinned by a test).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    pause_seconds: int = Field(default=3600, gt=0)
    distress_stress: float = Field(default=0.8, ge=0.0, le=1.0)
    distress_intensity: float = Field(default=0.6, ge=0.0, le=1.0)
    calm_stress: float = Field(default=0.5, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _calm_below_distress(self) -> Self:
        if self.calm_stress >= self.distress_stress:
            raise ValueError("calm_stress must be below distress_stress")
        return self

    @classmethod
    def from_settings(cls, settings: Settings) -> CoolingOff:
        """The configured rule (``ECS_COOLING_OFF_*``); the only place settings become one."""
        return cls(
            pause_seconds=settings.cooling_off_seconds,
            distress_stress=settings.cooling_off_distress_stress,
            distress_intensity=settings.cooling_off_distress_intensity,
            calm_stress=settings.cooling_off_calm_stress,
        )


CoolingOffThresholds = CoolingOff
"""The name the stream consumer and insights import."""


def is_acute_distress(stress: float, intensity: float, t: CoolingOff) -> bool:
    """High stress alone is not enough: a low-intensity stressed reading is background noise,
    so both must reach their thresholds (inclusive)."""
    return stress >= t.distress_stress and intensity >= t.distress_intensity


def is_calm(stress: float, t: CoolingOff) -> bool:
    """Calm is judged on stress only (inclusive), so any clearly de-stressed reading ends the
    pause regardless of how intense the emotion is."""
    return stress <= t.calm_stress
