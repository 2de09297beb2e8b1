"""The ``ecs`` command line: one entry point for every process of the system.

One-shot commands (``ONE_SHOT``) started beside a running ``ecs dev`` use that stack's database,
Redis and ports unless ``ECS_DATABASE_URL`` says otherwise (``ecs.stackstate``): the same
settings as the running stack, whichever terminal they are typed in.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Sequence

from ecs.logs import configure_logging
from ecs.settings import InsecureConfiguration, Settings, get_settings
from ecs.tracing import setup_tracing


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from ecs.db.migrate import upgrade

    configure_logging("migrate", settings.log_level, settings.log_format)
    upgrade(settings.effective_database_url)
    print(f"database migrated: {settings.effective_database_url.split('@')[-1]}")
    return 0


def _api(settings: Settings, args: argparse.Namespace) -> int:
    import os
    import tempfile

    import uvicorn

    configure_logging("api", settings.log_level, settings.log_format)
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker process counts in shared files that /metrics merges: no counts are lost
        # whichever worker answers the scrape. A fresh directory: stale files would add up.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ecs-metrics-")
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=args.host or settings.api_host,
        port=args.port or settings.api_port,
        log_config=None,
        access_log=False,
        workers=args.workers,
        timeout_graceful_shutdown=10,
    )
    return 0


def _worker(settings: Settings, _args: argparse.Namespace) -> int:
    from worker import run_worker

    configure_logging("worker", settings.log_level, settings.log_format)
    setup_tracing("worker")
    asyncio.run(run_worker(settings))
    return 0


def _stream(settings: Settings, args: argparse.Namespace) -> int:
    import uvloop

    from ecs.stream.process import run_consumer

    configure_logging("stream", settings.log_level, settings.log_format)
    setup_tracing("stream")
    # uvloop, as the API runs under uvicorn: the consumer's round trips to Redis and its thread
    # hand-offs to the database cost less CPU on it than on the selector loop.
    uvloop.run(run_consumer(settings, consumer_name=args.name, shards=args.shard))
    return 0


def _dev(settings: Settings, args: argparse.Namespace) -> int:
    from ecs.devstack import run_dev

    return run_dev(settings, args)


def _model_server(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from ecs.risk.server import create_app

    configure_logging("model-server", settings.log_level, settings.log_format)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_config=None, access_log=False)
    return 0


def _create_user(settings: Settings, args: argparse.Namespace) -> int:
    """Operators create analysts here: the public API only ever registers customers."""
    import getpass

    from sqlmodel import Session

    from ecs.accounts.users import MIN_PASSWORD_LENGTH, create_user
    from ecs.db.engine import get_engine
    from ecs.domain.status import Role
    from ecs.errors import Conflict, DomainError

    prompt = f"password (min {MIN_PASSWORD_LENGTH} characters): "
    password = args.password or getpass.getpass(prompt)
    with Session(get_engine(settings)) as session:
        try:
            user = create_user(session, args.email, password, Role(args.role))
        except Conflict:
            print(f"ecs: {args.email} is already registered", file=sys.stderr)
            return 1
        except DomainError as exc:
            print(f"ecs: {exc.detail}", file=sys.stderr)
            return 2
    print(f"created {args.role} {user.id}")
    return 0


def _dead_letters(settings: Settings, args: argparse.Namespace) -> int:
    """Operators inspect why entries were dead-lettered, then replay them once fixed."""
    from ecs.stream.connection import redis_client
    from ecs.stream.deadletters import list_dead_letters, replay_dead_letters
    from ecs.stream.shards import shard_keys

    async def run() -> int:
        redis = redis_client(settings)
        keys = shard_keys(settings.stream_name, settings.stream_shards)
        try:
            if args.action == "list":
                for key in keys:
                    for letter in await list_dead_letters(redis, key, args.count):
                        print(f"{letter.id.decode()}  from {letter.source_id}  {letter.error}")
                return 0
            ids = [i.encode() for i in args.ids] or None
            for key in keys:
                replayed = await replay_dead_letters(redis, key, ids)
                print(f"replayed {replayed} dead letter(s) into {key}")
            return 0
        finally:
            await redis.aclose()

    return asyncio.run(run())


def _simulate(settings: Settings, args: argparse.Namespace) -> int:
    from ecs.simulate import run_simulation

    configure_logging("simulate", settings.log_level, settings.log_format)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the summary
    return asyncio.run(run_simulation(settings, args))


def _sql(settings: Settings, args: argparse.Namespace) -> int:
    """The README's example queries, on either database, with ids as the API prints them."""
    from ecs.db.engine import get_engine
    from ecs.db.types import utcnow
    from ecs.errors import InvalidInput
    from ecs.sql_examples import available, render, run_example

    if args.query is None:
        print("example queries (docs/sql):", ", ".join(available()))
        return 0
    raw = dict(p.split("=", 1) for p in args.params if "=" in p)
    malformed = [p for p in args.params if "=" not in p]
    if malformed:
        print(f"ecs sql: parameters are name=value, not {' '.join(malformed)}", file=sys.stderr)
        return 2
    try:
        result = run_example(get_engine(settings), args.query, raw, utcnow())
    except InvalidInput as exc:
        print(f"ecs sql: {exc.detail}", file=sys.stderr)
        return 2
    print(render(result))
    return 0


