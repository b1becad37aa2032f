"""`invoices serve`: serve every deployment from this process, and watch the drop folder."""

from __future__ import annotations

import logging
import socket
import threading
import time
import warnings
from pathlib import Path

from deployments.registry import DeploymentSpec, deployment_specs
from tasks.documents import drop_folder
from tasks.settings import Settings

logger = logging.getLogger(__name__)


def build_deployments(settings: Settings, specs: list[DeploymentSpec]) -> list[object]:
    from prefect.client.schemas.objects import (
        ConcurrencyLimitConfig,
        ConcurrencyLimitStrategy,
    )
    from prefect.schedules import Cron, Interval

    deployments = []
    for spec in specs:
        schedules = []
        if spec.cron:
            schedules.append(Cron(spec.cron, timezone=settings.time_zone, parameters=spec.schedule_parameters))
        if spec.interval_seconds:
            schedules.append(
                Interval(spec.interval_seconds, timezone=settings.time_zone, parameters=spec.schedule_parameters)
            )
        limit = (
            ConcurrencyLimitConfig(limit=spec.concurrency, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)
            if spec.concurrency
            else None
        )
        deployments.append(
            spec.load_flow().to_deployment(
                name=spec.name,
                description=spec.description,
                schedules=schedules,
                parameters=spec.parameters,
                tags=list(spec.tags),
                concurrency_limit=limit,
            )
        )
    return deployments


INGEST_NAME = "ingest-folder"
INGEST_DEPLOYMENT = f"{INGEST_NAME}/{INGEST_NAME}"
WATCH_TAG = "inbox-watch"
# A file a run could not take (the database was down, say) is tried again this often, not at every look.
RETRY_LEFT_FILES_SECONDS = 60.0


def _host_tag() -> str:
    return f"served-by:{socket.gethostname()}"


def _unfinished():  # type: ignore[no-untyped-def]
    """The filter of runs that are pending or running."""
    from prefect.client.schemas.filters import FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    return FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PENDING, StateType.RUNNING]))


def _ingest_busy(client) -> bool:  # type: ignore[no-untyped-def]
    """Whether an ingest-folder run is pending or running (it takes the files; wait for it)."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName, FlowRunFilter

    return bool(client.read_flow_runs(
        deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[INGEST_NAME])),
        flow_run_filter=FlowRunFilter(state=_unfinished()), limit=1,
    ))


def ingest_here(ingest_flow) -> str:  # type: ignore[no-untyped-def]
    """Start a run of the ingest-folder deployment and execute it in this process, which has
    every module loaded already (a new process would spend seconds importing before it reads a
    file). The run is the deployment's like any other: its concurrency limit is asked when it
    goes to Pending, and should the runner of this process take it first, the runner runs it."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.responses import SetStateStatus
    from prefect.flow_engine import run_flow
    from prefect.states import Pending

    with get_client(sync_client=True) as client:
        if _ingest_busy(client):
            return "an ingest-folder run is already going on"
        deployment = client.read_deployment_by_name(INGEST_DEPLOYMENT)
        run = client.create_flow_run_from_deployment(deployment.id, tags=[WATCH_TAG, _host_tag()])
        taken = client.set_flow_run_state(run.id, Pending())
        if taken.status != SetStateStatus.ACCEPT:
            return f"ingest-folder run {run.name} is run by the runner ({taken.details})"
        run = client.read_flow_run(run.id)
    state = run_flow(ingest_flow, flow_run=run, parameters=run.parameters, return_type="state")
    return f"ingest-folder run {run.name} finished: {state.name}"


def crash_abandoned_ingest_runs() -> None:
    """Runs this machine's serve executed itself and did not finish (it was stopped or killed
    during one) are marked crashed; the next run takes their files again."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
    from prefect.states import Crashed

    with get_client(sync_client=True) as client:
        for run in client.read_flow_runs(flow_run_filter=FlowRunFilter(
                tags=FlowRunFilterTags(all_=[WATCH_TAG, _host_tag()]), state=_unfinished())):
            client.set_flow_run_state(run.id, Crashed(
                message="invoices serve stopped during this run; the next run takes its files again"), force=True)
            logger.warning("ingest-folder run %s was left unfinished by an earlier serve: marked crashed", run.name)


def watch_inbox(settings: Settings, stop: threading.Event, ingest_flow) -> None:  # type: ignore[no-untyped-def]
    """Run ingest-folder as soon as a ready file is in the drop folder (no run while idle)."""
    inbox, settle, interval = settings.inbox_dir, settings.storage.settle_seconds, settings.storage.watch_interval_seconds
    drop_folder.ensure_layout(inbox)
    wait = interval
    left: set[Path] = set()  # files the last run left in place (it could not take them)
    last_run = 0.0
    while not stop.wait(wait):
        try:
            ready = set(drop_folder.ready_files(inbox, settle))
            if ready - left or (ready and time.monotonic() - last_run >= RETRY_LEFT_FILES_SECONDS):
                last_run = time.monotonic()
                logger.info("inbox watch: %s", ingest_here(ingest_flow))
                left = set(drop_folder.ready_files(inbox, settle))
            # A file still settling is looked at again the moment it is ready, not a tick later.
            settling = drop_folder.seconds_until_settled(inbox, settle)
            wait = interval if settling is None else min(interval, settling + 0.01)
        except Exception as err:  # keep watching; the scheduled run is the safety net
            logger.warning("inbox watch: %s", err)
            wait = max(interval, 5.0)


def serve(settings: Settings) -> None:
    from prefect import serve as prefect_serve

    # Prefect's runner calls its async stop() unawaited on SIGTERM (it still pauses the schedules
    # and exits); the warning it prints is noise at every Ctrl-C of `make run`.
    warnings.filterwarnings("ignore", message="coroutine 'Runner.astop' was never awaited", category=RuntimeWarning)

    specs = deployment_specs(settings)
    deployments = build_deployments(settings, specs)
    ingest_flow = next(spec.load_flow() for spec in specs if spec.name == INGEST_NAME)
    stop = threading.Event()
    watcher = threading.Thread(target=watch_inbox, args=(settings, stop, ingest_flow), name="inbox-watch", daemon=True)
    try:
        crash_abandoned_ingest_runs()
    except Exception as err:  # the server may not know the deployments yet
        logger.warning("could not look for unfinished ingest runs: %s", err)
    try:
        from deployments.read_worker import ensure_ocr_limit

        ensure_ocr_limit(settings)
    except Exception as err:  # noqa: BLE001 - reading goes on, only without the cap across workers
        logger.warning("could not set the OCR concurrency limit: %s", err)
    watcher.start()
    try:
        prefect_serve(*deployments, query_seconds=settings.prefect.runner_poll_seconds)
    finally:
        stop.set()
