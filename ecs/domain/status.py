"""Lifecycle states shared by the workflow, the database projection and the API."""

from __future__ import annotations

from enum import StrEnum


class DecisionStatus(StrEnum):
    PENDING = "PENDING"  # fetching history / scoring
    COOLING_OFF = "COOLING_OFF"  # paused: the user is in acute distress
    REFERRED = "REFERRED"  # waiting for an analyst (model unavailable or policy referral)
    CONTESTED = "CONTESTED"  # the customer asked for human review; waiting for an analyst
    CONFIRMING = "CONFIRMING"  # approved above the four-eyes limit; a second analyst confirms
    OFFERED = "OFFERED"  # offer open, waiting for accept/decline/expiry
    ACCEPTED = "ACCEPTED"  # accepted, credit line being deployed
    ACTIVE = "ACTIVE"  # credit line deployed
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"
    DENIED = "DENIED"
    FAILED = "FAILED"  # the workflow ended abnormally (terminated by an operator, failed)


OPEN_DECISION_STATUSES: frozenset[DecisionStatus] = frozenset(
    {
        DecisionStatus.PENDING,
        DecisionStatus.COOLING_OFF,
        DecisionStatus.REFERRED,
        DecisionStatus.CONTESTED,
        DecisionStatus.CONFIRMING,
        DecisionStatus.OFFERED,
        DecisionStatus.ACCEPTED,
    }
)

# In enum order, for SQL text that must not change from one process to the next (a frozenset's
# iteration order does): the partial unique index "one open decision per user".
OPEN_DECISION_SQL = "status IN ({})".format(
    ", ".join(f"'{s.value}'" for s in DecisionStatus if s in OPEN_DECISION_STATUSES)
)


class OfferStatus(StrEnum):
    OPEN = "OPEN"
    ACCEPTED = "ACCEPTED"
    DEPLOYED = "DEPLOYED"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"


class Role(StrEnum):
    CUSTOMER = "customer"
    ANALYST = "analyst"


class RecordKind(StrEnum):
    """Why an append-only decision record was written."""

    AUTOMATED = "AUTOMATED"  # the model and the policy decided
    REVIEW = "REVIEW"  # an analyst's outcome (of a referral or a contest), the one applied
    CONTEST = "CONTEST"  # the customer asked for human review, with their reason
    PROPOSAL = "PROPOSAL"  # an approval above the four-eyes limit, waiting for a second analyst
    CONFIRMATION = "CONFIRMATION"  # the second analyst's answer (CONFIRMED or REJECTED)
    ESCALATION = "ESCALATION"  # the review passed its deadline; analysts were told


OUTCOME_RECORD_KINDS: frozenset[RecordKind] = frozenset({RecordKind.AUTOMATED, RecordKind.REVIEW})
"""Records that decide (an outcome with terms); the other kinds are steps of a review."""

REVIEW_QUEUE_STATUSES: frozenset[DecisionStatus] = frozenset(
    {DecisionStatus.REFERRED, DecisionStatus.CONTESTED, DecisionStatus.CONFIRMING}
)
"""Decisions an analyst must act on: the review queue."""
