"""Logs on stdout: structured JSON, or a readable line when a person is watching a terminal.

Every line carries the request, user, decision/workflow and trace ids where known. Ids travel in
context variables so that any log line emitted while handling a request (or an activity) is
correlated without threading a logger through every call; trace and span ids come from the
current OpenTelemetry span when tracing is on.

``ECS_LOG_FORMAT``: ``json`` (production, and whenever stdout is piped), ``console`` (one
aligned human line per record), or ``auto`` (the default: console on a terminal, JSON otherwise).
JSON lines never carry terminal escape codes: uvicorn's ``color_message`` duplicate is dropped.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

try:  # the API of OpenTelemetry only (no SDK): a no-op unless tracing is configured
    from opentelemetry import trace as _otel_trace
except ImportError:  # pragma: no cover - temporalio depends on it, but it is optional here
    _otel_trace = None  # type: ignore[assignment]

LogFormat = Literal["auto", "json", "console"]

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
user_id_var: ContextVar[str | None] = ContextVar("user_id", default=None)
workflow_id_var: ContextVar[str | None] = ContextVar("workflow_id", default=None)
decision_id_var: ContextVar[str | None] = ContextVar("decision_id", default=None)

_CONTEXT_VARS = {
    "request_id": request_id_var,
    "user_id": user_id_var,
    "decision_id": decision_id_var,
    "workflow_id": workflow_id_var,
}
# Record attributes that are not "extra" fields; color_message is uvicorn's ANSI-coloured copy.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "color_message",
}


def log_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ids in context, the trace ids, then the record's own extra fields."""
    fields: dict[str, Any] = {}
    for key, var in _CONTEXT_VARS.items():
        value = var.get()
        if value is not None:
            fields[key] = value
    if _otel_trace is not None:
        context = _otel_trace.get_current_span().get_span_context()
        if context.is_valid:
            fields["trace_id"] = format(context.trace_id, "032x")
            fields["span_id"] = format(context.span_id, "016x")
    for key, value in vars(record).items():
        if key not in _RESERVED and not key.startswith("_"):
            fields[key] = value
    return fields


class JsonFormatter(logging.Formatter):
    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "component": self.component,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(log_fields(record))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class ConsoleFormatter(logging.Formatter):
    """``12:00:01.234 INFO  worker  ecs.activities  deployed credit  user_id=… amount=…``"""

    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S.%f")[:-3]
        fields = " ".join(f"{k}={v}" for k, v in log_fields(record).items())
        line = (
            f"{ts} {record.levelname:<7} {self.component:<8} {record.name}  "
            f"{record.getMessage()}{'  ' + fields if fields else ''}"
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _formatter(component: str, fmt: LogFormat) -> logging.Formatter:
    console = fmt == "console" or (fmt == "auto" and sys.stdout.isatty())
    return ConsoleFormatter(component) if console else JsonFormatter(component)


def configure_logging(component: str, level: str = "INFO", fmt: LogFormat = "auto") -> None:
    """Route every logger (ours, uvicorn's, temporalio's) through one handler on stdout."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_formatter(component, fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Our middleware logs every request with ids; uvicorn's access line would duplicate it.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


@contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    tokens = [(_CONTEXT_VARS[k], _CONTEXT_VARS[k].set(v)) for k, v in ids.items() if v is not None]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
