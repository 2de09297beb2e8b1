"""HTTP authentication: the bearer scheme, the ``current_user`` dependency, role checks.

Tokens and passwords are ``ecs.accounts`` business (``tokens``, ``passwords``); this module only
reads the ``Authorization`` header, refuses tokens of erased accounts and checks roles. Every
refusal is a domain error, so ``api/problems.py`` answers 401 with ``WWW-Authenticate: Bearer``
(or 403) in one place.
"""

from __future__ import annotations

import asyncio
import hmac
import time
import uuid
from typing import Annotated

from fastapi import Depends, Header
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from api.deps import ResourcesDep
from api.resources import Resources
from ecs.accounts.tokens import AuthenticatedUser

# Re-exported for the modules that import them from here (the ingest route, the codec endpoint,
# the ingest tests and the benchmarks); new code imports them from ecs.accounts.tokens.
from ecs.accounts.tokens import create_access_token as create_access_token
from ecs.accounts.tokens import decode_token as decode_token
from ecs.db.tables import User
from ecs.domain.status import Role
from ecs.errors import Forbidden, NotAuthenticated
from ecs.logs import user_id_var
from ecs.settings import Settings

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)


ACCOUNT_CACHE_SECONDS = 10.0


async def _account_usable(resources: Resources, user_id: uuid.UUID) -> bool:
    """False once the account is erased, so a token issued before erasure stops working.

    Cached per API instance for ``ACCOUNT_CACHE_SECONDS``: one indexed lookup per user and
    interval instead of one per request.
    """
    now = time.monotonic()
    cached = resources.account_cache.get(user_id)
    if cached is not None and now - cached[0] < ACCOUNT_CACHE_SECONDS:
        return cached[1]

    def lookup() -> bool:
        with Session(resources.engine) as session:
            user = session.get(User, user_id)
            return user is not None and user.erased_at is None

    usable = await asyncio.to_thread(lookup)
    if len(resources.account_cache) > 100_000:
        resources.account_cache.clear()
    resources.account_cache[user_id] = (now, usable)
    return usable


async def current_user(
    resources: ResourcesDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> AuthenticatedUser:
    """Async on purpose: the user id set here must reach the request's access-log context."""
    settings = resources.settings
    if not token:
        raise NotAuthenticated("Authentication required: send 'Authorization: Bearer <token>'.")
    user = decode_token(token, settings)
    if not await _account_usable(resources, user.id):
        raise NotAuthenticated("This account no longer exists.")
    user_id_var.set(str(user.id))
    return user


CurrentUser = Annotated[AuthenticatedUser, Depends(current_user)]


async def require_analyst(user: CurrentUser) -> AuthenticatedUser:
    if user.role is not Role.ANALYST:
        raise Forbidden("This operation needs the analyst role.")
    return user


Analyst = Annotated[AuthenticatedUser, Depends(require_analyst)]


def api_key_matches(presented: str | None, settings: Settings) -> bool:
    """Constant-time comparison for service-to-service keys (the trusted ingest service)."""
    expected = settings.ingest_api_key.get_secret_value()
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())


IngestApiKey = Annotated[str | None, Header(alias="X-API-Key", include_in_schema=True)]
