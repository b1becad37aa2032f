"""Failed and crashed flow runs email the admins with the error and the run's link in the UI.

Every flow lists ``ALERT_HOOKS`` in its decorator: ``@flow(..., **ALERT_HOOKS)`` (or ``CRASH_HOOKS``
when it emails its own failure report).
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def flow_run_url(flow_run_id: Any) -> str:
    """The address of a flow run in the Prefect UI (PREFECT_UI_URL, else the configured app URL)."""
    from prefect.settings import PREFECT_UI_URL

    from tasks.settings import get_settings

    base = PREFECT_UI_URL.value() or get_settings().reminders.app_url
    return f"{str(base).rstrip('/')}/runs/flow-run/{flow_run_id}"


def alert_admins(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect state hook: email the admins that ``flow_run`` failed or crashed (never raises)."""
    try:
        from notifications.alerts import send_admin_alert
        from tasks.settings import get_settings

        url = flow_run_url(flow_run.id)
        subject = f"{flow.name} {state.name.lower()}: run {flow_run.name}"
        text = (
            f"The run {flow_run.name} of {flow.name} ended {state.name}.\n\n"
            f"{state.message or 'No message was recorded.'}\n\n"
            f"Parameters: {', '.join(sorted(flow_run.parameters or {})) or 'none'}\n"
            f"Open it in the Prefect UI: {url}\n"
        )
        send_admin_alert(get_settings(), subject, text)
    except Exception as err:  # an alert must never hide the failure it reports
        logger.error("could not send the failure alert for %s: %s", getattr(flow_run, "name", "?"), err)


ALERT_HOOKS: dict[str, list[Any]] = {"on_failure": [alert_admins], "on_crashed": [alert_admins]}
# For flows that send their own, more detailed, failure alert: only a crash is reported here.
CRASH_HOOKS: dict[str, list[Any]] = {"on_crashed": [alert_admins]}
