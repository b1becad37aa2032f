"""ingest-folder: take every file dropped in the inbox folder into the document store."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from flows._handoff import BatchReading
from tasks.documents import drop_folder
from tasks.documents.reading_batch import documents_at_once
from tasks.operations.run_alerts import ALERT_HOOKS
from tasks.operations.run_reports import Progress, publish_markdown, summary_markdown
from tasks.settings import get_settings


@task(name="claim-dropped-files")
def claim_dropped_files(inbox: Path, settle_seconds: float) -> list[drop_folder.ClaimedFile]:
    drop_folder.ensure_layout(inbox)
    claims = drop_folder.abandoned_claims(inbox)
    for path in drop_folder.ready_files(inbox, settle_seconds):
        try:
            claimed = drop_folder.claim(inbox, path)
        except OSError as err:  # a file that cannot be moved is left where it is; the rest goes on
            get_run_logger().error("could not claim %s: %s", drop_folder.safe_text(str(path)),
                                   drop_folder.cause_of(err))
            continue
        if claimed is not None:
            claims.append(claimed)
    return claims


@task(name="take-file")
def take_file(inbox: Path, documents_dir: Path, claimed: drop_folder.ClaimedFile, max_bytes: int) -> drop_folder.FileOutcome:
    try:
        return drop_folder.take_file(inbox, documents_dir, claimed, max_bytes)
    except Exception as err:  # put it back for the next run, or quarantine it after the third time
        logger = get_run_logger()
        logger.error("could not take %s: %s", claimed.shown, drop_folder.cause_of(err))
        try:
            return drop_folder.give_back(inbox, claimed, err)
        except Exception as again:  # left claimed: the next run takes the claim again
            logger.error("could not put %s back: %s", claimed.shown, drop_folder.cause_of(again))
            return drop_folder.FileOutcome(claimed.shown, "error", None, None, drop_folder.cause_of(err))


@flow(name="ingest-folder", **ALERT_HOOKS)
def ingest_folder(inbox: str | None = None) -> dict[str, int]:
    """Store every file in the inbox folder once, by content; quarantine what cannot be taken.

    Args:
        inbox: the folder to read; empty for the configured drop folder.
    """
    settings = get_settings()
    logger = get_run_logger()
    inbox_dir = Path(inbox) if inbox else settings.inbox_dir
    claims = claim_dropped_files(inbox_dir, settings.storage.settle_seconds)
    max_bytes = settings.storage.max_file_mb * 1024 * 1024
    progress = Progress(len(claims), "files taken")
    # Several files are taken at once (the fsync of one overlaps the reading of the next), and
    # each stored document is read from the moment it is stored, while the last files are taken.
    with BatchReading() as reading, \
            ThreadPoolTaskRunner(max_workers=max(1, min(documents_at_once(settings), len(claims)))) as runner:
        futures = {runner.submit(take_file, parameters={"inbox": inbox_dir, "documents_dir": settings.documents_dir,
                                                        "claimed": claimed, "max_bytes": max_bytes}): position
                   for position, claimed in enumerate(claims)}
        taken: dict[int, drop_folder.FileOutcome] = {}
        for future in as_completed(futures):
            outcome = taken[futures[future]] = future.result()
            if outcome.status == "stored" and outcome.document_id is not None:
                reading.add(outcome.document_id, outcome.kind)
            progress.advance()
        outcomes = [taken[position] for position in range(len(claims))]
        handed = reading.finish()

    counts = {"files": len(outcomes)}
    for status in ("stored", "duplicate", "quarantined", "error"):
        counts[status] = sum(1 for o in outcomes if o.status == status)
    attention = [asdict(o) for o in outcomes if o.status in {"quarantined", "error"}]
    logger.info("ingest-folder: %s; documents read: %s", counts, handed)
    publish_markdown(
        "ingest-folder",
        summary_markdown("Drop folder intake", {**counts, "read": handed.get("read", 0),
                                                "not read": handed.get("failed", 0),
                                                "left unread by an earlier run": handed.get("left_unread", 0)},
                         attention, ["name", "status", "reason"]),
        f"{counts['stored']} new, {counts['duplicate']} already known, {counts['quarantined']} quarantined",
    )
    return counts
