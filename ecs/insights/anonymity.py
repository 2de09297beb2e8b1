"""k-anonymity: the one rule that decides whether an emotion aggregate may be published.

With one contributor, "average stress of the day" *is* that person's stress; with two, either can
subtract their own readings and learn the other's. Emotional data is sensitive personal data
(LGPD art. 11), and analysts need trends, not people, so aggregates over fewer than
``K_ANONYMITY`` distinct users are suppressed rather than shown. The daily trend and the 7-day
distress share both go through ``publishable``, so the threshold cannot drift between them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

K_ANONYMITY = 5
"""An aggregate is published only if at least this many distinct users contributed."""


class Group(Protocol):
    """Anything aggregated over a number of distinct users."""

    @property
    def users(self) -> int: ...


G = TypeVar("G", bound=Group)


def publishable(users: int, k: int = K_ANONYMITY) -> bool:
    """True when an aggregate over ``users`` distinct users may be shown."""
    return users >= k


def k_anonymous(groups: Iterable[G], k: int = K_ANONYMITY) -> list[G]:
    """The groups that may be shown, in their order; the others are suppressed."""
    return [g for g in groups if publishable(g.users, k)]
