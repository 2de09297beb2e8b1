"""The customer's choice about unsolicited offers (``PUT /v1/me/proactive-offers``).

Opting out only stops ECS from starting decisions on its own (``eligibility`` reads the flag);
the customer can still ask for credit, and a decision already started runs its course (its offer
can simply be declined or left to expire).
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import Engine
from sqlmodel import Session

from ecs.accounts.users import active_account, locked_account

log = logging.getLogger("ecs.proactive")


def receives_offers(engine: Engine, user_id: uuid.UUID) -> bool:
    with Session(engine) as session:
        return not active_account(session, user_id).proactive_offers_opt_out


def set_receives_offers(engine: Engine, user_id: uuid.UUID, receive: bool) -> bool:
    """Idempotent, like any PUT; returns the state now in force."""
    with Session(engine) as session:
        user = locked_account(session, user_id)
        changed = user.proactive_offers_opt_out == receive
        user.proactive_offers_opt_out = not receive
        session.add(user)
        session.commit()
    if changed:
        log.info(
            "proactive offers turned " + ("on" if receive else "off"),
            extra={"user_id": str(user_id)},
        )
    return receive
