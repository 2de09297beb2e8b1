"""Poison-entry isolation: one bad entry or reading is dead-lettered, the rest of its batch kept.

The consumer writes a batch in one transaction. When the database refuses it for a reason that
retrying cannot fix (a constraint or value error), this module finds the culprit: the batch is
retried entry by entry, then the readings of a failing entry one by one, so only the readings the
database refuses go to ``<stream>:dead``. Entries that cannot even be decoded, or that were
delivered more than ``stream_max_deliveries`` times, are set aside before any write (``triage``).

Dead letters are appended *before* the batch is acknowledged (``dead_letter_and_ack``): a crash
between the two can only duplicate a dead letter, never lose one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from ecs.stream.messages import PoisonEntry, StreamReading, decode_entry, encode_entry
from ecs.stream.store import PersistResult

log = logging.getLogger("ecs.stream")

Persist = Callable[[Sequence[StreamReading]], Awaitable[PersistResult | None]]
"""Writes readings in one transaction, retrying transient errors; ``None``: stopped first.
Raises when the database refuses the data itself (``is_permanent``)."""


def is_permanent(exc: BaseException) -> bool:
    """Errors that retrying the same data cannot fix (constraint or value errors).

    Everything else (lost connection, deadlock, locked SQLite file, even a missing table while a
    migration is pending) is treated as transient: the batch is held and retried, never
    dead-lettered, because the data is fine and the database is not.
    """
    if isinstance(exc, PoisonEntry | IntegrityError | DataError):
        return True
    return isinstance(exc, StatementError) and not isinstance(exc, DBAPIError)


@dataclass
class Entry:
    id: bytes
    fields: dict[bytes, bytes] | None  # None: deleted from the stream while pending
    deliveries: int = 1
    readings: list[StreamReading] = field(default_factory=list)


@dataclass
class DeadLetter:
    entry: Entry
    error: str
    index: int | None = None  # the reading's position inside the entry, when only it failed
    reading: StreamReading | None = None

    def fields(self, consumer: str) -> dict[bytes, bytes | str | int]:
        original: dict[bytes, bytes] = dict(self.entry.fields or {})
        if self.reading is not None:
            original = encode_entry([self.reading])
        out: dict[bytes, bytes | str | int] = dict(original)
        out[b"dlq_error"] = self.error[:2000]
        out[b"dlq_source_id"] = self.entry.id
        out[b"dlq_consumer"] = consumer
        out[b"dlq_deliveries"] = self.entry.deliveries
        out[b"dlq_at"] = str(time.time())
        if self.index is not None:
            out[b"dlq_index"] = self.index
        return out


def triage(entries: list[Entry], max_deliveries: int) -> tuple[list[Entry], list[DeadLetter]]:
    """Decode each entry: (entries to write, dead letters). Deleted entries are in neither:
    there is nothing to store, they are only acknowledged."""
    live: list[Entry] = []
    dead: list[DeadLetter] = []
    for entry in entries:
        if not entry.fields:
            continue
        if entry.deliveries > max_deliveries:
            dead.append(DeadLetter(entry, f"delivered {entry.deliveries} times without success"))
            continue
        try:
            entry.readings = decode_entry(entry.fields)
            live.append(entry)
        except PoisonEntry as exc:
            dead.append(DeadLetter(entry, f"poison: {exc}"))
    return live, dead


async def persist_isolating(
    persist: Persist, live: list[Entry], dead: list[DeadLetter]
) -> tuple[list[StreamReading], list[PersistResult]] | None:
    """The whole batch in one transaction; on a permanent error, entry by entry, then reading
    by reading, appending to ``dead`` only the readings the database refuses.

    Returns the readings stored and the results of their writes, or ``None`` when ``persist``
    stopped before succeeding (the batch must then stay pending, unacknowledged).
    """
    everything = [r for e in live for r in e.readings]
    if not everything:
        return [], []
    try:
        result = await persist(everything)
        return None if result is None else (everything, [result])
    except Exception as exc:
        log.warning(
            "batch refused by the database; isolating",
            extra={"error": f"{type(exc).__name__}: {exc}"[:500], "entries": len(live)},
        )
    ok: list[StreamReading] = []
    results: list[PersistResult] = []
    for entry in live:
        try:
            result = await persist(entry.readings)
            if result is None:
                return None
            ok.extend(entry.readings)
            results.append(result)
            continue
        except Exception as exc:
            if len(entry.readings) == 1:
                dead.append(DeadLetter(entry, describe(exc)))
                continue
        for index, reading in enumerate(entry.readings):
            try:
                result = await persist([reading])
                if result is None:
                    return None
                ok.append(reading)
                results.append(result)
            except Exception as exc:
                dead.append(DeadLetter(entry, describe(exc), index=index, reading=reading))
    return ok, results


async def dead_letter_and_ack(
    redis: aioredis.Redis,
    *,
    stream: str,
    group: str,
    dead_stream: str,
    consumer: str,
    entries: list[Entry],
    dead: list[DeadLetter],
) -> None:
    """Append the dead letters, in order, then XACK every entry of the batch."""
    if dead:
        async with redis.pipeline(transaction=False) as pipe:
            for letter in dead:
                pipe.xadd(dead_stream, letter.fields(consumer))  # type: ignore[arg-type]
            await pipe.execute()
        for letter in dead:
            log.error(
                "entry dead-lettered",
                extra={
                    "entry_id": letter.entry.id.decode(),
                    "index": letter.index,
                    "error": letter.error[:500],
                    "dead_stream": dead_stream,
                },
            )
    await redis.xack(stream, group, *[e.id for e in entries])


def describe(exc: BaseException) -> str:
    """The error as a dead letter records it: the driver's own message when there is one."""
    orig = getattr(exc, "orig", None)
    detail = str(orig) if orig is not None else str(exc)
    return f"{type(exc).__name__}: {detail}".strip()
