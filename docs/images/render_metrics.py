"""Regenerate ``docs/images/metrics.png``: the stack's metrics in Prometheus' graph page.

A real picture of the README's Observability section, not a mock-up: Debian's ``prometheus``
(``apt-get install prometheus``; ``.ci/run`` installs it for promtool) scrapes a running stack's
three ``/metrics`` endpoints every 2 s, ``ecs simulate`` drives customers through it meanwhile,
and Debian's chromium (through Playwright, never Playwright's own browser download) screenshots
the graph page with one panel per signal an operator watches first. Everything this script
starts (Prometheus, the simulation) it stops again, also on an error; the stack is yours.

    .venv/bin/ecs dev &                                          # or `make run`
    .venv/bin/python docs/images/render_metrics.py               # the default ports of `ecs dev`
    .venv/bin/python docs/images/render_metrics.py --api http://127.0.0.1:18431 \\
        --worker 127.0.0.1:19464 --stream 127.0.0.1:19465        # a stack on other ports
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
from playwright.sync_api import sync_playwright

OUTPUT = Path(__file__).with_name("metrics.png")
PANELS = (
    ("readings committed per second", "rate(ecs_stream_readings_committed_total[30s])"),
    (
        "API requests per second by route",
        'sum by (route) (rate(ecs_api_requests_total{route!="/metrics"}[30s]))',
    ),
    (
        "API p99 latency, seconds",
        "histogram_quantile(0.99, sum by (le) "
        "(rate(ecs_api_request_duration_seconds_bucket[30s])))",
    ),
    ("decision outcomes", "sum by (outcome) (ecs_decision_outcomes)"),
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(api: str, worker: str, stream: str) -> str:
    jobs = {"ecs-api": urlsplit(api).netloc, "ecs-worker": worker, "ecs-stream": stream}
    lines = ["global:", "  scrape_interval: 2s", "scrape_configs:"]
    for job, target in jobs.items():
        lines += [f"  - job_name: {job}", f'    static_configs: [{{targets: ["{target}"]}}]']
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def _process(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_targets_up(prometheus: str, deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            targets = httpx.get(f"{prometheus}/api/v1/targets").json()["data"]["activeTargets"]
            if targets and all(t["health"] == "up" for t in targets):
                return
        time.sleep(0.5)
    raise SystemExit(f"a scrape target is down at {prometheus}/targets: is the stack running?")


def _wait_scraped_after(prometheus: str, moment: float, deadline_s: float = 30.0) -> None:
    """Poll until every target's last scrape is later than ``moment`` (epoch seconds)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        query = {"query": "min(timestamp(up))"}
        result = httpx.get(f"{prometheus}/api/v1/query", params=query).json()["data"]["result"]
        if result and float(result[0]["value"][1]) > moment:
            return
        time.sleep(0.5)
    raise SystemExit("Prometheus stopped scraping the stack")


def _graph_url(prometheus: str, range_input: str) -> str:
    params: dict[str, str] = {}
    for i, (_, expr) in enumerate(PANELS):
        params |= {f"g{i}.expr": expr, f"g{i}.tab": "0", f"g{i}.range_input": range_input}
    return f"{prometheus}/classic/graph?{urlencode(params)}"


def _screenshot(url: str, output: Path) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url, wait_until="networkidle")
            page.wait_for_function(
                f"document.querySelectorAll('.graph svg').length >= {len(PANELS)}",
                timeout=30_000,
            )
            # The fixed navigation bar would be painted over a panel in a full-page capture.
            page.add_style_tag(content=".navbar { position: static !important; }")
            page.screenshot(path=str(output), full_page=True)
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default="http://127.0.0.1:8000", help="the API's base URL")
    parser.add_argument("--worker", default="127.0.0.1:9464", help="worker metrics host:port")
    parser.add_argument("--stream", default="127.0.0.1:9465", help="consumer metrics host:port")
    parser.add_argument("--simulate-seconds", type=float, default=90.0, help="0: no simulation")
    parser.add_argument("--prometheus", default="/usr/bin/prometheus")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ecs-metrics-image-") as tmp:
        work = Path(tmp)
        (work / "prometheus.yml").write_text(_config(args.api, args.worker, args.stream))
        port = _free_port()
        prometheus = f"http://127.0.0.1:{port}"
        with _process(
            [
                args.prometheus,
                f"--config.file={work / 'prometheus.yml'}",
                f"--storage.tsdb.path={work / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            work / "prometheus.log",
        ):
            _wait_targets_up(prometheus)
            started = time.monotonic()
            if args.simulate_seconds > 0:
                simulate = [sys.executable, "-m", "ecs", "simulate", "--api-url", args.api]
                simulate += ["--users", "30", "--rate", "150", "--seed", "7"]
                simulate += ["--duration", f"{args.simulate_seconds:g}"]
                subprocess.run(simulate, check=True, timeout=args.simulate_seconds + 300)
            _wait_scraped_after(prometheus, time.time() + 4)  # the traffic's last seconds
            minutes = max(2, int((time.monotonic() - started) // 60) + 1)
            _screenshot(_graph_url(prometheus, f"{minutes}m"), args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
