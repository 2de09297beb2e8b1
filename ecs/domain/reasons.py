"""Stable reason codes attached to every decision.

Codes are stored with the decision and shown to the user and to reviewers, so their string
values are a public contract: add new codes, never rename or reuse old ones.
"""

from __future__ import annotations

from enum import StrEnum


class ReasonCode(StrEnum):
    """Why a decision came out the way it did (adverse first, favourable ones are marked)."""

    # Knock-outs
    ACCOUNT_TOO_NEW = "ACCOUNT_TOO_NEW"
    NO_RECENT_INFLOW = "NO_RECENT_INFLOW"
    EXPOSURE_TOO_HIGH = "EXPOSURE_TOO_HIGH"
    # Adverse model factors
    LOW_NET_CASH_FLOW = "LOW_NET_CASH_FLOW"
    DECLINING_RECENT_CASH_FLOW = "DECLINING_RECENT_CASH_FLOW"
    LOW_INCOME = "LOW_INCOME"
    HIGH_CASH_FLOW_VOLATILITY = "HIGH_CASH_FLOW_VOLATILITY"
    SHORT_ACCOUNT_HISTORY = "SHORT_ACCOUNT_HISTORY"
    HIGH_EXISTING_EXPOSURE = "HIGH_EXISTING_EXPOSURE"
    FEW_TRANSACTIONS = "FEW_TRANSACTIONS"
    RISK_SCORE_TOO_HIGH = "RISK_SCORE_TOO_HIGH"
    INSUFFICIENT_CAPACITY = "INSUFFICIENT_CAPACITY"
    # Emotional caution (limit only, never rate or approval)
    RECENT_EMOTIONAL_DISTRESS = "RECENT_EMOTIONAL_DISTRESS"
    RISING_STRESS_TREND = "RISING_STRESS_TREND"
    ELEVATED_STRESS = "ELEVATED_STRESS"
    # Process
    MODEL_UNAVAILABLE = "MODEL_UNAVAILABLE"
    MANUAL_REVIEW = "MANUAL_REVIEW"
    # Favourable
    STRONG_CASH_FLOW = "STRONG_CASH_FLOW"
    STABLE_CASH_FLOW = "STABLE_CASH_FLOW"
    ESTABLISHED_ACCOUNT = "ESTABLISHED_ACCOUNT"
    LOW_EXISTING_EXPOSURE = "LOW_EXISTING_EXPOSURE"
    ACTIVE_ACCOUNT = "ACTIVE_ACCOUNT"
    LOW_RISK_SCORE = "LOW_RISK_SCORE"


_DESCRIPTIONS: dict[ReasonCode, str] = {
    ReasonCode.ACCOUNT_TOO_NEW: "The account is too new for an automated credit decision.",
    ReasonCode.NO_RECENT_INFLOW: "No incoming money was recorded in the last 90 days.",
    ReasonCode.EXPOSURE_TOO_HIGH: "Existing credit is already high relative to income.",
    ReasonCode.LOW_NET_CASH_FLOW: "Spending is high relative to income over the last 90 days.",
    ReasonCode.DECLINING_RECENT_CASH_FLOW: "Net cash flow in the last 30 days is weak.",
    ReasonCode.LOW_INCOME: "Incoming money is low relative to the amounts we lend.",
    ReasonCode.HIGH_CASH_FLOW_VOLATILITY: "Monthly net cash flow varies a lot.",
    ReasonCode.SHORT_ACCOUNT_HISTORY: "The account history is short.",
    ReasonCode.HIGH_EXISTING_EXPOSURE: "Existing credit reduces the amount we can offer.",
    ReasonCode.FEW_TRANSACTIONS: "There are few transactions to assess.",
    ReasonCode.RISK_SCORE_TOO_HIGH: "The overall credit-risk assessment is too high.",
    ReasonCode.INSUFFICIENT_CAPACITY: "Income minus existing credit leaves too little room.",
    ReasonCode.RECENT_EMOTIONAL_DISTRESS: (
        "Recent signs of distress: we offered a more careful limit (the rate is unaffected)."
    ),
    ReasonCode.RISING_STRESS_TREND: (
        "Stress has been rising: we offered a more careful limit (the rate is unaffected)."
    ),
    ReasonCode.ELEVATED_STRESS: (
        "Stress is currently high: we offered a more careful limit (the rate is unaffected)."
    ),
    ReasonCode.MODEL_UNAVAILABLE: "The risk model was unavailable; a person will review this.",
    ReasonCode.MANUAL_REVIEW: "The request was referred to manual review.",
    ReasonCode.STRONG_CASH_FLOW: "Income comfortably exceeds spending.",
    ReasonCode.STABLE_CASH_FLOW: "Monthly cash flow is stable.",
    ReasonCode.ESTABLISHED_ACCOUNT: "The account has a long history.",
    ReasonCode.LOW_EXISTING_EXPOSURE: "Little existing credit.",
    ReasonCode.ACTIVE_ACCOUNT: "The account is regularly used.",
    ReasonCode.LOW_RISK_SCORE: "The overall credit-risk assessment is acceptable.",
}


def describe(code: ReasonCode | str) -> str:
    """Human-readable text for a code; raises ``ValueError`` for unknown codes so typos in stored
    data surface instead of rendering blank explanations."""
    return _DESCRIPTIONS[ReasonCode(code)]


ADVERSE_REASON_BY_FACTOR: dict[str, ReasonCode] = {
    "net_cash_flow_90d": ReasonCode.LOW_NET_CASH_FLOW,
    "net_cash_flow_30d": ReasonCode.DECLINING_RECENT_CASH_FLOW,
    "inflow_90d": ReasonCode.LOW_INCOME,
    "monthly_net_volatility_90d": ReasonCode.HIGH_CASH_FLOW_VOLATILITY,
    "account_age_days": ReasonCode.SHORT_ACCOUNT_HISTORY,
    "credit_exposure": ReasonCode.HIGH_EXISTING_EXPOSURE,
    "tx_count_90d": ReasonCode.FEW_TRANSACTIONS,
    "stress_events_30d": ReasonCode.RECENT_EMOTIONAL_DISTRESS,
    "stress_trend": ReasonCode.RISING_STRESS_TREND,
    "latest_stress": ReasonCode.ELEVATED_STRESS,
}
"""Contribution key (a feature name) -> code used when that factor pushed risk up."""

FAVOURABLE_REASON_BY_FACTOR: dict[str, ReasonCode] = {
    "net_cash_flow_90d": ReasonCode.STRONG_CASH_FLOW,
    "monthly_net_volatility_90d": ReasonCode.STABLE_CASH_FLOW,
    "account_age_days": ReasonCode.ESTABLISHED_ACCOUNT,
    "credit_exposure": ReasonCode.LOW_EXISTING_EXPOSURE,
    "tx_count_90d": ReasonCode.ACTIVE_ACCOUNT,
}
"""Contribution key -> code used when that factor pulled risk down (emotions never appear)."""
