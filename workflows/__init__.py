"""Deterministic workflow code only: no I/O, no clocks, no heavy imports."""

from workflows.credit_decision import CreditDecisionWorkflow
from workflows.credit_line import CreditLineReviewWorkflow
from workflows.proactive import ProactiveOffersWorkflow

WORKFLOWS: list[type] = [CreditDecisionWorkflow, ProactiveOffersWorkflow, CreditLineReviewWorkflow]

__all__ = [
    "WORKFLOWS",
    "CreditDecisionWorkflow",
    "CreditLineReviewWorkflow",
    "ProactiveOffersWorkflow",
]
