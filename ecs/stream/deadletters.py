"""Inspect and replay the dead-letter stream (``<stream>:dead``).

Entries land there with their original fields plus ``dlq_*`` fields saying why. Once the cause
is fixed (a missing user created, a bug deployed), an operator replays them into the main
stream: the consumer processes them as new entries, and readings already stored are no-ops
(event ids are primary keys), so replaying twice is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

DLQ_PREFIX = b"dlq_"


def dead_letter_stream(stream: str) -> str:
    """Where the consumer puts what it cannot store: ``<stream>:dead``."""
    return f"{stream}:dead"


@dataclass(frozen=True)
class DeadLetter:
    id: bytes
    error: str
    source_id: str
    fields: dict[bytes, bytes]  # the original entry, ready to be appended again


def _parse(entry_id: bytes, fields: dict[bytes, bytes]) -> DeadLetter:
    original = {k: v for k, v in fields.items() if not k.startswith(DLQ_PREFIX)}
    return DeadLetter(
        id=entry_id,
        error=fields.get(b"dlq_error", b"").decode(errors="replace"),
        source_id=fields.get(b"dlq_source_id", b"").decode(errors="replace"),
        fields=original,
    )


async def list_dead_letters(
    redis: aioredis.Redis, stream: str, count: int = 100
) -> list[DeadLetter]:
    # redis-py types replies as a union of every RESP shape; with bytes responses it is this:
    entries: list[tuple[bytes, dict[bytes, bytes]]] = await redis.xrange(  # type: ignore[assignment]
        dead_letter_stream(stream), count=count
    )
    return [_parse(entry_id, fields) for entry_id, fields in entries]


async def replay_dead_letters(
    redis: aioredis.Redis, stream: str, ids: list[bytes] | None = None
) -> int:
    """Append dead letters (all, or the given ids) to ``stream`` again and remove them.

    Each entry is appended, and only once Redis has it, deleted, so a crash never loses one; at
    worst an entry is appended twice, which the consumer's event-id deduplication absorbs. (Two
    commands, not MULTI/EXEC: on a Redis Cluster the unsharded ``emotions`` and
    ``emotions:dead`` live in different slots, and a transaction cannot span slots.)
    """
    dead = dead_letter_stream(stream)
    replayed = 0
    while True:
        letters = await list_dead_letters(redis, stream, count=500)
        if ids is not None:
            wanted = set(ids)
            letters = [letter for letter in letters if letter.id in wanted]
        if not letters:
            return replayed
        for letter in letters:
            await redis.xadd(stream, letter.fields)  # type: ignore[arg-type]
            await redis.xdel(dead, letter.id)
            replayed += 1
        if ids is not None:
            return replayed
