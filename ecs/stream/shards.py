"""Stream shards: which Redis key holds a user's readings.

One stream key lives on one Redis node, so one key caps ingest at what one node (one core) can
append. ``ECS_STREAM_SHARDS`` = N splits the stream into N keys, each a complete stream with its
own consumer group, pending list, dead letters and trimming; every guarantee of
``ecs.stream.consumer`` holds per key.

* **Key names.** N = 1 (the default) keeps today's single key, ``ECS_STREAM_NAME`` itself
  (``emotions``), so existing deployments, their pending entries and dead letters carry on with
  no migration. N > 1 names the keys ``emotions:{0}`` … ``emotions:{N-1}``: the braces are a Redis
  Cluster hash tag, so shard ``i``, its dead letters (``emotions:{i}:dead``) and nothing else share
  a slot, and the cluster spreads the shards over its nodes. (A single-key stream moved to N > 1
  is drained first: stop ingest, let the consumers empty ``emotions``, restart with N keys.)
* **A user always lands on the same shard**: CRC-32 of the user id's 16 bytes, modulo N. Stable
  across processes and machines (Python's ``hash`` is salted per process) and independent of how
  the UUIDs were generated (``uuid.int % N`` would put every time-based UUID of one host on one
  shard). One user on one key keeps that user's readings in stream order, and two shards never
  write the same daily aggregate rows, so their consumers can never deadlock on each other.
* Changing N moves users between keys; do it like the migration above (drain, then restart).
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")


def shard_of(user_id: uuid.UUID, shards: int) -> int:
    """The shard of ``user_id`` among ``shards`` (0 when there is one)."""
    if shards <= 1:
        return 0
    return zlib.crc32(user_id.bytes) % shards


def shard_key(stream: str, shard: int, shards: int) -> str:
    """The Redis key of ``shard``: the stream name itself when unsharded, else hash-tagged."""
    if not 0 <= shard < max(shards, 1):
        raise ValueError(f"shard {shard} outside 0..{shards - 1}")
    return stream if shards <= 1 else f"{stream}:{{{shard}}}"


def shard_keys(stream: str, shards: int, only: Iterable[int] | None = None) -> list[str]:
    """Every shard's key in shard order (or just those in ``only``)."""
    chosen = range(max(shards, 1)) if only is None else sorted(set(only))
    return [shard_key(stream, shard, shards) for shard in chosen]


def split_by_shard(
    items: Sequence[T], shards: int, user_of: Callable[[T], uuid.UUID]
) -> dict[int, list[T]]:
    """``items`` grouped by their user's shard, each group in its original order."""
    if shards <= 1:
        return {0: list(items)} if items else {}
    groups: dict[int, list[T]] = {}
    for item in items:
        groups.setdefault(shard_of(user_of(item), shards), []).append(item)
    return groups
