"""Search attributes: workflow state only, never personal or emotional data (unencrypted)."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

CREDIT_STATUS = SearchAttributeKey.for_keyword("CreditStatus")
RISK_BAND = SearchAttributeKey.for_keyword("RiskBand")
ALL = (CREDIT_STATUS, RISK_BAND)


async def register(client: Client, namespace: str) -> None:
    """Create the attributes on servers that start without them (time-skipping test server,
    a fresh cluster). Already-registered attributes are fine."""
    request = AddSearchAttributesRequest(
        namespace=namespace,
        search_attributes={key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for key in ALL},
    )
    try:
        await client.operator_service.add_search_attributes(request)
    except RPCError as exc:
        if exc.status is not RPCStatusCode.ALREADY_EXISTS:
            raise
