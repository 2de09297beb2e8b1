"""Credit-risk model interface and implementations.

Kept import-free on purpose: ``ecs.risk.model`` is pulled into the workflow sandbox through the
policy, while ``http_client`` and ``server`` drag in httpx/FastAPI and must be imported explicitly.
"""
