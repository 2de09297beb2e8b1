"""What a decision shows: the ``status`` view, the Web UI summary and the texts sent to the app.

Pure functions of the workflow's ``DecisionState``, kept apart from the orchestration so the
workflow module reads as the process it is. Deterministic (no clock, no I/O): they run inside
the workflow sandbox and inside queries.
"""

from __future__ import annotations

from typing import NamedTuple

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from ecs.contracts import DecisionInput, DecisionState, DecisionView, OfferView
    from ecs.domain.policy import Decision


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
    )


def details_of(state: DecisionState) -> str:
    """The Markdown summary the Web UI shows on the workflow's page (no personal data)."""
    lines = [f"**Status:** {state.status.value}"]
    if state.outcome is not None:
        o = state.outcome
        lines.append(f"**Outcome:** {o.decision.value} (band {o.risk_band or '-'})")
        if o.decision is Decision.APPROVED:
            lines.append(f"**Terms:** {o.credit_limit} at {o.interest_rate} ({o.credit_type})")
        if o.reason_codes:
            lines.append("**Reasons:** " + ", ".join(c.value for c in o.reason_codes))
    if state.review_error is not None:
        lines.append(f"**Last review refused:** {state.review_error}")
    if state.cooling_off_until is not None:
        lines.append(f"**Cooling-off until:** {state.cooling_off_until.isoformat()}")
    lines.append(f"**Emotion signals:** {state.signals}")
    if state.runs > 1:
        lines.append(f"**Runs:** {state.runs} (continued as new to keep history small)")
    return "\n\n".join(lines)
