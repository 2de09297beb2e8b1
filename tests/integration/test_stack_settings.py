"""One-shot ``ecs`` commands use the same settings as the stack they act on (issue 14).

``ecs create-user`` writes where ``ECS_DATABASE_URL`` points (SQLite or PostgreSQL); started beside
a running ``ecs dev`` without it, it uses that stack's database; ``ecs dev`` keeps one state folder
per database and refuses a folder that belongs to another; ``ecs sql`` runs the examples on the
configured database. Commands run as subprocesses, in a clean environment, on throwaway databases.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ecs.settings import Settings
from ecs.stackstate import (
    RUNNING_FILE,
    RunningStack,
    StateMismatch,
    claim,
    read_running,
    state_dir_for,
    write_running,
)
from tests.support import fresh_postgres_database

PASSWORD = "p" * 16


def ecs(*args: str, state: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ECS_")}
    clean.update({"ECS_STATE_DIR": str(state), **env})
    return subprocess.run(
        [sys.executable, "-m", "ecs", *args], capture_output=True, text=True, env=clean, timeout=60
    )


def emails(url: str) -> set[str]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return {row[0] for row in conn.execute(text("SELECT email FROM users"))}
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated throwaway database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{(tmp_path / 'other.db').as_posix()}"
        assert ecs("migrate", state=tmp_path / "s", ECS_DATABASE_URL=url).returncode == 0
        yield url
        return
    server = os.environ.get("ECS_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("PostgreSQL case: set ECS_TEST_POSTGRES_URL (CI always does)")
    with fresh_postgres_database(server) as url:
        assert ecs("migrate", state=tmp_path / "s", ECS_DATABASE_URL=url).returncode == 0
        yield url


def test_create_user_honours_ecs_database_url(database: str, tmp_path: Path) -> None:
    email = f"analyst-{uuid.uuid4().hex[:8]}@example.com"
    state = tmp_path / "state"
    done = ecs("create-user", "--email", email, "--password", PASSWORD, state=state,
               ECS_DATABASE_URL=database)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert email in emails(database)
    assert not (state / "ecs.db").exists(), "nothing written to the embedded SQLite database"


def _running(state: Path, database_url: str, pid: int | None = None) -> RunningStack:
    stack = RunningStack(
        pid=pid or os.getpid(),  # this test process stands in for a live `ecs dev`
        database_url=database_url,
        redis_url="redis://127.0.0.1:1/0",
        temporal_address="127.0.0.1:1",
        api_port=1,
        state_dir=str(state),
    )
    write_running(state, stack)
    return stack


def test_beside_a_running_stack_commands_use_its_database(database: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    _running(state, database)
    email = f"analyst-{uuid.uuid4().hex[:8]}@example.com"
    done = ecs("create-user", "--email", email, "--password", PASSWORD, state=state)
    assert done.returncode == 0, done.stderr
    assert "using the running `ecs dev` stack's settings" in done.stderr
    assert email in emails(database)

    # ECS_DATABASE_URL still wins, and the command says which database it used
    other = f"sqlite:///{(tmp_path / 'elsewhere.db').as_posix()}"
    assert ecs("migrate", state=state, ECS_DATABASE_URL=other).returncode == 0
    second = f"analyst-{uuid.uuid4().hex[:8]}@example.com"
    done = ecs("create-user", "--email", second, "--password", PASSWORD, state=state,
               ECS_DATABASE_URL=other)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "note: using ECS_DATABASE_URL" in done.stderr
    assert second in emails(other) and second not in emails(database)


def test_a_stopped_stack_is_ignored(tmp_path: Path) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    _running(tmp_path, "sqlite:///nowhere.db", pid=int(finished.stdout))
    assert (tmp_path / RUNNING_FILE).exists() and read_running(tmp_path) is None


def test_each_database_has_its_own_state_folder(tmp_path: Path) -> None:
    embedded = Settings(state_dir=tmp_path, database_url="")
    pg_a = Settings(state_dir=tmp_path, database_url="postgresql://u:secret@db:5432/ecs")
    pg_b = Settings(state_dir=tmp_path, database_url="postgresql://u@db:5432/other")
    folders = {state_dir_for(s) for s in (embedded, pg_a, pg_b)}
    assert len(folders) == 3 and state_dir_for(embedded) == tmp_path.resolve()
    assert "secret" not in str(state_dir_for(pg_a))

    claim(state_dir_for(pg_a), pg_a.database_url)
    claim(state_dir_for(pg_a), pg_a.database_url)  # the same database again: fine
    recorded = (state_dir_for(pg_a) / "database.txt").read_text()
    assert "secret" not in recorded and "***" in recorded
    with pytest.raises(StateMismatch, match="belongs to postgresql://u:\\*\\*\\*@db:5432/ecs"):
        claim(state_dir_for(pg_a), pg_b.database_url)
    claim(tmp_path, "")  # the embedded database records no path: a moved clone still matches
    assert "embedded SQLite" in (tmp_path / "database.txt").read_text()
    with pytest.raises(StateMismatch, match="belongs to the embedded SQLite database"):
        claim(tmp_path, pg_a.database_url)


def test_ecs_dev_refuses_a_state_folder_of_another_database(tmp_path: Path) -> None:
    claim(tmp_path, "postgresql://u@db:5432/ecs")  # what a stack on PostgreSQL left behind
    done = ecs("dev", state=tmp_path)  # embedded SQLite, same folder
    assert done.returncode == 2
    assert "belongs to postgresql://u@db:5432/ecs" in done.stderr
    assert "Traceback" not in done.stderr


def test_ecs_sql_lists_runs_and_explains(database: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    listed = ecs("sql", state=state, ECS_DATABASE_URL=database)
    assert listed.returncode == 0 and "high_risk_customers" in listed.stdout
    ran = ecs("sql", "high_risk_customers", "threshold=0.99", state=state,
              ECS_DATABASE_URL=database)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[0].split(" | ")[0].strip() == "user_id"
    assert "(0 rows)" in ran.stdout
    user = str(uuid.uuid4())
    ran = ecs("sql", "emotions_last_week", f"user_id={user}", state=state,
              ECS_DATABASE_URL=database)  # fmt: skip
    assert ran.returncode == 0 and "(0 rows)" in ran.stdout, ran.stderr
    missing = ecs("sql", "emotions_last_week", state=state, ECS_DATABASE_URL=database)
    assert missing.returncode == 2 and "missing parameter user_id" in missing.stderr
    unknown = ecs("sql", "no_such_query", state=state, ECS_DATABASE_URL=database)
    assert unknown.returncode == 2 and "the examples are" in unknown.stderr
