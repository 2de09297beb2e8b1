"""The credit-line review's I/O: due lines, the policy's terms against the line's, the change rows.

``propose_terms`` applies ``ecs.domain.policy.decide`` (the decisions' own policy, with the
configured cooling-off rule) inside an activity, so the outcome is in the workflow's history and a
later policy version never changes how a running review replays.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from ecs.credit_lines import store
from ecs.credit_lines.contract import (
    ApplyResult,
    ChangeKind,
    CreditLines,
    DueInput,
    LineNotice,
    Proposal,
    ProposeInput,
    RecordInput,
)
from ecs.credit_lines.terms import compare
from ecs.db.tables import CreditAccount
from ecs.domain.emotions import CoolingOff
from ecs.domain.policy import decide
from ecs.logs import log_context
from ecs.notifications import inbox
from ecs.notifications.analysts import notify_analysts
from ecs.notifications.events import EventPublisher, InboxEvent
from ecs.settings import Settings

log = logging.getLogger("ecs.activities")
DAY_SECONDS = 86400.0


class CreditLineActivities(CreditLines):
    def __init__(
        self, engine: Engine, settings: Settings, events: EventPublisher | None = None
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.events = events

    @activity.defn
    def select_due_lines(self, inp: DueInput) -> list[str]:
        lines = store.due_lines(
            self.engine,
            datetime.now(UTC),
            timedelta(days=self.settings.reevaluation_interval_days),
            inp.limit or self.settings.reevaluation_max_per_run,
            None if inp.account_ids is None else [uuid.UUID(a) for a in inp.account_ids],
        )
        return [str(line) for line in lines]

    @activity.defn
    def propose_terms(self, inp: ProposeInput) -> Proposal | None:
        with log_context(workflow_id=activity.info().workflow_id, user_id=inp.account_id):
            with Session(self.engine) as session:
                account = session.get(CreditAccount, uuid.UUID(inp.account_id))
            if account is None:
                return None
            outcome = decide(inp.features, inp.score, CoolingOff.from_settings(self.settings))
            kind = compare(outcome, account.credit_limit, account.interest_rate)
            log.info("credit line re-scored", extra={"kind": kind.value})
            return Proposal(
                kind=kind,
                old_limit=account.credit_limit,
                new_limit=outcome.credit_limit,
                old_rate=account.interest_rate,
                new_rate=outcome.interest_rate,
                offer_id=str(account.offer_id),
                policy_version=outcome.policy_version,
                model_version=inp.score.model_version if inp.score else None,
                notice_seconds=self.settings.limit_decrease_notice_days * DAY_SECONDS,
                offer_seconds=self.settings.limit_increase_offer_days * DAY_SECONDS,
            )

    @activity.defn
    def record_change(self, inp: RecordInput) -> None:
        """The change row; a FLAGGED line (the policy would deny it now, and no automatic cut
        is made) is also put in front of every analyst, who decides what happens to it."""
        workflow_id = _workflow_id()
        store.record(self.engine, inp, workflow_id)
        if inp.kind is ChangeKind.FLAGGED:
            told = notify_analysts(
                self.engine,
                self.events,
                key=workflow_id,
                kind="credit_line_flagged",
                title="A credit line needs an analyst",
                body=f"The re-evaluation of line {inp.account_id} found the policy would deny "
                f"it now (limit {inp.proposal.old_limit}); it was not changed automatically.",
                data={"account_id": inp.account_id, "workflow_id": workflow_id},
            )
            log.warning("credit line flagged", extra={"analysts_notified": told})

    @activity.defn
    def apply_change(self, inp: RecordInput) -> ApplyResult:
        return store.apply(self.engine, inp, _workflow_id())

    @activity.defn
    def notify_line(self, inp: LineNotice) -> None:
        workflow_id = _workflow_id()
        with log_context(workflow_id=workflow_id, user_id=inp.account_id):
            row = inbox.append(
                self.engine,
                inbox.NewNotification(
                    user_id=uuid.UUID(inp.account_id),
                    dedup_key=f"{workflow_id}:{inp.kind}",
                    kind=inp.kind,
                    title=inp.title,
                    body=inp.body,
                    data=dict(inp.data),
                ),
            )
            if self.events is not None:
                self.events.publish(InboxEvent.of(row))


def _workflow_id() -> str:
    """The review's workflow id: the key every change row and notification is idempotent on."""
    workflow_id = activity.info().workflow_id
    assert workflow_id is not None, "credit-line activities run only inside a workflow"
    return workflow_id
