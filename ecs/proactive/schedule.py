"""The proactive-offers Temporal Schedule, registered idempotently by every worker at start.

Why the worker: it is the process that runs the schedule's workflow, it always has a Temporal
client, and it starts wherever ECS runs (``ecs dev``, compose, a cluster) — ``ecs migrate`` is a
database-only step that may run where Temporal is not reachable. Any number of workers may
register at once: the first creates the schedule, the others update it in place to the current
settings (interval, task queue), keeping its state, so a schedule an operator paused in the Web
UI stays paused across deploys. ``ECS_PROACTIVE_ENABLED=false`` leaves it alone (pause or delete
it in the Web UI to stop it).

Runs never overlap (``SKIP``) and missed runs are not caught up beyond one interval: a Temporal
outage must not fire a burst of runs when it ends.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from ecs.proactive.contract import SCHEDULE_ID, WORKFLOW_ID_PREFIX, WORKFLOW_NAME, ProactiveInput
from ecs.settings import Settings

log = logging.getLogger("ecs.proactive")
NOTE = "ECS proactive offers: selects eligible customers and starts a credit decision for each"


def schedule_for(settings: Settings, state: ScheduleState | None = None) -> Schedule:
    interval = timedelta(minutes=settings.proactive_interval_minutes)
    return Schedule(
        action=ScheduleActionStartWorkflow(
            WORKFLOW_NAME,
            ProactiveInput(),
            id=WORKFLOW_ID_PREFIX,  # the server appends the run's scheduled time
            task_queue=settings.temporal_task_queue,
            execution_timeout=interval,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=interval)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=interval),
        state=state or ScheduleState(note=NOTE),
    )


async def register(client: Client, settings: Settings, schedule_id: str = SCHEDULE_ID) -> bool:
    """Create the schedule, or update an existing one keeping its state; True when created."""
    try:
        await client.create_schedule(schedule_id, schedule_for(settings))
    except ScheduleAlreadyRunningError:

        def keep_state(current: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule_for(settings, current.description.schedule.state))

        await client.get_schedule_handle(schedule_id).update(keep_state)
        log.info("proactive-offers schedule updated", extra={"schedule_id": schedule_id})
        return False
    log.info("proactive-offers schedule created", extra={"schedule_id": schedule_id})
    return True
