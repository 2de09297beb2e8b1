"""``RiskModel`` backed by a remote model server over HTTP.

Every failure mode (connection refused, timeout, 5xx, a body that is not a ``RiskScore``) becomes
``ModelUnavailable`` so the caller has exactly one thing to handle: refer the decision. Calls go
through a circuit breaker so a dead server costs microseconds, not a timeout, per decision.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

import httpx
from pydantic import ValidationError

from ecs.domain.features import Features
from ecs.risk.breaker import CircuitBreaker
from ecs.risk.model import ModelUnavailable, RiskModel, RiskScore


class HttpRiskModel(RiskModel):
    """POSTs the features as JSON to ``{base_url}/v1/predict`` and parses a ``RiskScore``."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 2.0,
        breaker: CircuitBreaker | None = None,
        client: httpx.AsyncClient | None = None,
        name: str = "http",
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.breaker = breaker if breaker is not None else CircuitBreaker()
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout)
        self._timeout = timeout

    async def predict(self, features: Features) -> RiskScore:
        return await self.breaker.call(lambda: self._post(features))

    async def _post(self, features: Features) -> RiskScore:
        try:
            response = await self._client.post(
                f"{self.base_url}/v1/predict",
                json=features.model_dump(mode="json"),
                timeout=self._timeout,
            )
            response.raise_for_status()
            return RiskScore.model_validate_json(response.content)
        except httpx.HTTPStatusError as exc:
            raise ModelUnavailable(f"model server answered {exc.response.status_code}") from exc
        except httpx.HTTPError as exc:
            raise ModelUnavailable(f"model server unreachable: {exc!r}") from exc
        except ValidationError as exc:
            raise ModelUnavailable("model server returned an invalid RiskScore") from exc

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
