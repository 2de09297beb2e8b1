"""Search attributes: workflow state only, never personal or emotional data (unencrypted)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

CREDIT_STATUS = SearchAttributeKey.for_keyword("CreditStatus")
RISK_BAND = SearchAttributeKey.for_keyword("RiskBand")
ALL = (CREDIT_STATUS, RISK_BAND)
