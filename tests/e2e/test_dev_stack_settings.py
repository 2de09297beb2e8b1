"""``ECS_DATABASE_URL=… make run``, then ``ecs create-user`` in another terminal (issue 14).

The stack runs on a database other than the embedded default; the command, typed without any
``ECS_*`` variable, must create the analyst in the stack's database (sign-in through the stack's
API proves it), and the stack's state must live in that database's own folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ecs.stackstate import RUNNING_FILE, read_running
from tests.e2e.test_dev_stack import REPO_ROOT, DevStack, assert_nothing_left, record_children

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery staple"


@pytest.fixture
def stack_on_other_db(tmp_path: Path) -> Iterator[DevStack]:
    database = f"sqlite:///{(tmp_path / 'team.db').as_posix()}"
    stack = DevStack(
        state_dir=tmp_path / "state",
        log_path=tmp_path / "ecs-dev.log",
        extra_env={"ECS_DATABASE_URL": database},
    )
    try:
        yield stack
    finally:
        stack.kill_everything()


def test_create_user_from_another_terminal_lands_in_the_stacks_database(
    stack_on_other_db: DevStack,
) -> None:
    stack = stack_on_other_db
    stack.start()
    stack.wait_ready()
    running = read_running(stack.state_dir)
    assert running is not None and running.database_url.endswith("team.db"), stack.log_tail()
    assert Path(running.state_dir).parent == stack.state_dir / "db"  # its own state folder
    assert not (stack.state_dir / "temporal.db").exists()

    email = f"analyst-{uuid.uuid4().hex[:8]}@example.com"
    terminal = {k: v for k, v in os.environ.items() if not k.startswith("ECS_")}
    terminal["ECS_STATE_DIR"] = str(stack.state_dir)  # what `.ecs` is when typed in the clone
    created = subprocess.run(
        [sys.executable, "-m", "ecs", "create-user", "--email", email, "--password", PASSWORD],
        capture_output=True, text=True, env=terminal, cwd=REPO_ROOT, timeout=60,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "running `ecs dev` stack" in created.stderr
    token = httpx.post(f"{stack.api_url}/v1/auth/token",
                       data={"username": email, "password": PASSWORD}, timeout=10)  # fmt: skip
    assert token.status_code == 200, token.text

    children = record_children(stack)
    assert stack.stop() == 0, stack.log_tail()
    assert_nothing_left(stack, children)
    assert not (stack.state_dir / RUNNING_FILE).exists()
