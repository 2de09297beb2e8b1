"""A minimal keep-alive HTTP/1.1 load generator on raw asyncio streams (run it under uvloop).

An httpx client would saturate a core long before the server does. wrk (C) would leave more CPU
to the servers, but it has no open-loop mode (wrk2 is not installed) and its closed loop cannot
alternate with other rounds inside one run. The generator shares the machine with what it
measures, so absolute figures are a floor and ratios measured in the same run are the
comparable numbers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.lib.stats import pct_ms

Body = Callable[[int], tuple[bytes, dict[str, str], list[str]]]
"""Request ``n`` → (JSON body, extra headers, the event ids it carries)."""


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    # Open loop only: how late each request left the generator after its scheduled tick (a
    # saturated generator, or all connections busy, shows here; latencies include it).
    send_lag: list[float] = field(default_factory=list)
    # Open loop only: the generator's own event-loop stalls (a 1 ms timer's oversleep), to tell
    # a stalled load generator from a stalled server.
    loop_stalls: list[float] = field(default_factory=list)
    # Open loop only: requests slower than 25 ms, counted per second of the phase.
    slow_by_second: dict[int, int] = field(default_factory=dict)
    accepted_ids: list[str] = field(default_factory=list)
    readings: int = 0
    started: float = 0.0
    ended: float = 0.0

    def merge(self, other: Run) -> None:
        """Accumulate a round: busy time adds up, so rates stay requests / busy seconds."""
        self.latencies += other.latencies
        self.accepted_ids += other.accepted_ids
        self.readings += other.readings
        for status, n in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + n
        self.ended += other.ended - other.started

    def record(self, status: int, ids: list[str]) -> None:
        """Count a response; a 202 means its readings were accepted (durably in the stream)."""
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == 202:
            self.accepted_ids.extend(ids)
            self.readings += len(ids)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    def rps(self) -> float:
        return self.requests / max(self.ended - self.started, 1e-9)

    def pct(self, q: float) -> float:
        """Milliseconds; 0.0 for a run without requests."""
        return pct_ms(self.latencies, q, empty=0.0)


def _post(host: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    head += ["Content-Type: application/json"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


async def load(
    url: str,
    path: str,
    make_body: Body,
    *,
    seconds: float,
    connections: int,
) -> Run:
    """``connections`` keep-alive connections, each sending back to back for ``seconds``."""
    host, _, port = url.removeprefix("http://").partition(":")
    run = Run()
    deadline = time.monotonic() + seconds

    async def worker(n: int) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        i = n
        try:
            while time.monotonic() < deadline:
                body, headers, ids = make_body(i)
                i += connections
                request = _post(host, path, body, headers)
                t0 = time.perf_counter()
                writer.write(request)
                status, _payload = await _response(reader)
                run.latencies.append(time.perf_counter() - t0)
                run.record(status, ids)
        finally:
            writer.close()

    run.started = time.monotonic()
    await asyncio.gather(*(worker(n) for n in range(connections)))
    run.ended = time.monotonic()
    return run


async def open_load(
    url: str,
    path: str,
    make_body: Body,
    *,
    rate: float,
    seconds: float,
    connections: int,
) -> Run:
    """Open loop: requests on a fixed schedule of ``rate``/s, whatever the responses do.

    Ticks go into a queue served by ``connections`` keep-alive connections; latency runs from
    the *scheduled* tick to the response, so time spent waiting for a free connection (the
    server falling behind) counts, as it would for a phone.
    """
    host, _, port = url.removeprefix("http://").partition(":")
    loop = asyncio.get_running_loop()
    run = Run()
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    count = max(1, round(rate * seconds))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while (item := await queue.get()) is not None:
                i, tick = item
                body, headers, ids = make_body(i)
                run.send_lag.append(loop.time() - tick)
                writer.write(_post(host, path, body, headers))
                status, _payload = await _response(reader)
                run.latencies.append(loop.time() - tick)
                if loop.time() - tick > 0.025:
                    second = int(tick - run.started)
                    run.slow_by_second[second] = run.slow_by_second.get(second, 0) + 1
                run.record(status, ids)
        finally:
            writer.close()

    async def watchdog() -> None:
        while True:
            t = loop.time()
            await asyncio.sleep(0.001)
            run.loop_stalls.append(loop.time() - t - 0.001)

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    await asyncio.sleep(0.2)  # connections open before the first tick
    dog = asyncio.create_task(watchdog())
    run.started = start = loop.time()
    for i in range(count):
        tick = start + i / rate
        delay = tick - loop.time()
        if delay > 0.0005:
            await asyncio.sleep(delay)
        queue.put_nowait((i, tick))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    run.ended = loop.time()
    dog.cancel()
    return run


async def wait_http(url: str, timeout: float = 20) -> None:
    host, _, port = url.removeprefix("http://").partition(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _r, writer = await asyncio.open_connection(host, int(port))
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not start")
