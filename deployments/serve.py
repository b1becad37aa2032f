"""`invoices serve`: serve every deployment from this process, and watch the drop folder."""

from __future__ import annotations

import logging
import threading
import time

from deployments.registry import DeploymentSpec, deployment_specs
from tasks import drop_folder
from tasks.settings import Settings

logger = logging.getLogger(__name__)


def build_deployments(settings: Settings, specs: list[DeploymentSpec]) -> list[object]:
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
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


def watch_inbox(settings: Settings, stop: threading.Event) -> None:
    """Start ingest-folder as soon as a ready file is in the drop folder (no run while idle)."""
    from prefect.deployments import run_deployment

    inbox = settings.inbox_dir
    drop_folder.ensure_layout(inbox)
    while not stop.wait(settings.storage.watch_interval_seconds):
        try:
            if drop_folder.ready_files(inbox, settings.storage.settle_seconds):
                run = run_deployment("ingest-folder/ingest-folder", timeout=None, tags=["inbox-watch"])
                logger.info("ingest-folder run %s finished: %s", run.name, run.state_name)
        except Exception as err:  # keep watching; the scheduled run is the safety net
            logger.warning("inbox watch: %s", err)
            time.sleep(settings.storage.watch_interval_seconds)


def serve(settings: Settings) -> None:
    from prefect import serve as prefect_serve

    stop = threading.Event()
    watcher = threading.Thread(target=watch_inbox, args=(settings, stop), name="inbox-watch", daemon=True)
    watcher.start()
    try:
        prefect_serve(*build_deployments(settings, deployment_specs(settings)),
                      query_seconds=settings.prefect.runner_poll_seconds)
    finally:
        stop.set()
