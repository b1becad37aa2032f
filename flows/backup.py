"""backup: make a backup, prove it restores, then prune what retention no longer needs.

A backup that cannot be made or does not verify fails the run (red in the UI) and emails the
admins; nothing is pruned after a failed verification.
"""

from __future__ import annotations

import time
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.context import FlowRunContext

from tasks.backup.make import make_backup
from tasks.backup.retention import apply_retention
from tasks.backup.verify import verify_backup
from tasks.errors import BackupError
from tasks.operations.run_alerts import CRASH_HOOKS, flow_run_url
from tasks.operations.run_reports import (
    markdown_table,
    publish_markdown,
    summary_markdown,
)
from tasks.settings import Settings, get_settings


@task(name="make-backup")
def make_backup_task(flow_run_id: str | None = None) -> dict[str, Any]:
    return make_backup(get_settings(), flow_run_id).as_dict()


@task(name="verify-backup")
def verify_backup_task(backup_id: str) -> dict[str, Any]:
    outcome = verify_backup(get_settings(), backup_id)
    return {**outcome.as_dict(), "summary": outcome.summary()}


@task(name="prune-backups")
def prune_backups_task(dry_run: bool = False) -> dict[str, Any]:
    return apply_retention(get_settings(), dry_run=dry_run).as_dict()


def _mb(value: int | None) -> str:
    return f"{(value or 0) / 1e6:.1f}"


def _report(made: dict[str, Any] | None, verification: dict[str, Any] | None, retention: dict[str, Any] | None,
            error: str | None, seconds: float) -> tuple[str, str]:
    made = made or {}
    result = ("failed: " + error) if error else (verification or {}).get("status", "not verified")
    counts = {
        "backup": made.get("backup_id", "-"),
        "result": result.split(":")[0],
        "size MB": _mb(made.get("size_bytes")),
        "database MB": _mb(made.get("database_bytes")),
        "documents": made.get("file_count", 0),
        "new files": made.get("new_file_count", 0),
        "new MB": _mb(made.get("new_bytes")),
        "invoices": made.get("invoice_count", 0),
        "backup s": made.get("duration_seconds", 0),
        "verify s": (verification or {}).get("duration_seconds", "-"),
        "pruned": len((retention or {}).get("pruned", [])),
        "run s": round(seconds, 1),
    }
    attention = [{"what": "error", "detail": error}] if error else []
    attention += [{"what": "verification", "detail": p} for p in (verification or {}).get("problems", [])[:50]]
    attention += [{"what": "warning", "detail": w} for w in (verification or {}).get("warnings", [])[:50]]
    attention += [{"what": "store", "detail": d} for d in made.get("damaged", [])[:50]]
    attention += [{"what": "prune", "detail": e} for e in (retention or {}).get("errors", [])]
    scratch = [*made.get("scratch_dropped", []), *(verification or {}).get("scratch_dropped", [])]
    attention += [{"what": "scratch", "detail": d} for d in scratch]
    notes = [f"Leftover scratch copies: {'; '.join(scratch)}."] if scratch else []
    if verification:
        notes.append(f"Verification: {verification.get('summary', verification.get('status'))}.")
    if retention is None:
        notes.append("Retention: not run" + (" (the backup did not verify, so nothing was pruned)." if error else "."))
    else:
        pruned = ", ".join(retention["pruned"]) or "nothing"
        notes.append(f"Pruned: {pruned}.\n\nKept:\n\n" + markdown_table(
            [{"backup": k, "why": v} for k, v in sorted(retention["kept"].items(), reverse=True)], ["backup", "why"]))
    markdown = summary_markdown("Backup", counts, attention, ["what", "detail"], note="\n\n".join(notes))
    description = f"backup {counts['backup']}: {counts['result']}, {counts['size MB']} MB, {counts['new files']} new files"
    return markdown, description


def _alert(settings: Settings, subject: str, text: str) -> None:
    from notifications.alerts import send_admin_alert

    send_admin_alert(settings, subject, text)


@flow(name="backup", log_prints=False, **CRASH_HOOKS)
def backup(verify: bool = True, prune: bool = True) -> dict[str, Any]:
    """Back up the database and the document store, prove the backup restores, apply retention.

    Args:
        verify: restore the new backup into a scratch database and check every file (recommended).
        prune: delete backups that retention (keep_daily/weekly/monthly) no longer needs.
    """
    settings = get_settings()
    logger = get_run_logger()
    started = time.monotonic()
    context = FlowRunContext.get()
    run_id = str(context.flow_run.id) if context and context.flow_run else None
    made = verification = retention = None
    error: str | None = None
    try:
        made = make_backup_task(run_id)
        if verify:
            verification = verify_backup_task(made["backup_id"])
            if verification["status"] != "verified":
                error = verification["summary"]
        if prune and error is None:
            retention = prune_backups_task()
    except Exception as err:
        error = str(err) or type(err).__name__
    markdown, description = _report(made, verification, retention, error, time.monotonic() - started)
    publish_markdown("backup", markdown, description)
    if error:
        backup_id = (made or {}).get("backup_id", "")
        subject = f"Backup {backup_id} failed verification" if verification else "Backup failed"
        link = f"\n\nOpen the run in the Prefect UI: {flow_run_url(run_id)}" if run_id else ""
        _alert(settings, subject, f"{error}{link}\n\n{markdown}")
        logger.error("%s", error)
        raise BackupError(error)
    logger.info("backup %s %s", made["backup_id"] if made else "", (verification or {}).get("status", "created"))
    return {"backup_id": made["backup_id"] if made else None, "status": (verification or {}).get("status", "created"),
            "size_bytes": (made or {}).get("size_bytes", 0), "new_files": (made or {}).get("new_file_count", 0),
            "pruned": (retention or {}).get("pruned", [])}
