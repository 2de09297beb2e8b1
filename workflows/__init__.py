"""Deterministic workflow code only: no I/O, no clocks, no heavy imports."""

from workflows.credit_decision import CreditDecisionWorkflow
from workflows.proactive import ProactiveOffersWorkflow

WORKFLOWS: list[type] = [CreditDecisionWorkflow, ProactiveOffersWorkflow]

__all__ = ["WORKFLOWS", "CreditDecisionWorkflow", "ProactiveOffersWorkflow"]
