"""All I/O the workflows need."""

from collections.abc import Callable
from typing import Any

from ecs.settings import Settings


def build_activities(settings: Settings) -> list[Callable[..., Any]]:
    return []
