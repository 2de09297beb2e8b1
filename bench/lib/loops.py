"""Load shapes: an open loop on a fixed schedule and a closed loop of back-to-back callers.

The open loop creates each call on its tick whatever the responses do, and latency counts from
the *scheduled* tick, so a stalled server cannot hide its queueing (coordinated omission). The
closed loop measures the maximum rate: ``concurrency`` callers, each starting its next call as
soon as the last one returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from bench.lib.stats import pct_ms


@dataclass
class Sample:
    latency: float  # seconds from the scheduled tick to the response
    status: int  # HTTP status, 0 for an exception; bare workflows use 200
    ok: bool
    ref: str = ""  # workflow id
    error: str = ""


@dataclass
class Phase:
    name: str
    samples: list[Sample] = field(default_factory=list)
    elapsed: float = 0.0
    note: str = ""

    @property
    def ok(self) -> list[float]:
        return sorted(s.latency for s in self.samples if s.ok)

    @property
    def errors(self) -> int:
        return sum(not s.ok for s in self.samples)

    def pct(self, q: float) -> float:
        """Milliseconds, over the successful calls."""
        return pct_ms(self.ok, q)

    def throughput(self) -> float:
        return len(self.ok) / self.elapsed if self.elapsed else 0.0

    def statuses(self) -> str:
        counts: dict[int, int] = {}
        for s in self.samples:
            counts[s.status] = counts.get(s.status, 0) + 1
        return " ".join(f"{k}x{v}" for k, v in sorted(counts.items()))

    def line(self) -> str:
        return (
            f"{self.name:<34} n={len(self.samples):<5} ok={len(self.ok):<5} "
            f"err={self.errors:<3} {self.throughput():6.1f}/s  p50 {self.pct(0.5):6.1f}  "
            f"p95 {self.pct(0.95):6.1f}  p99 {self.pct(0.99):6.1f}  max {self.pct(1.0):6.1f} ms"
            f"  [{self.statuses()}]{'  ' + self.note if self.note else ''}"
        )


Fire = Callable[[int, float], Coroutine[Any, Any, Sample]]
"""One call: ``(index, scheduled loop time) -> Sample``."""


async def open_loop(name: str, fire: Fire, rate: float, duration: float, timeout: float) -> Phase:
    """One call per tick on a fixed schedule; a slow response never delays the next tick.
    ``timeout`` is the longest a call may take (it bounds the phase's elapsed time)."""
    loop = asyncio.get_running_loop()
    count = max(1, round(rate * duration))
    start = loop.time() + 0.05
    tasks: list[asyncio.Task[Sample]] = []
    for i in range(count):
        tick = start + i / rate
        delay = tick - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(i, tick)))
    samples = list(await asyncio.gather(*tasks))
    elapsed = max(loop.time() - start, duration)
    return Phase(name, samples, elapsed=min(elapsed, duration + timeout))


async def closed_loop(
    name: str, fire: Fire, concurrency: int, duration: float, limit: int
) -> Phase:
    """``concurrency`` callers back to back for ``duration`` s (or until ``limit`` calls)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    deadline = start + duration
    counter = iter(range(limit))
    phase = Phase(name)
    last = start

    async def caller() -> None:
        nonlocal last
        while loop.time() < deadline:
            i = next(counter, None)
            if i is None:
                phase.note = f"stopped early: all {limit} prepared users used"
                return
            sample = await fire(i, loop.time())
            phase.samples.append(sample)
            last = max(last, loop.time())

    await asyncio.gather(*(caller() for _ in range(concurrency)))
    phase.elapsed = last - start
    return phase
