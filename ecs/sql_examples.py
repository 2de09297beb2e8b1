"""``ecs sql``: the documented example queries (``docs/sql``) on SQLite or PostgreSQL.

Pasting a query into ``psql`` or ``sqlite3`` trips over three things: PostgreSQL-only syntax,
parameters that only ``psql -v`` understands, and ids — SQLite stores UUIDs as 32 hex digits
without dashes, so an id copied from the API matches no row. Here each query file declares its
parameters in its header (``-- param user_id: uuid``, ``-- param since: timestamp = 7 days
ago``); values are bound with the same column types the tables use (so an id with dashes finds
its row on either database), and ids in the result are printed as the API prints them. Where
the databases' syntax differs (date arithmetic), the file carries its own rewrite rules
(``-- on sqlite: <PostgreSQL text> => <SQLite text>``), so each query exists once; a rule whose
text is missing from the query is an error, so rules cannot rot. ``tests/stream/
test_sql_examples.py`` runs every example through this module on both databases.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Float, Integer, String, Uuid, bindparam, text
from sqlalchemy.sql.selectable import TextualSelect
from sqlalchemy.types import TypeEngine

from ecs.db.types import UTCDateTime
from ecs.errors import InvalidInput

SQL_DIR = Path(__file__).resolve().parents[1] / "docs" / "sql"
UUID_COLUMNS = ("id", "user_id", "event_id", "decision_id", "offer_id")
"""Result columns read as UUIDs (SQLite returns them as bare hex otherwise)."""
TIME_COLUMNS = ("occurred_at", "received_at", "created_at", "requested_at", "scored_at")
"""Result columns read as UTC timestamps (SQLite returns them as naive text otherwise)."""

_PARAM = re.compile(r"^--\s*param\s+(\w+)\s*:\s*(\w+)\s*(?:=\s*(.+?))?\s*$", re.MULTILINE)
_REWRITE = re.compile(r"^--\s*on\s+(\w+)\s*:\s*(.+?)\s*=>\s*(.+?)\s*$", re.MULTILINE)
_AGO = re.compile(r"^(\d+)\s+days?\s+ago$")
_TYPES: dict[str, TypeEngine[Any]] = {
    "uuid": Uuid(),
    "timestamp": UTCDateTime(),
    "float": Float(),
    "int": Integer(),
    "text": String(),
}


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    default: str | None


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[Sequence[Any]]


def available() -> list[str]:
    return sorted(p.stem for p in SQL_DIR.glob("*.sql"))


def query_file(name: str) -> Path:
    """``name`` is an example's name (``emotions_last_week``) or a path to a ``.sql`` file."""
    path = Path(name) if name.endswith(".sql") else SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise InvalidInput(f"no query {name!r}; the examples are: {', '.join(available())}")
    return path


def for_dialect(sql: str, dialect: str) -> str:
    """Apply the file's ``-- on <dialect>:`` rewrites (comment lines are dropped first)."""
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    for target, old, new in _REWRITE.findall(sql):
        if target != dialect:
            continue
        if old not in body:
            raise ValueError(f"rewrite rule for {dialect}: {old!r} is not in the query")
        body = body.replace(old, new)
    return body


def declared_params(sql: str) -> list[Param]:
    params = [Param(n, k, d or None) for n, k, d in _PARAM.findall(sql)]
    for p in params:
        if p.kind not in _TYPES:
            raise InvalidInput(f"parameter {p.name}: unknown type {p.kind!r}")
    return params


def parse_value(param: Param, raw: str | None, now: datetime) -> Any:
    """A parameter's value from the command line (or its declared default)."""
    value = raw if raw is not None else param.default
    if value is None:
        raise InvalidInput(f"missing parameter {param.name} ({param.kind}): pass {param.name}=…")
    try:
        if param.kind == "uuid":
            return uuid.UUID(value)  # with or without dashes
        if param.kind == "timestamp":
            ago = _AGO.match(value)
            if ago:
                return now - timedelta(days=int(ago.group(1)))
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=now.tzinfo)
        if param.kind == "float":
            return float(value)
        if param.kind == "int":
            return int(value)
    except ValueError as exc:
        raise InvalidInput(f"parameter {param.name}: {value!r} is not a {param.kind}") from exc
    return value


def statement(sql: str, params: Sequence[Param]) -> TextualSelect:
    binds = [bindparam(p.name, type_=_TYPES[p.kind]) for p in params if f":{p.name}" in sql]
    typed: dict[str, TypeEngine[Any]] = {c: Uuid() for c in UUID_COLUMNS}
    typed.update({c: UTCDateTime() for c in TIME_COLUMNS})
    return text(sql).bindparams(*binds).columns(**typed)


def run_example(engine: Engine, name: str, raw: Mapping[str, str], now: datetime) -> Result:
    source = query_file(name).read_text()
    params = declared_params(source)
    sql = for_dialect(source, engine.dialect.name)
    unknown = set(raw) - {p.name for p in params}
    if unknown:
        raise InvalidInput(f"unknown parameter(s) {', '.join(sorted(unknown))} for {name}")
    values = {p.name: parse_value(p, raw.get(p.name), now) for p in params}
    with engine.connect() as conn:
        result = conn.execute(statement(sql, params), values)
        return Result(list(result.keys()), [tuple(row) for row in result])


def render(result: Result) -> str:
    """An aligned plain-text table, like psql's, with a row count."""
    cells = [[_cell(v) for v in row] for row in result.rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(result.columns)]
    line = " | ".join(c.ljust(w) for c, w in zip(result.columns, widths, strict=True))
    rule = "-+-".join("-" * w for w in widths)
    body = [" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    count = f"({len(cells)} row{'s' if len(cells) != 1 else ''})"
    return "\n".join([line, rule, *body, count])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
