"""The simulator's live progress line and its counters.

On a terminal one line is rewritten in place every second (readings/s, decisions, outcomes); when
the output is piped, a plain line is printed every ``PIPED_EVERY_SECONDS`` so logs stay short.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

PIPED_EVERY_SECONDS = 5.0


@dataclass
class Counters:
    """What the simulation did so far; every task updates it, the progress line reads it."""

    phase: str = "starting"
    users: int = 0
    transactions: int = 0
    sent: int = 0
    accepted: int = 0
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    decisions_requested: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # decision id's latest status, counted
    offers_accepted: int = 0
    offers_declined: int = 0
    paused: set[str] = field(default_factory=set)  # decisions seen in COOLING_OFF

    def line(self, rate: float) -> str:
        outcomes = " ".join(f"{k.lower()} {v}" for k, v in sorted(self.outcomes.items()))
        return (
            f"[{self.phase}] users {self.users} · readings {self.sent:,} ({rate:,.0f}/s) · "
            f"decisions {self.decisions_requested}: {outcomes or 'none yet'} · "
            f"cooling-off seen {len(self.paused)} · accepted {self.offers_accepted}"
        )


async def show_progress(counters: Counters, out: TextIO = sys.stdout) -> None:
    """Run until cancelled; leaves the cursor on a fresh line."""
    tty = out.isatty()
    every = 1.0 if tty else PIPED_EVERY_SECONDS
    last_sent, last_time = counters.sent, time.monotonic()
    try:
        while True:
            await asyncio.sleep(every)
            now = time.monotonic()
            rate = (counters.sent - last_sent) / max(now - last_time, 1e-9)
            last_sent, last_time = counters.sent, now
            text = counters.line(rate)
            out.write(f"\r\x1b[2K{text}" if tty else text + "\n")
            out.flush()
    finally:
        if tty:
            out.write("\n")
            out.flush()
