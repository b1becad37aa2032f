"""Long work started at the desk is a run of its Prefect deployment: start one, read its state,
link to it in the Prefect UI, and the last run of every deployment for the home page."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tasks.errors import InvoiceAutomationError
from tasks.operations.prefect_server import api_url
from tasks.settings import Settings

logger = logging.getLogger(__name__)


class RunError(InvoiceAutomationError):
    """A deployment run could not be started or read (the Prefect server is down, say)."""


@dataclass(frozen=True)
class RunView:
    id: str
    name: str
    deployment: str
    state: str  # the state's name: Scheduled, Running, Completed, Failed ...
    state_type: str  # SCHEDULED, PENDING, RUNNING, COMPLETED, FAILED, CRASHED, CANCELLED ...
    started: datetime | None
    url: str
    parameters: dict[str, Any]

    @property
    def finished(self) -> bool:
        return self.state_type in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def ui_url(settings: Settings) -> str:
    return (settings.desk.prefect_ui_url or api_url(settings).removesuffix("/api")).rstrip("/")


def run_url(settings: Settings, run_id: str) -> str:
    return f"{ui_url(settings)}/runs/flow-run/{run_id}"


def _view(settings: Settings, run: Any, deployment: str) -> RunView:
    state = run.state
    return RunView(str(run.id), run.name, deployment, state.name if state else "Unknown",
                   state.type.value if state else "UNKNOWN", run.start_time or run.expected_start_time,
                   run_url(settings, str(run.id)), dict(run.parameters or {}))


def _client(settings: Settings):  # type: ignore[no-untyped-def]
    from prefect.client.orchestration import SyncPrefectClient

    return SyncPrefectClient(api_url(settings))


def start_run(settings: Settings, deployment: str, parameters: dict[str, Any], actor: str) -> RunView:
    """Start a run of ``deployment`` (its flow has the same name) now; it runs wherever the
    deployments are served (`invoices serve` or a worker)."""
    try:
        with _client(settings) as client:
            found = client.read_deployment_by_name(f"{deployment}/{deployment}")
            run = client.create_flow_run_from_deployment(found.id, parameters=parameters,
                                                         tags=["desk", f"by:{actor}"])
    except Exception as err:  # the Prefect client raises many kinds; the page says why, in words
        raise RunError(f"could not start {deployment}: {type(err).__name__}: {err}") from err
    return _view(settings, run, deployment)


def read_run(settings: Settings, run_id: str) -> RunView:
    try:
        with _client(settings) as client:
            run = client.read_flow_run(run_id)
            deployment = client.read_deployment(run.deployment_id).name if run.deployment_id else ""
    except Exception as err:
        raise RunError(f"could not read run {run_id}: {type(err).__name__}: {err}") from err
    return _view(settings, run, deployment)


def last_runs(settings: Settings, names: list[str]) -> list[RunView | str]:
    """The newest run of each deployment that has started (its name alone when it has none; the
    runs scheduled for later are the schedule's, not a last run); empty when the Prefect server
    cannot be reached."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    started = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
        not_any_=[StateType.SCHEDULED, StateType.PENDING])))
    found: list[RunView | str] = []
    try:
        with _client(settings) as client:
            for name in names:
                runs = client.read_flow_runs(flow_run_filter=started,
                                             deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[name])),
                                             sort=FlowRunSort.START_TIME_DESC, limit=1)
                found.append(_view(settings, runs[0], name) if runs else name)
    except Exception as err:
        raise RunError(f"the Prefect server at {api_url(settings)} did not answer: {type(err).__name__}") from err
    return found
