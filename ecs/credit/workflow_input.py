"""What a credit decision's workflow is started with: its input and its start options.

The workflow never reads settings (determinism), so everything it needs from them is copied
into its input here, once per decision. The start options are the same for a plain start and
for update-with-start: a business-key id, ``USE_EXISTING`` while it runs and
``REJECT_DUPLICATE`` once it closed, which is what makes starting twice harmless.
"""

from __future__ import annotations

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
    )


def start_options(decision: CreditDecision, settings: Settings) -> dict[str, Any]:
    """How every decision workflow is started (plain start or update-with-start alike)."""
    return {
        "id": decision.workflow_id,
        "task_queue": settings.temporal_task_queue,
        "id_conflict_policy": WorkflowIDConflictPolicy.USE_EXISTING,
        "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
        # What an operator sees first in the Web UI; no personal data (it is not encrypted).
        "static_summary": f"Credit decision {decision.id}",
        "static_details": (
            "Fetch history → score → apply policy → offer → accept / decline / expiry. "
            "Query `status` for the live state; signal `emotion` with plain JSON."
        ),
        "search_attributes": TypedSearchAttributes(
            [SearchAttributePair(CREDIT_STATUS, DecisionStatus.PENDING.value)]
        ),
    }
