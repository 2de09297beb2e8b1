"""What a decision shows: the ``status`` view, the Web UI summary and the texts sent to the app.

Pure functions of the workflow's ``DecisionState``, kept apart from the orchestration so the
workflow module reads as the process it is. Deterministic (no clock, no I/O): they run inside
the workflow sandbox and inside queries.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from ecs.contracts import DecisionInput, DecisionState, DecisionView, OfferView
    from ecs.domain.policy import Decision
    from ecs.domain.status import REVIEW_QUEUE_STATUSES, DecisionStatus


class Message(NamedTuple):
    kind: str
    title: str
    body: str


REFERRED = Message(
    "decision_referred",
    "Your credit request is being reviewed",
    "A specialist will look at your request shortly.",
)
DENIED = Message(
    "decision_denied",
    "We can't offer credit right now",
    "See the reasons in the app; you can ask again later.",
)
EXPIRED = Message(
    "offer_expired",
    "Your credit offer expired",
    "You can request a new decision at any time.",
)


def offer_ready(offer: OfferView) -> Message:
    return Message(
        "offer_ready",
        "You have a credit offer",
        f"Limit {offer.credit_limit} at {offer.interest_rate * 100:.2f}% a year, "
        f"valid until {offer.expires_at:%Y-%m-%d %H:%M} UTC.",
    )


def credit_active(offer: OfferView) -> Message:
    return Message(
        "credit_active",
        "Your credit line is active",
        f"Limit {offer.credit_limit} at {offer.interest_rate * 100:.2f}% a year "
        f"({offer.credit_type.replace('_', '-').lower()}).",
    )


CONTEST_RECEIVED = Message(
    "contest_received",
    "We received your request for review",
    "A specialist will review the decision; we will tell you the outcome.",
)


def review_outcome(state: DecisionState) -> tuple[Message, dict[str, str]]:
    """What the customer is told when an analyst answered their contest, and the offer's id."""
    offer = state.offer
    if offer is None or state.outcome is None or state.outcome.decision is not Decision.APPROVED:
        return (
            Message(
                "review_outcome",
                "Your request for review was answered",
                "A specialist reviewed the decision and upheld it. See the reasons in the app.",
            ),
            {},
        )
    return (
        Message(
            "review_outcome",
            "Your request for review was answered",
            f"A specialist reviewed the decision: limit {offer.credit_limit} at "
            f"{offer.interest_rate * 100:.2f}% a year, valid until "
            f"{offer.expires_at:%Y-%m-%d %H:%M} UTC.",
        ),
        {"offer_id": offer.offer_id},
    )


def view_of(state: DecisionState, inp: DecisionInput, workflow_id: str) -> DecisionView:
    """The ``status`` query's answer; REFERRED is neither approved nor denied (``None``)."""
    outcome, score = state.outcome, state.score
    return DecisionView(
        decision_id=inp.decision_id,
        workflow_id=workflow_id,
        user_id=inp.user_id,
        status=state.status,
        approved=None
        if outcome is None or outcome.decision is Decision.REFERRED
        else outcome.decision is Decision.APPROVED,
        risk_score=score.score if score else None,
        risk_band=outcome.risk_band.value if outcome and outcome.risk_band else None,
        credit_limit=outcome.credit_limit if outcome else None,
        interest_rate=outcome.interest_rate if outcome else None,
        credit_type=outcome.credit_type.value if outcome and outcome.credit_type else None,
        reason_codes=[c.value for c in outcome.reason_codes] if outcome else [],
        offer=state.offer,
        cooling_off_until=state.cooling_off_until,
        cooling_off_reason=state.cooling_off_reason,
        emotion_signals_seen=state.signals,
        last_emotion_event_id=state.last_event_id,
        model_version=score.model_version if score else None,
        policy_version=outcome.policy_version if outcome else None,
        updated_at=state.updated_at,
        review_error=state.review_error,
        review_due_at=state.review_due_at if state.status in REVIEW_QUEUE_STATUSES else None,
        escalated=state.escalated,
        proposal=state.proposal,
    )


def _terms(credit_limit: Decimal, interest_rate: Decimal, credit_type: str | None) -> str:
    kind = f" {credit_type.replace('_', '-').lower()}" if credit_type else ""
    return f"{credit_limit} at {interest_rate * 100:.2f}% a year{kind}"


def _offer_line(state: DecisionState, offer: OfferView) -> str:
    """The offer's terms and where it stands: open until its expiry, or how it ended."""
    terms = _terms(offer.credit_limit, offer.interest_rate, offer.credit_type)
    expiry = f"{offer.expires_at:%Y-%m-%d %H:%M} UTC"
    if state.status is DecisionStatus.EXPIRED:
        return f"**Offer:** {terms}, expired {expiry}"
    if state.settlement is not None:
        return f"**Offer:** {terms}, {state.settlement.lower()}"
    return f"**Offer:** {terms}, open until {expiry}"


def details_of(state: DecisionState) -> str:
    """The Markdown the Web UI shows on the workflow's page: the decision's story so far.

    Status, outcome and band, the offer's terms and expiry (or how it ended), reasons, pauses.
    No personal data: the Web UI shows it unencrypted, so no user id, features, score inputs,
    readings or free text from people (tests/unit/test_decision_summary.py).
    """
    lines = [f"**Status:** {state.status.value}"]
    if state.outcome is not None:
        o = state.outcome
        band = f", band {o.risk_band.value}" if o.risk_band else ""
        lines.append(f"**Outcome:** {o.decision.value}{band}")
        if state.offer is not None:
            lines.append(_offer_line(state, state.offer))
        elif o.decision is Decision.APPROVED:
            credit_type = o.credit_type.value if o.credit_type else None
            lines.append(f"**Terms:** {_terms(o.credit_limit, o.interest_rate, credit_type)}")
        if o.reason_codes:
            lines.append("**Reasons:** " + ", ".join(c.value for c in o.reason_codes))
    if state.review_error is not None:
        lines.append(f"**Last review refused:** {state.review_error}")
    if state.status in REVIEW_QUEUE_STATUSES and state.review_due_at is not None:
        overdue = " (**overdue**: analysts notified)" if state.escalated else ""
        lines.append(f"**Review due:** {state.review_due_at:%Y-%m-%d %H:%M} UTC{overdue}")
    if state.proposal is not None and state.status is DecisionStatus.CONFIRMING:
        lines.append("**Four-eyes:** approved by one analyst, waiting for a second")
    if state.status is DecisionStatus.DENIED and state.contest_open_until is not None:
        lines.append(f"**Contestable until:** {state.contest_open_until:%Y-%m-%d %H:%M} UTC")
    if state.cooling_off_until is not None:
        lines.append(f"**Cooling-off until:** {state.cooling_off_until:%Y-%m-%d %H:%M:%S} UTC")
    lines.append(f"**Emotion signals:** {state.signals}")
    if state.runs > 1:
        lines.append(f"**Runs:** {state.runs} (continued as new to keep history small)")
    return "\n\n".join(lines)
