"""A PostgreSQL cluster of the test's own, started with initdb/pg_ctl on a free port.

Outage tests stop and restart the database under a running API. They must never do that to the
machine's shared server, so each gets a throwaway cluster (about a second to create): its own
data directory, loopback only, trust authentication, no fsync. When the tests run as root (CI
containers), the server runs as the ``postgres`` system user, since PostgreSQL refuses root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import free_port

BIN = Path(os.environ.get("ECS_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_server_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class PrivateCluster:
    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        command = [str(BIN / "pg_ctl"), "-D", str(self.directory / "data"), "-w", *args]
        subprocess.run(_as_server_user(command), check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-o", options, "-l", str(self.directory / "server.log"), "start")

    def stop(self) -> None:
        """Immediate shutdown: to its clients it is a crash, not a polite goodbye."""
        self._pg_ctl("-m", "immediate", "stop")


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    if not (BIN / "initdb").exists():
        raise AssertionError(f"PostgreSQL binaries not found in {BIN} (set ECS_TEST_PG_BIN)")
    directory = Path(tempfile.mkdtemp(prefix="ecs-private-pg-"))
    if os.geteuid() == 0:
        server_user = pwd.getpwnam("postgres")
        os.chown(directory, server_user.pw_uid, server_user.pw_gid)
    cluster = PrivateCluster(directory, free_port())
    try:
        initdb = [str(BIN / "initdb"), "-D", str(directory / "data"), "-A", "trust"]
        subprocess.run(
            _as_server_user([*initdb, "-U", "postgres", "--no-sync", "-E", "UTF8"]),
            check=True,
            capture_output=True,
            timeout=120,
        )
        cluster.start()
        yield cluster
    finally:
        subprocess.run(
            _as_server_user(
                [str(BIN / "pg_ctl"), "-D", str(directory / "data"), "-m", "immediate", "stop"]
            ),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(directory, ignore_errors=True)
