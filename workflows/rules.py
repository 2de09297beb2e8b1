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
    from ecs.contracts import (
        ConfirmRequest,
        ContestRequest,
        DecisionInput,
        DecisionState,
        EmotionSignal,
        ReviewRequest,
    )
    from ecs.domain.emotions import is_acute_distress, is_calm
    from ecs.domain.policy import Decision
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
    if s.contest_pending:
        raise ValueError("the offer's terms are being contested")
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


def _check_reviewer_id(reviewer_id: str, inp: DecisionInput) -> uuid.UUID:
    try:
        reviewer = uuid.UUID(reviewer_id)
    except ValueError:
        raise ValueError(
            f"reviewer_id must be an analyst's user id (a UUID), not {reviewer_id!r}"
        ) from None
    if reviewer == uuid.UUID(inp.user_id):
        raise ValueError("a reviewer cannot review their own credit request")
    return reviewer


def check_review(s: DecisionState, inp: DecisionInput, request: ReviewRequest) -> None:
    """Everything checkable without I/O; ``approve`` then checks the reviewer is an analyst.

    A contested offer is upheld (approved with its terms) or given new terms, never withdrawn:
    the customer asked for a human to look at the terms, not to lose the offer."""
    reviewable = {DecisionStatus.REFERRED}
    if inp.review_rules is not None:
        reviewable.add(DecisionStatus.CONTESTED)
    if s.status not in reviewable:
        names = " or ".join(sorted(r.value for r in reviewable))
        raise ValueError(f"only a {names} decision can be reviewed (it is {s.status})")
    if s.review is not None:
        raise ValueError("a review of this decision is already being applied")
    _check_reviewer_id(request.reviewer_id, inp)
    if request.approve and not (
        request.credit_limit and request.interest_rate and request.credit_type
    ):
        raise ValueError("approving needs credit_limit, interest_rate and credit_type")
    if (
        s.status is DecisionStatus.CONTESTED
        and not request.approve
        and s.outcome is not None
        and s.outcome.decision is Decision.APPROVED
    ):
        raise ValueError(
            "a contested offer is upheld with its terms or given new ones; it is not withdrawn"
        )


def check_contest(
    s: DecisionState, inp: DecisionInput, request: ContestRequest, now: datetime
) -> None:
    """An automated denial within the window, or an open offer's terms, once per decision."""
    if inp.review_rules is None:
        raise ValueError("this decision was made before contesting existed; ask support")
    if request.user_id != inp.user_id:
        raise ValueError("this decision belongs to another user")
    if s.contest is not None or s.contest_pending:
        raise ValueError("this decision has already been contested")
    if s.reviewed:
        raise ValueError("an analyst already made this decision; it was not automated")
    if s.status is DecisionStatus.DENIED:
        if s.contest_open_until is None or now >= s.contest_open_until:
            raise ValueError("the window to contest this decision has closed")
        return
    if s.status is DecisionStatus.OFFERED and s.settlement is None and s.offer is not None:
        if now >= s.offer.expires_at:
            raise ValueError("the offer has expired")
        return
    raise ValueError(
        f"only a denial or an open offer can be contested (the decision is {s.status.value})"
    )


def check_confirm(s: DecisionState, inp: DecisionInput, request: ConfirmRequest) -> None:
    """A second analyst, not the one who proposed, answers a CONFIRMING decision once."""
    if s.status is not DecisionStatus.CONFIRMING or s.proposal is None:
        raise ValueError(f"only a CONFIRMING decision can be confirmed (it is {s.status})")
    if s.confirmation is not None:
        raise ValueError("a confirmation of this decision is already being applied")
    reviewer = _check_reviewer_id(request.reviewer_id, inp)
    if reviewer == uuid.UUID(s.proposal.reviewer_id):
        raise ValueError(
            "four-eyes: a second analyst must confirm; the one who proposed the terms cannot"
        )
