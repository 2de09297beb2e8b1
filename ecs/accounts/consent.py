"""Consent to emotion processing (LGPD Art. 8 §5, Art. 18 IX).

Consent is the legal basis for processing emotions, so withdrawing it deletes the raw readings and
daily aggregates in the same transaction that clears the flag. The ingest endpoint refuses further
readings through its consent cache: immediately on the API instance that served the withdrawal,
within its TTL (10 s) on others. Readings accepted into the stream just before then may still be
stored by the stream consumer; ``ecs retention`` sweeps emotion rows of users without consent.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from ecs.accounts.rows import delete_emotions
from ecs.accounts.users import locked_account
from ecs.db.types import utcnow

log = logging.getLogger("ecs.accounts.consent")


@dataclass(frozen=True)
class ConsentState:
    emotion_processing: bool
    updated_at: datetime | None


def set_consent(engine: Engine, user_id: uuid.UUID, granted: bool) -> ConsentState:
    """Grant or withdraw consent to emotion processing (idempotent, like any PUT).

    The timestamp records when the current state began, so repeating the same answer keeps it.
    Withdrawal deletes the emotional data in the same transaction as the flag: without consent
    there is no legal basis to keep it. A repeated withdrawal deletes again, which also removes
    readings the stream stored after the first one.
    """
    with Session(engine, expire_on_commit=False) as session:
        user = locked_account(session, user_id)
        changed = user.consent_emotion_processing != granted
        if changed:
            user.consent_emotion_processing = granted
            user.consent_updated_at = utcnow()
            session.add(user)
            session.flush()
        events = daily = 0
        if not granted:
            events, daily = delete_emotions(session, user_id)
        session.commit()
    log.info(
        "emotion consent granted" if granted else "emotion consent withdrawn",
        extra={
            "user_id": str(user_id),
            "changed": changed,
            "deleted_readings": events,
            "deleted_daily": daily,
        },
    )
    return ConsentState(user.consent_emotion_processing, user.consent_updated_at)
