"""What the credit workflow may call: each activity's name, input and result, declared once.

The workflow calls these declarations (``workflow.execute_activity_method(Offers.settle_offer,
...)``), so mypy checks every call's argument and result type and no activity name is a string
literal. Each activity's name on the wire is its method name (``fetch_history``, ``score``,
``approve``, ``record_status``, ``settle_offer``, ``deploy_credit``, ``accept_and_deploy``,
``notify``), which the CLI, the Web UI and the committed replay histories use.

The implementations (``activities.history`` …) subclass these classes and the test fakes do too,
so a fake cannot drift from the real signature. This module imports only temporalio and the
message types: the workflow sandbox imports it, and it must not drag in the database.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from temporalio import activity

from activities.messages import (
    ApprovalResult,
    ApproveInput,
    ContestInput,
    DeployInput,
    DeployResult,
    EscalateInput,
    FetchHistoryInput,
    HistorySnapshot,
    NotifyInput,
    ReviewStepInput,
    SettleInput,
    StatusInput,
)
from ecs.domain.features import Features
from ecs.risk.model import RiskScore

NOT_FOUND = "NotFound"
OFFER_NOT_ACCEPTED = "OfferNotAccepted"
INVALID_REVIEW = "InvalidReview"
OTHER_DECISION_OPEN = "OtherDecisionOpen"
"""Non-retryable error types the activities raise and the workflow handles by name."""


class History(ABC):
    @activity.defn
    @abstractmethod
    def fetch_history(self, inp: FetchHistoryInput) -> HistorySnapshot:
        """The user's history reduced to features (raw rows never enter workflow history)."""


class Decisions(ABC):
    @activity.defn
    @abstractmethod
    async def score(self, features: Features) -> RiskScore:
        """The model's score; retryable while the model is unavailable."""

    @activity.defn
    @abstractmethod
    def approve(self, inp: ApproveInput) -> ApprovalResult:
        """Apply the policy (or an analyst's review); persist record, offer and status."""


class Status(ABC):
    @activity.defn
    @abstractmethod
    def record_status(self, inp: StatusInput) -> None:
        """Mirror the workflow's status into the decision header."""


class Offers(ABC):
    @activity.defn
    @abstractmethod
    def settle_offer(self, inp: SettleInput) -> None:
        """OPEN → ACCEPTED / DECLINED / EXPIRED, once."""

    @activity.defn
    @abstractmethod
    def deploy_credit(self, inp: DeployInput) -> DeployResult:
        """Change the account exactly once per accepted offer."""

    @activity.defn
    @abstractmethod
    def accept_and_deploy(self, inp: DeployInput) -> DeployResult:
        """Settle the offer as ACCEPTED and deploy it, in one transaction, exactly once."""


class Reviews(ABC):
    @activity.defn
    @abstractmethod
    def open_contest(self, inp: ContestInput) -> None:
        """CONTEST record, status CONTESTED and the deadline; refused while another is open."""

    @activity.defn
    @abstractmethod
    def record_review_step(self, inp: ReviewStepInput) -> None:
        """A four-eyes proposal (its analyst checked) or a rejection, and the status it leaves."""

    @activity.defn
    @abstractmethod
    def escalate_review(self, inp: EscalateInput) -> None:
        """Flag an overdue review (ESCALATION record, ``escalated_at``) and tell every analyst."""


class Notifications(ABC):
    @activity.defn
    @abstractmethod
    def notify(self, inp: NotifyInput) -> None:
        """One inbox row per (decision, kind), then a push."""
