"""A small model server so the model can run (and be replaced) as its own process.

``ecs model-server`` runs ``create_app()`` under uvicorn; ``HttpRiskModel`` is its client. The
server is stateless, so any number of replicas can sit behind a load balancer.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from ecs.domain.features import Features
from ecs.risk.model import ModelUnavailable, RiskModel, RiskScore
from ecs.risk.scorecard import ScorecardModel


def create_app(model: RiskModel | None = None) -> FastAPI:
    """Build the app; ``model`` defaults to the deterministic scorecard."""
    risk_model: RiskModel = model if model is not None else ScorecardModel()
    app = FastAPI(title="ECS risk model", version="1")

    @app.post("/v1/predict", response_model=RiskScore)
    async def predict(features: Features) -> RiskScore | JSONResponse:
        try:
            return await risk_model.predict(features)
        except ModelUnavailable as exc:
            return JSONResponse(
                status_code=503,
                media_type="application/problem+json",
                content={
                    "type": "about:blank",
                    "title": "Model unavailable",
                    "status": 503,
                    "detail": str(exc),
                },
            )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {
            "status": "ok",
            "model_name": risk_model.name,
            "model_version": str(getattr(risk_model, "version", "unknown")),
        }

    return app
