"""Domain errors: what the application layer raises when a rule refuses a request.

Services in ``ecs/`` never speak HTTP. They raise one of these, and ``api/problems.py`` maps each
class to a status and an RFC 9457 problem body in one table; the CLI prints the same errors as
messages. ``code`` is the stable slug of the problem ``type`` URI, so clients can branch on it
whatever the wording of ``detail``.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class; subclasses say which kind of refusal it is (the HTTP mapping keys on it)."""

    default_code = "error"
    default_title = "Request refused"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        title: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.title = title or self.default_title
        self.extra = extra


class InvalidInput(DomainError):
    """The request is well-formed but breaks a rule (a date in the future, a bad comment)."""

    default_code = "invalid-input"
    default_title = "Invalid input"


class NotAuthenticated(DomainError):
    """No valid credentials (wrong password, erased account, expired token)."""

    default_code = "unauthorized"
    default_title = "Unauthorized"


class Forbidden(DomainError):
    """Authenticated, but this caller may not do this."""

    default_code = "forbidden"
    default_title = "Forbidden"


class NotFound(DomainError):
    """The resource does not exist for this caller (another user's resources are not found)."""

    default_code = "not-found"
    default_title = "Not Found"


class Conflict(DomainError):
    """The resource's current state does not allow the request (an offer already settled)."""

    default_code = "conflict"
    default_title = "Conflict"


class RateLimited(DomainError):
    """Too many attempts; ``retry_after`` seconds until the next one may succeed."""

    default_code = "too-many-requests"
    default_title = "Too Many Requests"

    def __init__(self, detail: str, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A dependency (database, Temporal, Redis) is down; nothing was lost, retry later."""

    default_code = "service-unavailable"
    default_title = "Service Unavailable"

    def __init__(self, detail: str, *, retry_after: int = 5, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after
