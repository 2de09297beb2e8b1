"""The k-anonymity rule at its edges: k - 1 users are suppressed, k are shown."""

from __future__ import annotations

from dataclasses import dataclass

from ecs.insights.anonymity import K_ANONYMITY, k_anonymous, publishable


@dataclass(frozen=True)
class Cohort:
    name: str
    users: int


def test_k_users_are_shown_and_k_minus_one_are_not() -> None:
    assert K_ANONYMITY == 5
    assert not publishable(0)
    assert not publishable(K_ANONYMITY - 1)
    assert publishable(K_ANONYMITY)
    assert publishable(K_ANONYMITY + 100)


def test_a_different_k_moves_the_edge() -> None:
    assert not publishable(9, k=10) and publishable(10, k=10)
    assert publishable(1, k=1)


def test_suppression_keeps_the_order_of_what_is_shown() -> None:
    groups = [Cohort("a", 7), Cohort("b", 4), Cohort("c", 5), Cohort("d", 0), Cohort("e", 9)]
    assert [g.name for g in k_anonymous(groups)] == ["a", "c", "e"]
    assert k_anonymous([]) == []
    assert [g.name for g in k_anonymous(groups, k=8)] == ["e"]
