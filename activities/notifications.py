"""Push delivery: the one part of notification that lives outside ECS.

The app reads its inbox from the ``notifications`` table (the system of record); a push provider
(APNs/FCM in production) only nudges the phone. The provider is an interface so tests and the
embedded stack use a recording fake, while the inbox write stays real.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger("ecs.notify")


@dataclass(frozen=True)
class PushMessage:
    user_id: str
    title: str
    body: str
    dedup_key: str


class PushProvider(Protocol):
    def send(self, message: PushMessage) -> None: ...


@dataclass
class LoggingPushProvider:
    """Stands in for APNs/FCM: logs the push (without the body, which may be sensitive)."""

    sent: list[PushMessage] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, message: PushMessage) -> None:
        with self._lock:
            self.sent.append(message)
            del self.sent[:-1000]
        log.info(
            "push sent",
            extra={"user_id": message.user_id, "dedup_key": message.dedup_key},
        )
