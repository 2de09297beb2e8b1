"""The rules of human review: who may contest, when a review is overdue, when two analysts decide.

LGPD Art. 20 gives a customer the right to ask for human review of a decision taken solely by
automated means. ECS lets them contest an automated denial within ``contest_window_seconds``, or
the terms of an offer while it is open; a decision an analyst already made (a referral's review)
is not automated, and a decision is contested at most once. A review (referred or contested)
left undecided past ``deadline_seconds`` is escalated; an analyst's approval above
``four_eyes_limit`` goes out only once a second analyst confirms it.

Pure: the rule travels in the workflow's input (the workflow never reads settings), like
``CoolingOff``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from ecs.settings import Settings


class ReviewRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    contest_window_seconds: int = Field(default=15 * 86400, ge=0)
    deadline_seconds: int = Field(default=48 * 3600, gt=0)
    four_eyes_limit: Decimal = Field(default=Decimal("20000.00"), gt=0)

    def needs_second_analyst(self, credit_limit: Decimal | None) -> bool:
        return credit_limit is not None and credit_limit > self.four_eyes_limit

    @classmethod
    def from_settings(cls, settings: Settings) -> ReviewRules:
        """The configured rule (``ECS_CONTEST_WINDOW_DAYS``, ``ECS_REVIEW_DEADLINE_HOURS``,
        ``ECS_FOUR_EYES_LIMIT``); the only place those settings become one."""
        return cls(
            contest_window_seconds=round(settings.contest_window_days * 86400),
            deadline_seconds=max(1, round(settings.review_deadline_hours * 3600)),
            four_eyes_limit=settings.four_eyes_limit,
        )
