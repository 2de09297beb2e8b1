"""Where a workflow's time goes, from its history's event timestamps (medians over many runs).

Regular activities: ActivityTaskScheduled → Started (queued) → Completed (ran). Local activities
leave only a MarkerRecorded event, written when the workflow task they ran in completes (the SDK
runs consecutive local activities inside one task); the time they took together is that task's
started → completed. The marker's own ``complete_time`` is the deterministic workflow clock, so
it cannot time them one by one.
"""

from __future__ import annotations

import json
import statistics
from datetime import datetime
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

LOCAL_ACTIVITY_MARKER = "core_local_activity"


def _marker_data(ev: Any) -> dict[str, Any]:
    """The SDK's local-activity marker details (``data``: plain JSON written by the worker core,
    not passed through the payload codec): activity_type, seq, attempt, complete_time..."""
    payloads = ev.marker_recorded_event_attributes.details.get("data")
    if payloads is None or not payloads.payloads:
        return {}
    try:
        data = json.loads(payloads.payloads[0].data)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def history_breakdown(client: Client, workflow_ids: list[str]) -> dict[str, float]:
    """Median milliseconds from WorkflowExecutionStarted to each activity's completion, and per
    regular activity how long it queued and ran."""
    marks: dict[str, list[float]] = {}
    for wid in workflow_ids:
        history = await client.get_workflow_handle(wid).fetch_history()
        events = history.events
        t0 = events[0].event_time.ToDatetime()
        names: dict[int, str] = {}
        scheduled: dict[int, datetime] = {}
        started: dict[int, datetime] = {}
        seen: dict[str, int] = {}
        first_wft: datetime | None = None
        first_started: datetime | None = None

        for ev in events:
            t = ev.event_time.ToDatetime()
            if (
                ev.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
                and first_started is None
            ):
                first_started = t
                marks.setdefault("first workflow task started", []).append(_ms(t, t0))
            if ev.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and first_wft is None:
                first_wft = t
                marks.setdefault("first workflow task completed", []).append(_ms(t, t0))
                if first_started is not None:
                    marks.setdefault(
                        "first workflow task ran (local activities run inside it)", []
                    ).append(_ms(t, first_started))
            if ev.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
                if ev.marker_recorded_event_attributes.marker_name != LOCAL_ACTIVITY_MARKER:
                    continue
                data = _marker_data(ev)
                name = _label(seen, str(data.get("activity_type", "local activity")), " (local)")
                # The marker's complete_time is the *workflow* clock (the task's start), not the
                # moment the activity finished, so only the marker event's time is usable: the
                # end of the workflow task the local activity ran in.
                marks.setdefault(f"{name} recorded (since start)", []).append(_ms(t, t0))
            elif ev.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                name = ev.activity_task_scheduled_event_attributes.activity_type.name
                names[ev.event_id] = _label(seen, name)
                scheduled[ev.event_id] = t
            elif ev.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                sid = ev.activity_task_started_event_attributes.scheduled_event_id
                started[sid] = t
            elif ev.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                sid = ev.activity_task_completed_event_attributes.scheduled_event_id
                name = names[sid]
                marks.setdefault(f"{name} done (since start)", []).append(_ms(t, t0))
                if sid in started:
                    marks.setdefault(f"{name} queued", []).append(_ms(started[sid], scheduled[sid]))
                    marks.setdefault(f"{name} ran", []).append(_ms(t, started[sid]))
        last = events[-1].event_time.ToDatetime()
        marks.setdefault("last event (since start)", []).append(_ms(last, t0))
        # Each event is a write on the server: a count says what a shape costs Temporal.
        marks.setdefault("events in the history (a count)", []).append(float(len(events)))
    return {key: statistics.median(values) for key, values in marks.items()}


def _label(seen: dict[str, int], name: str, suffix: str = "") -> str:
    """``name``, then ``name#2``... for an activity that runs more than once in one history."""
    seen[name] = seen.get(name, 0) + 1
    return (name if seen[name] == 1 else f"{name}#{seen[name]}") + suffix


def _ms(a: datetime, b: datetime) -> float:
    return (a - b).total_seconds() * 1000