def _retention(settings: Settings, args: argparse.Namespace) -> int:
    """A one-shot job (cron / Kubernetes CronJob): needs only the database, not the stream."""
    from ecs.db.engine import get_engine
    from ecs.db.types import utcnow
    from ecs.retention import apply_retention

    configure_logging("retention", settings.log_level, settings.log_format)
    report = apply_retention(get_engine(settings), settings, utcnow(), batch_size=args.batch_size)
    print(report.summary())
    return 0


def build_parser() -> argparse.ArgumentParser:
    from ecs.simulate import add_arguments as add_simulate_arguments

    parser = argparse.ArgumentParser(prog="ecs", description="Empathic Credit System")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=_migrate)

    api = sub.add_parser("api", help="run the HTTP API")
    api.add_argument("--host", default=None)
    api.add_argument("--port", type=int, default=None)
    api.add_argument("--workers", type=int, default=1)
    api.set_defaults(func=_api)

    sub.add_parser("worker", help="run the Temporal worker").set_defaults(func=_worker)

    stream = sub.add_parser("stream", help="run the emotion stream consumer")
    stream.add_argument("--name", default=None, help="consumer name (default: host-pid)")
    stream.add_argument(
        "--shard",
        type=int,
        action="append",
        default=None,
        help="consume only this shard (repeatable; default: every shard of ECS_STREAM_SHARDS)",
    )
    stream.set_defaults(func=_stream)

    dev = sub.add_parser("dev", help="run the whole system on embedded defaults")
    dev.add_argument("--api-port", type=int, default=None)
    dev.add_argument("--temporal-port", type=int, default=7233)
    dev.add_argument("--ui-port", type=int, default=None)
    dev.add_argument("--redis-port", type=int, default=6380)
    dev.add_argument("--no-stream", action="store_true", help="do not start the stream consumer")
    dev.set_defaults(func=_dev)

    model = sub.add_parser("model-server", help="serve the risk scorecard over HTTP")
    model.add_argument("--host", default="127.0.0.1")
    model.add_argument("--port", type=int, default=8100)
    model.set_defaults(func=_model_server)

    dead = sub.add_parser("dead-letters", help="list or replay the emotion dead-letter stream")
    dead.add_argument("action", choices=["list", "replay"])
    dead.add_argument("ids", nargs="*", help="replay only these dead-letter ids (default: all)")
    dead.add_argument("--count", type=int, default=100, help="how many to list")
    dead.set_defaults(func=_dead_letters)

    user = sub.add_parser("create-user", help="create a user (e.g. an analyst) directly")
    user.add_argument("--email", required=True)
    user.add_argument("--role", choices=["customer", "analyst"], default="analyst")
    user.add_argument("--password", default=None, help="prompted for when omitted")
    user.set_defaults(func=_create_user)

    retention = sub.add_parser(
        "retention", help="delete emotional data past its retention period (run daily)"
    )
    retention.add_argument("--batch-size", type=int, default=10_000, help="rows per DELETE")
    retention.set_defaults(func=_retention)

    sql = sub.add_parser(
        "sql",
        help="run an example query of docs/sql on the configured database",
        description="Runs on SQLite and PostgreSQL alike; ids may be given as the API prints "
        "them. Example: ecs sql emotions_last_week user_id=<id from POST /v1/auth/register>",
    )
    sql.add_argument("query", nargs="?", help="example name or .sql path (omit to list them)")
    sql.add_argument("params", nargs="*", help="name=value, e.g. threshold=0.6")
    sql.set_defaults(func=_sql)

    sim = sub.add_parser(
        "simulate",
        help="a demo population using the running stack (see --days)",
        description="Customers of every risk profile register, get history through the ledger "
        "feed and the emotion API, stream readings and ask for credit. REFERRED decisions need "
        "the model down: run the stack with ECS_MODEL_URL at a stopped model server.",
    )
    add_simulate_arguments(sim)
    sim.set_defaults(func=_simulate)
    return parser


ONE_SHOT = frozenset({"create-user", "sql", "simulate", "retention", "dead-letters", "migrate"})
"""Commands that act on a stack rather than being one of its processes."""


def main(argv: Sequence[str] | None = None) -> int:
    from ecs.stackstate import with_running_stack

    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except InsecureConfiguration as exc:
        print(f"ecs: {exc}", file=sys.stderr)
        return 2
    if args.command in ONE_SHOT:
        settings, note = with_running_stack(settings, dict(os.environ))
        if note:
            print(note, file=sys.stderr)
    func: Callable[[Settings, argparse.Namespace], int] = args.func
    return func(settings, args)


if __name__ == "__main__":
    raise SystemExit(main())
