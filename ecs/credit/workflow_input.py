"""What a credit decision's workflow is started with: its input and its start options.

The workflow never reads settings (determinism), so everything it needs from them is copied
into its input here, once per decision. The start options are the same for a plain start and
for update-with-start: a business-key id, ``USE_EXISTING`` while it runs and
``REJECT_DUPLICATE`` once it closed, which is what makes starting twice harmless.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from ecs.contracts import DecisionInput
from ecs.db.tables import CreditDecision
from ecs.domain.emotions import CoolingOff
from ecs.domain.review import ReviewRules
from ecs.domain.status import DecisionStatus
from ecs.settings import Settings
from ecs.temporal.search import CREDIT_STATUS


def decision_input(decision: CreditDecision, settings: Settings) -> DecisionInput:
    """Thresholds are copied into the input: the workflow never reads settings (determinism)."""
    return DecisionInput(
        decision_id=str(decision.id),
        user_id=str(decision.user_id),
        offer_ttl_seconds=settings.offer_ttl_seconds,
        cooling_off=CoolingOff.from_settings(settings),
        review_rules=ReviewRules.from_settings(settings),
    )


def static_summary(decision: CreditDecision, settings: Settings) -> str:
    """The Web UI list's one line: what this is, when it was asked, how long an offer lasts.

    The id is already the list's first column; the live story (status, band, outcome, the
    offer's terms and expiry) is the workflow's current details (``workflows.summary``).
    """
    ttl = timedelta(seconds=settings.offer_ttl_seconds)
    valid = f"{ttl.days} d" if ttl.days and not ttl.seconds else f"{ttl.total_seconds() / 3600:g} h"
    return (
        f"Credit decision, requested {decision.requested_at:%Y-%m-%d %H:%M} UTC; "
        f"an offer is valid {valid}"
    )


def start_options(decision: CreditDecision, settings: Settings) -> dict[str, Any]:
    """How every decision workflow is started (plain start or update-with-start alike)."""
    return {
        "id": decision.workflow_id,
        "task_queue": settings.temporal_task_queue,
        "id_conflict_policy": WorkflowIDConflictPolicy.USE_EXISTING,
        "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
        # What an operator sees first in the Web UI; no personal data (it is not encrypted).
        "static_summary": static_summary(decision, settings),
        "static_details": (
            "Fetch history → score → apply policy → offer → accept / decline / expiry. "
            "Query `status` for the live state; signal `emotion` with plain JSON."
        ),
        "search_attributes": TypedSearchAttributes(
            [SearchAttributePair(CREDIT_STATUS, DecisionStatus.PENDING.value)]
        ),
    }
