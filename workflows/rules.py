"""What the decision's signal and update handlers accept: pure functions of its state.

The workflow's handlers call these, so each rule is written once and readable without the
Temporal plumbing around it. Validators raise ``ValueError`` with the reason the caller sees
(the API turns it into a problem body, the CLI prints it); a refused update leaves no trace in
history. Deterministic: time is passed in, nothing here does I/O.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from ecs.contracts import DecisionInput, DecisionState, EmotionSignal, ReviewRequest
    from ecs.domain.emotions import is_acute_distress, is_calm
    from ecs.domain.status import DecisionStatus

MAX_REMEMBERED_EVENTS = 256
# Only a decision not yet scored, or an open offer, can still be made more careful.
_PAUSABLE = frozenset({DecisionStatus.PENDING, DecisionStatus.OFFERED, DecisionStatus.COOLING_OFF})


def apply_reading(s: DecisionState, inp: DecisionInput, reading: EmotionSignal) -> None:
    """Remember the reading once (at-least-once delivery from the stream) and let it start or
    end distress; the workflow's waits react to ``s.distressed``."""
    if reading.event_id in s.seen:
        return
    s.seen = [*s.seen[1 - MAX_REMEMBERED_EVENTS :], reading.event_id]
    s.signals += 1
    s.last_event_id = reading.event_id
    rule = inp.cooling_off
    if is_acute_distress(reading.stress, reading.intensity, rule):
        if s.status in _PAUSABLE:
            s.distressed = True
    elif is_calm(reading.stress, rule):
        s.distressed = False


def check_offer_open(s: DecisionState, inp: DecisionInput, user_id: str, now: datetime) -> None:
    if user_id != inp.user_id:
        raise ValueError("this decision belongs to another user")
    if (
        s.offer is None
        or s.settlement is not None
        or s.status not in (DecisionStatus.OFFERED, DecisionStatus.COOLING_OFF)
    ):
        raise ValueError(f"no open offer: the decision is {s.status.value}")
    if now >= s.offer.expires_at:
        raise ValueError("the offer has expired")


def check_accept(s: DecisionState, inp: DecisionInput, user_id: str, now: datetime) -> None:
    check_offer_open(s, inp, user_id, now)
    if s.status is DecisionStatus.COOLING_OFF:
        until = s.cooling_off_until
        raise ValueError(
            f"cooling-off pause in progress: the offer can be accepted after "
            f"{until.isoformat() if until else 'later'} or once you feel calmer"
        )


def check_review(s: DecisionState, inp: DecisionInput, request: ReviewRequest) -> None:
    """Everything checkable without I/O; ``approve`` then checks the reviewer is an analyst."""
    if s.status is not DecisionStatus.REFERRED:
        raise ValueError(f"only a REFERRED decision can be reviewed (it is {s.status})")
    if s.review is not None:
        raise ValueError("a review of this decision is already being applied")
    try:
        reviewer = uuid.UUID(request.reviewer_id)
    except ValueError:
        raise ValueError(
            f"reviewer_id must be an analyst's user id (a UUID), not {request.reviewer_id!r}"
        ) from None
    if reviewer == uuid.UUID(inp.user_id):
        raise ValueError("a reviewer cannot review their own credit request")
    if request.approve and not (
        request.credit_limit and request.interest_rate and request.credit_type
    ):
        raise ValueError("approving needs credit_limit, interest_rate and credit_type")
