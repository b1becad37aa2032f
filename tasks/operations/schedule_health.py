"""Whether the Prefect server's scheduler works: every active schedule has upcoming runs.

The server's scheduler creates the runs of each schedule ahead of their time; a schedule with
none will never start a run by itself, whatever the server's health endpoint says. Runs that
are due but nobody starts (no `invoices serve` or worker running) are named too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

# A deployment registered this recently may not have had its turn with the scheduler yet.
JUST_REGISTERED = timedelta(seconds=30)
# A scheduled run this late has not been picked up by anything that runs deployments.
STUCK_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class ScheduleHealth:
    ok: bool
    detail: str
    fix: str = ""


def _local(moment: datetime, zone: str | None) -> str:
    try:
        shown = moment.astimezone(ZoneInfo(zone)) if zone else moment
    except (KeyError, ValueError):
        shown = moment
    return f"{shown:%Y-%m-%d %H:%M} {zone or 'UTC'}"


def schedule_health(now: datetime | None = None) -> ScheduleHealth:
    """Look at every deployment of the connected Prefect server (a settings context or
    PREFECT_API_URL must name it)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    now = now or datetime.now(timezone.utc)
    upcoming, missing, pending, stuck = [], [], [], []
    with get_client(sync_client=True) as client:
        for deployment in sorted(client.read_deployments(), key=lambda d: d.name):
            active = [s for s in deployment.schedules if s.active]
            if deployment.paused or not active:
                continue
            only_this = DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
            scheduled = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
            following = client.read_flow_runs(
                deployment_filter=only_this,
                flow_run_filter=FlowRunFilter(state=scheduled,
                                              expected_start_time=FlowRunFilterExpectedStartTime(after_=now)),
                sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=1,
            )
            late = client.read_flow_runs(
                deployment_filter=only_this,
                flow_run_filter=FlowRunFilter(
                    state=scheduled, expected_start_time=FlowRunFilterExpectedStartTime(before_=now - STUCK_AFTER)),
                limit=1,
            )
            if late:
                stuck.append(f"{deployment.name} (due {_local(late[0].expected_start_time, active[0].schedule.timezone)})")
            if following:
                upcoming.append(f"{deployment.name} {_local(following[0].expected_start_time, active[0].schedule.timezone)}")
            elif deployment.updated and now - deployment.updated < JUST_REGISTERED:
                pending.append(deployment.name)
            else:
                missing.append(deployment.name)
    if missing:
        return ScheduleHealth(
            False,
            f"no upcoming runs for {', '.join(missing)}: the Prefect server's scheduler is not creating them, "
            "so they will never run by themselves",
            "look for scheduler errors in the Prefect server's log (data/prefect/server.log under `make run`); "
            "`make setup` installs the tested versions",
        )
    if stuck:
        return ScheduleHealth(
            False, f"runs are due but nothing starts them: {', '.join(stuck)}",
            "start `invoices serve` (`make run` does) or a worker for the `invoices` work pool",
        )
    if not upcoming and not pending:
        return ScheduleHealth(False, "no deployment with an active schedule is registered",
                              "start `invoices serve` (`make run` does) or run `invoices deploy`")
    detail = "every active schedule has upcoming runs; next: " + ", ".join(upcoming)
    if pending:
        detail += f" ({', '.join(pending)} just registered, not scheduled yet)"
    return ScheduleHealth(True, detail)
