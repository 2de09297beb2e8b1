"""Stream housekeeping: trimming that never removes unacknowledged work, and stale consumers.

XTRIM MINID is set to the oldest entry any consumer group still needs: for each group its oldest
pending entry if it has one, otherwise its last-delivered id (everything after it is
undelivered). Entries below the minimum over all groups are done everywhere, so a second group
that has read nothing holds the whole stream back, as it should.
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis

log = logging.getLogger("ecs.stream")

STALE_CONSUMER_MS = 3_600_000


def _parse_id(value: bytes | str) -> tuple[int, int]:
    text = value.decode() if isinstance(value, bytes) else value
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


async def safe_trim_id(redis: aioredis.Redis, stream: str) -> bytes | None:
    """The lowest id any consumer group still needs, or ``None`` when there is no group."""
    groups = await redis.xinfo_groups(stream)
    if not groups:
        return None
    needed: list[tuple[int, int]] = []
    for group in groups:
        name = group["name"]
        last = _parse_id(group["last-delivered-id"])
        if group["pending"]:
            summary = await redis.xpending(stream, name)
            if summary["pending"] and summary["min"] is not None:
                last = min(last, _parse_id(summary["min"]))
        needed.append(last)
    ms, seq = min(needed)
    return f"{ms}-{seq}".encode()


async def trim_stream(redis: aioredis.Redis, stream: str) -> int:
    """XTRIM MINID below the oldest entry still needed; returns how many entries were removed."""
    minid = await safe_trim_id(redis, stream)
    if minid is None or minid == b"0-0":
        return 0
    removed = int(await redis.xtrim(stream, minid=minid, approximate=False))
    if removed:
        log.info(
            "stream trimmed", extra={"stream": stream, "minid": minid.decode(), "removed": removed}
        )
    return removed


async def forget_stale_consumers(
    redis: aioredis.Redis, stream: str, group: str, *, keep: str
) -> None:
    """Consumer names are host-pid, so every restart leaves a name behind; drop those (other
    than ``keep``) that hold nothing and have been idle for an hour, keeping XINFO readable."""
    for info in await redis.xinfo_consumers(stream, group):
        name = info["name"]
        name = name.decode() if isinstance(name, bytes) else str(name)
        if name != keep and info["pending"] == 0 and info["idle"] > STALE_CONSUMER_MS:
            await redis.xgroup_delconsumer(stream, group, name)
