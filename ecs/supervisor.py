"""Child-process supervision for ``ecs dev`` (and the benchmarks): start, watch, stop.

The rules, and why:

* Every child gets its own session (process group), so a Ctrl-C in the terminal reaches only the
  supervisor, which then stops the children in reverse start order: consumers and the worker drain
  while Redis and Temporal are still up, so nothing in flight is lost or spuriously retried.
* Every child also gets ``PR_SET_PDEATHSIG``: if the supervisor itself is SIGKILLed (no chance to
  clean up), the kernel still terminates the children instead of leaving orphans holding ports.
* If any child dies on its own, ``supervise`` returns 1 and the caller tears everything down: a
  half-running system (say, an API whose worker is gone) looks healthy but silently stalls.
* A first SIGINT/SIGTERM asks for a clean stop; a second one escalates to SIGKILL.

What the children are is the caller's business (``ecs.devstack`` defines the dev stack).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

log = logging.getLogger("ecs.dev")

SERVICE_STOP_TIMEOUT = 10.0
SUPERVISE_INTERVAL = 0.2
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class StartupError(RuntimeError):
    """A start-up problem the user can fix (port taken, binary missing, service not coming up)."""


class Stopping(Exception):
    """Raised inside start-up waits when a stop was requested, to unwind straight to shutdown."""


@dataclass
class Child:
    """A supervised child process; ``stop_timeout`` is how long it may take to exit on SIGTERM."""

    name: str
    process: subprocess.Popen[bytes]
    stop_timeout: float

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class Supervisor:
    """The children of one run, in start order."""

    children: list[Child] = field(default_factory=list)
    stop_requested: threading.Event = field(default_factory=threading.Event)
    force_kill: threading.Event = field(default_factory=threading.Event)
    signals: list[str] = field(default_factory=list)

    def install_signal_handlers(self) -> None:
        """First SIGINT/SIGTERM asks for a clean stop; a second one escalates to SIGKILL."""

        def handler(signum: int, _frame: FrameType | None) -> None:
            # Only flags here: logging from a signal handler can interleave with a half-written
            # line of the main thread. The supervisor logs the signal when it acts on it.
            if self.stop_requested.is_set():
                self.force_kill.set()
            self.signals.append(signal.Signals(signum).name)
            self.stop_requested.set()

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)

    def spawn(
        self,
        name: str,
        argv: list[str],
        *,
        env: Mapping[str, str] | None = None,
        stop_timeout: float = SERVICE_STOP_TIMEOUT,
        stdout: int | None = None,
        log_file: Path | None = None,
    ) -> Child:
        """Start ``argv`` in its own session, tied to our life by the parent-death signal.

        ``log_file``: the child's stdout and stderr go there (appended) instead of the terminal,
        for servers whose own logs are not ours to read at a glance (Temporal's)."""
        output: Any = stdout
        if log_file is not None:
            output = log_file.open("ab")
        try:
            process = subprocess.Popen(
                argv,
                env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT if log_file is not None else None,
                start_new_session=True,
                preexec_fn=parent_death_signal(os.getpid()),
            )
        finally:
            if log_file is not None:
                output.close()  # the child holds its own descriptor
        child = Child(name, process, stop_timeout)
        self.children.append(child)
        log.info("started", extra={"child": name, "pid": process.pid})
        return child

    def wait_until(
        self, what: str, check: Callable[[], bool], timeout: float, *watch: Child
    ) -> None:
        """Poll ``check`` until true; fail early if a watched child exits or a stop is requested."""
        deadline = time.monotonic() + timeout
        while not check():
            if self.stop_requested.is_set():
                raise Stopping
            for child in watch:
                if not child.alive():
                    raise StartupError(
                        f"{child.name} exited with code {child.process.returncode} "
                        f"while waiting for {what}"
                    )
            if time.monotonic() > deadline:
                raise StartupError(f"timed out after {timeout:.0f}s waiting for {what}")
            self.stop_requested.wait(0.05)

    def supervise(self) -> int:
        """Block until a stop signal (exit 0) or an unexpected child exit (exit 1)."""
        while not self.stop_requested.is_set():
            for child in self.children:
                code = child.process.poll()
                if code is not None:
                    log.error(
                        "child exited unexpectedly; stopping the stack",
                        extra={"child": child.name, "pid": child.pid, "returncode": code},
                    )
                    return 1
            self.stop_requested.wait(SUPERVISE_INTERVAL)
        return 0

    def stop(self) -> None:
        """SIGTERM each child's process group in reverse start order, SIGKILL after a timeout."""
        for child in reversed(self.children):
            if child.alive():
                _signal_group(child.pid, signal.SIGTERM)
                deadline = time.monotonic() + child.stop_timeout
                while child.alive() and time.monotonic() < deadline:
                    if self.force_kill.is_set():
                        break
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        child.process.wait(timeout=0.1)
                if child.alive():
                    log.warning("child did not stop in time: killing", extra={"child": child.name})
            # Always sweep the group: a child may leave helpers behind even if it exited.
            _signal_group(child.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=5)
            log.info(
                "stopped",
                extra={"child": child.name, "pid": child.pid, "returncode": child.process.poll()},
            )


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # With start_new_session the child's pid is its process-group id.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def parent_death_signal(parent_pid: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when ``parent_pid`` dies (even by
    SIGKILL); ``None`` where there is no ``prctl``."""
    if not sys.platform.startswith("linux"):
        return None
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return None
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        # The parent may have died between fork and prctl: then nobody would signal us.
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def accepts(port: int, host: str = "127.0.0.1") -> bool:
    """True once something accepts TCP connections on ``port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True if something listens on ``port`` (SO_REUSEADDR ignores TIME_WAIT leftovers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False
