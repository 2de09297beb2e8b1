"""HTTP authentication: the bearer scheme, the ``current_user`` dependency, role checks.

Tokens and passwords are ``ecs.accounts`` business (``tokens``, ``passwords``); this module only
reads the ``Authorization`` header, refuses tokens of erased accounts and checks roles. Every
refusal is a domain error, so ``api/problems.py`` answers 401 with ``WWW-Authenticate: Bearer``
(or 403) in one place.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header
from fastapi.security import OAuth2PasswordBearer

from api.deps import ResourcesDep
from ecs.accounts.tokens import AuthenticatedUser

# Re-exported for the modules that import them from here (the ingest route, the codec endpoint,
# the ingest tests and the benchmarks); new code imports them from ecs.accounts.tokens.
from ecs.accounts.tokens import create_access_token as create_access_token
from ecs.accounts.tokens import decode_token as decode_token
from ecs.domain.status import Role
from ecs.errors import Forbidden, NotAuthenticated
from ecs.logs import user_id_var
from ecs.settings import Settings

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)


async def current_user(
    resources: ResourcesDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> AuthenticatedUser:
    """Async on purpose: the user id set here must reach the request's access-log context."""
    settings = resources.settings
    if not token:
        raise NotAuthenticated("Authentication required: send 'Authorization: Bearer <token>'.")
    user = decode_token(token, settings)
    if not await resources.caches.accounts.usable(user.id):
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
