"""Failed and crashed flow runs email the admins with the error and the run's link in the UI.

Every flow lists ``ALERT_HOOKS`` in its decorator: ``@flow(..., **ALERT_HOOKS)`` (or ``CRASH_HOOKS``
when it emails its own failure report).

One alert per cause, not one per run: a flow that keeps failing the same way (the same state and
message, run ids and durations aside) alerts once per ``REPEAT_AFTER_SECONDS``; another cause
alerts at once, and so does the first one again after a run of the flow completed. What was sent
is remembered per flow in ``<data_dir>/.alerts/<flow>.json``, since each run may be its own process.
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

REPEAT_AFTER_SECONDS = 24 * 3600
ALERTS_DIR = ".alerts"
# What differs between two runs failing the same way: ids, hashes and durations.
_VARYING = re.compile(r"\b[0-9a-f]{8}(?:-?[0-9a-f]{4}){3}-?[0-9a-f]{12}\b|\b[0-9a-f]{12,}\b|\b\d+\.\d+\b")


def flow_run_url(flow_run_id: Any) -> str:
    """The address of a flow run in the Prefect UI (PREFECT_UI_URL, else the configured app URL)."""
    from prefect.settings import PREFECT_UI_URL

    from tasks.settings import get_settings

    base = PREFECT_UI_URL.value() or get_settings().reminders.app_url
    return f"{str(base).rstrip('/')}/runs/flow-run/{flow_run_id}"


def _text(value: str) -> str:
    """``value`` as text an email takes (a stray byte of a file name written ``\\xff``)."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def alert_cause(state: Any) -> str:
    """What tells one failure of a flow from another."""
    return _text(f"{state.name}: {_VARYING.sub('#', state.message or '')}")[:2000]


def _memory(flow_name: str) -> Path:
    from tasks.operations.run_reports import artifact_key
    from tasks.settings import get_settings

    return get_settings().data_dir / ALERTS_DIR / f"{artifact_key(flow_name)}.json"


def _sent(path: Path) -> dict[str, float]:
    """Cause -> when it was last emailed, for the causes emailed less than the repeat time ago."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    horizon = time.time() - REPEAT_AFTER_SECONDS
    return {str(k): float(v) for k, v in loaded.items() if isinstance(v, (int, float)) and v >= horizon} \
        if isinstance(loaded, dict) else {}


def already_alerted(flow_name: str, cause: str) -> bool:
    """Whether ``cause`` was emailed for ``flow_name`` within the repeat time; if not, note that it is now."""
    from tasks.documents.store import write_atomically

    path = _memory(flow_name)
    sent = _sent(path)
    if cause in sent:
        return True
    sent[cause] = time.time()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps(sent, ensure_ascii=True, indent=1).encode("ascii"))
    except OSError as err:  # then the next run alerts again: better twice than never
        logger.warning("could not remember the alert for %s in %s: %s", flow_name, path, err)
    return False


def alert_admins(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect state hook: email the admins that ``flow_run`` failed or crashed, unless the last
    alert for the flow had the same cause (never raises)."""
    try:
        from notifications.alerts import send_admin_alert
        from tasks.settings import get_settings

        if already_alerted(flow.name, alert_cause(state)):
            logger.info("%s %s again, as already alerted: no new alert for run %s",
                        flow.name, state.name.lower(), flow_run.name)
            return
        url = flow_run_url(flow_run.id)
        subject = f"{flow.name} {state.name.lower()}: run {flow_run.name}"
        text = (
            f"The run {flow_run.name} of {flow.name} ended {state.name}.\n\n"
            f"{state.message or 'No message was recorded.'}\n\n"
            f"Parameters: {', '.join(sorted(flow_run.parameters or {})) or 'none'}\n"
            f"Open it in the Prefect UI: {url}\n"
            f"Later runs that fail the same way are not alerted for {REPEAT_AFTER_SECONDS // 3600} hours "
            f"or until a run of {flow.name} completes.\n"
        )
        send_admin_alert(get_settings(), _text(subject), _text(text))
    except Exception as err:  # an alert must never hide the failure it reports
        logger.error("could not send the failure alert for %s: %s", getattr(flow_run, "name", "?"), err)


def forget_alerts(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect state hook: a completed run means the flow works again; its next failure alerts."""
    try:
        _memory(flow.name).unlink(missing_ok=True)
    except Exception as err:  # never fail a run that completed
        logger.warning("could not reset the alerts of %s: %s", getattr(flow, "name", "?"), err)


ALERT_HOOKS: dict[str, list[Any]] = {
    "on_failure": [alert_admins], "on_crashed": [alert_admins], "on_completion": [forget_alerts]}
# For flows that send their own, more detailed, failure alert: only a crash is reported here.
CRASH_HOOKS: dict[str, list[Any]] = {"on_crashed": [alert_admins], "on_completion": [forget_alerts]}
