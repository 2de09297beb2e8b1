"""Everything one benchmark run starts, and the guarantee that all of it is stopped again.

Children run in their own sessions with the parent-death signal (``ecs.supervisor``), so neither
an error, nor Ctrl-C, nor a SIGKILLed bench leaves a Temporal server or an API holding a port on
a machine other people are measuring on. Each child's output goes to ``<tmp>/<name>.log``, whose
tail is printed when the child dies early.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from ecs.supervisor import parent_death_signal

Main = Callable[["Stack"], Coroutine[Any, Any, int]]
Runner = Callable[[Coroutine[Any, Any, int]], int]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    """Everything this run started, torn down in reverse order by ``close``."""

    tmp: Path
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def spawn(
        self, name: str, argv: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = self.tmp / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv,
                env=env,
                cwd=self.tmp,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=parent_death_signal(os.getpid()),
            )
        self.processes.append((name, process))
        return process

    def log_tail(self, name: str, chars: int = 2000) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")[-chars:]

    def check_alive(self) -> None:
        for name, process in self.processes:
            if process.poll() is not None:
                tail = self.log_tail(name) if (self.tmp / f"{name}.log").exists() else ""
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")

    def wait_until(self, what: str, check: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            self.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.1)

    def close(self) -> None:
        for name, process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                print(f"  {name} did not stop in 25 s: killing", file=sys.stderr)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        for cleanup in reversed(self.cleanups):
            try:
                cleanup()
            except Exception as exc:
                print(f"  cleanup failed: {type(exc).__name__}: {exc}", file=sys.stderr)


def _sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_bench(
    main: Main, *, prefix: str, budget: float | None = None, runner: Runner = asyncio.run
) -> int:
    """Run ``main`` with a fresh ``Stack`` and stop everything afterwards, whatever happens.

    Exit codes: ``main``'s own, 130 on Ctrl-C or SIGTERM, 1 when the ``budget`` (seconds) runs
    out or a service fails (its log tail says why).
    """
    signal.signal(signal.SIGTERM, _sigterm)
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        stack = Stack(Path(tmp))
        try:
            work = main(stack)
            return runner(work if budget is None else asyncio.wait_for(work, timeout=budget))
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        except TimeoutError:
            print(f"gave up after {budget:.0f} s", file=sys.stderr)
            return 1
        except RuntimeError as exc:
            print(f"bench failed: {exc}", file=sys.stderr)
            return 1
        finally:
            print("stopping everything this run started", file=sys.stderr)
            stack.close()
