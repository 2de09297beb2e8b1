"""Where ``ecs dev`` keeps its state, and how other ``ecs`` commands find the running stack.

Temporal's history and Redis' stream describe the decisions and readings of *one* database: a
stack started on PostgreSQL must not resume workflows that live in the SQLite file, nor the other
way round. So each database gets its own state folder: the embedded SQLite database lives in
``.ecs/`` itself, any other database in ``.ecs/db/<host-port-name>/``. Each folder records the
database it belongs to (``database.txt``, password removed); ``ecs dev`` refuses to start when
that record names another database (a hand-set ``ECS_STATE_DIR`` shared by two databases).

While it runs, ``ecs dev`` also writes ``.ecs/running.json``: its database, Redis, Temporal and API
addresses and its pid. One-shot commands (``ecs create-user``, ``ecs sql``, ``ecs simulate``, ...)
started from another terminal without ``ECS_DATABASE_URL`` use that stack's settings, so the
analyst created after ``ECS_DATABASE_URL=… make run`` lands in the stack's database, not in
``.ecs/ecs.db``; with ``ECS_DATABASE_URL`` set to another database they say so.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import orjson

from ecs.settings import Settings

RUNNING_FILE = "running.json"
DATABASE_FILE = "database.txt"
EMBEDDED_DATABASE = "the embedded SQLite database (ecs.db in this folder)"
"""What the state folder of the embedded database records: not its path, so a moved clone's
``.ecs`` still matches."""


class StateMismatch(RuntimeError):
    """The state folder belongs to another database."""


def redact(url: str) -> str:
    """Drop the password from a URL so banners, logs and state files never carry it."""
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


def state_dir_for(settings: Settings) -> Path:
    """``.ecs`` for the embedded SQLite database, ``.ecs/db/<slug>`` for any other."""
    root = settings.state_dir.resolve()
    if not settings.database_url:
        return root
    parts = urlsplit(settings.database_url)
    raw = "-".join(
        str(p) for p in (parts.hostname or "local", parts.port, parts.path.strip("/")) if p
    )
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", raw) or "database"
    return root / "db" / slug


def claim(state_dir: Path, database_url: str) -> None:
    """Record which database ``state_dir`` belongs to, or refuse if it belongs to another;
    ``database_url`` is empty for the embedded SQLite database."""
    state_dir.mkdir(parents=True, exist_ok=True)
    marker = state_dir / DATABASE_FILE
    mine = redact(database_url) if database_url else EMBEDDED_DATABASE
    if marker.exists():
        recorded = marker.read_text().strip()
        if recorded != mine:
            raise StateMismatch(
                f"the state in {state_dir} belongs to {recorded}, not {mine}: its Temporal "
                "workflows and Redis stream would not match this database. Use another "
                "ECS_STATE_DIR (or unset it: each database gets its own folder under .ecs/)."
            )
        return
    marker.write_text(mine + "\n")


@dataclass(frozen=True)
class RunningStack:
    pid: int
    database_url: str
    redis_url: str
    temporal_address: str
    api_port: int
    state_dir: str


def write_running(root: Path, stack: RunningStack) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / RUNNING_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(stack.__dict__))
    tmp.chmod(0o600)  # the database URL may carry a password
    tmp.replace(path)
    return path


def clear_running(root: Path, pid: int) -> None:
    stack = read_running(root)
    if stack is not None and stack.pid == pid:
        (root / RUNNING_FILE).unlink(missing_ok=True)


def read_running(root: Path) -> RunningStack | None:
    """The stack recorded under ``root``, if its process is still alive."""
    try:
        stack = RunningStack(**orjson.loads((root / RUNNING_FILE).read_bytes()))
    except (OSError, ValueError, TypeError):
        return None
    try:
        os.kill(stack.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    return stack


def with_running_stack(settings: Settings, environ: dict[str, str]) -> tuple[Settings, str | None]:
    """The settings a one-shot command should use, and a note for the user (or None).

    Without ``ECS_DATABASE_URL`` in the environment, a running ``ecs dev`` stack's database,
    Redis, Temporal address and API port are used. With it set to another database than the
    running stack's, the environment wins and the note says so."""
    stack = read_running(settings.state_dir.resolve())
    if stack is None:
        return settings, None
    if "ECS_DATABASE_URL" in environ:
        if settings.effective_database_url != stack.database_url:
            return settings, (
                f"note: using ECS_DATABASE_URL ({redact(settings.effective_database_url)}); the "
                f"running `ecs dev` stack (pid {stack.pid}) uses {redact(stack.database_url)}"
            )
        return settings, None
    updates = {"database_url": stack.database_url, "api_port": stack.api_port}
    if "ECS_REDIS_URL" not in environ:
        updates["redis_url"] = stack.redis_url
    if "ECS_TEMPORAL_ADDRESS" not in environ:
        updates["temporal_address"] = stack.temporal_address
    note = (
        f"using the running `ecs dev` stack's settings (pid {stack.pid}): database "
        f"{redact(stack.database_url)}"
    )
    return settings.model_copy(update=updates), note
