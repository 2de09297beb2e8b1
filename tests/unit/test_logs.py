"""Log lines: JSON with every id in context and no escape codes, or a readable console line."""

from __future__ import annotations

import logging

import orjson
from opentelemetry.sdk.trace import TracerProvider

from ecs.logs import ConsoleFormatter, JsonFormatter, log_context


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "ecs.test", logging.INFO, __file__, 1, "deployed %s", ("credit",), None
    )
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_lines_carry_context_ids_and_no_terminal_escape_codes() -> None:
    record = _record(color_message="\x1b[32mdeployed\x1b[0m", amount="100.00")
    with log_context(request_id="r1", user_id="u1", decision_id="d1", workflow_id="wf1"):
        entry = orjson.loads(JsonFormatter("api").format(record))
    assert entry["msg"] == "deployed credit"
    assert {k: entry[k] for k in ("request_id", "user_id", "decision_id", "workflow_id")} == {
        "request_id": "r1",
        "user_id": "u1",
        "decision_id": "d1",
        "workflow_id": "wf1",
    }
    assert entry["amount"] == "100.00"
    assert "color_message" not in entry
    assert "\x1b" not in JsonFormatter("api").format(record)


def test_trace_and_span_ids_of_the_current_span_are_in_every_line() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("request") as span:
        entry = orjson.loads(JsonFormatter("api").format(_record()))
        context = span.get_span_context()
    assert entry["trace_id"] == format(context.trace_id, "032x")
    assert entry["span_id"] == format(context.span_id, "016x")
    assert "trace_id" not in orjson.loads(JsonFormatter("api").format(_record()))


def test_console_lines_are_one_readable_line_with_the_fields() -> None:
    with log_context(request_id="r1"):
        line = ConsoleFormatter("worker").format(_record(amount="100.00"))
    assert "\n" not in line and "{" not in line
    assert "INFO" in line and "worker" in line and "deployed credit" in line
    assert "request_id=r1" in line and "amount=100.00" in line
