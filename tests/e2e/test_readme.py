"""The README's shell examples run as written against a live stack, so the README cannot rot.

Every ```bash block preceded by ``<!-- readme-test: NAME -->`` is extracted and run, in order, in
one bash process (variables carry over as they do in the reader's terminal), against ``ecs dev``
started the way the README says to get a REFERRED decision: with ``ECS_MODEL_URL`` pointing at an
``ecs model-server``. Between the ``customer`` and ``referral`` blocks the model server is stopped,
which is what the README tells the reader to do. Only ``.venv/bin/`` is rewritten, to the
interpreter running the tests, and ``API`` is set to the stack's port.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_dev_stack import REPO_ROOT, DevStack
from tests.support import free_port, wait_for

pytestmark = pytest.mark.e2e

MARKED = re.compile(r"<!-- readme-test: (\w+) -->\s*```bash\n(.*?)```", re.DOTALL)
EXPECTED_BLOCKS = ["customer", "contest", "referral", "sql"]


def readme_blocks() -> dict[str, str]:
    text = (REPO_ROOT / "README.md").read_text()
    return {name: body for name, body in MARKED.findall(text)}


def test_the_readme_marks_its_runnable_blocks() -> None:
    assert list(readme_blocks()) == EXPECTED_BLOCKS


@pytest.fixture
def model_server() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ecs", "model-server", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import socket

        def accepts() -> bool:
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", port)) == 0

        wait_for(accepts, timeout=30, message="the model server")
        yield process, port
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def stack(tmp_path: Path, model_server: tuple[subprocess.Popen[bytes], int]) -> Iterator[DevStack]:
    _, port = model_server
    dev = DevStack(
        state_dir=tmp_path / "state",
        log_path=tmp_path / "ecs-dev.log",
        extra_env={"ECS_MODEL_URL": f"http://127.0.0.1:{port}"},
    )
    try:
        yield dev
    finally:
        dev.kill_everything()


def test_readme_examples_run_against_a_live_stack(
    stack: DevStack, model_server: tuple[subprocess.Popen[bytes], int], tmp_path: Path
) -> None:
    for tool in ("bash", "curl", "jq"):
        assert shutil.which(tool), f"the README examples need {tool} (Debian package {tool})"
    model, _ = model_server
    stack.start()
    stack.wait_ready()
    blocks = readme_blocks()
    venv_bin = f"{Path(sys.executable).parent}/"
    script = "\n".join(
        [
            "set -euo pipefail",
            blocks["customer"],
            blocks["contest"],
            # the reader stops the model server (Ctrl-C in terminal 1) and sees it gone
            f"kill -INT {model.pid}",
            f"for _ in $(seq 100); do kill -0 {model.pid} 2>/dev/null || break; sleep 0.1; done",
            blocks["referral"],
            "echo '--- sql'",
            blocks["sql"],
        ]
    ).replace(".venv/bin/", venv_bin)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECS_")}
    env.update({"API": stack.api_url, "ECS_STATE_DIR": str(stack.state_dir)})
    run = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=240,
    )
    output = f"--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}\n--- ecs dev\n{stack.log_tail()}"
    assert run.returncode == 0, output
    journey, sql = run.stdout.split("--- sql\n", 1)
    lines = journey.splitlines()
    assert "OFFERED" in lines and "REFERRED" in lines, output
    assert "CONTESTED" in lines and "four-eyes" in journey, output  # the contest block's story
    user_id = next(line.split()[1] for line in lines if line.startswith("customer "))
    # ana's one reading, and ana among the high-risk rows, her id printed as the API prints it
    assert "(1 row)" in sql and user_id in sql, output
