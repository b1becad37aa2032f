"""Every deployment of the system, in one list: `invoices serve` serves them and a test checks
that `prefect.yaml` declares the same set with the same schedules."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from tasks.settings import Settings


@dataclass(frozen=True)
class DeploymentSpec:
    name: str  # deployment name; the flow name is the same
    entrypoint: str  # "flows/file.py:function", as in prefect.yaml
    description: str
    cron: str | None = None  # in the business time zone
    interval_seconds: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)  # defaults of a run started by hand
    schedule_parameters: dict[str, Any] = field(default_factory=dict)  # overrides for scheduled runs
    tags: tuple[str, ...] = ()
    concurrency: int | None = None  # at most this many runs at once; extra runs are cancelled

    def load_flow(self):  # type: ignore[no-untyped-def]
        path, function = self.entrypoint.split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        return getattr(module, function)


def deployment_specs(settings: Settings) -> list[DeploymentSpec]:
    return [
        DeploymentSpec(
            name="mark-paid",
            entrypoint="flows/mark_paid.py:mark_paid",
            description="Record a payment: the whole balance, or part of it (the rest stays open).",
            tags=("payments", "manual"),
        ),
        DeploymentSpec(
            name="review-invoice",
            entrypoint="flows/review_invoice.py:review_invoice",
            description="Pause with a form pre-filled with an invoice's extracted values and the reasons it "
            "needs review; the answer is saved with an audit entry and taught to the vendor's template.",
            parameters={"timeout_hours": 24.0},
            tags=("review", "manual"),
        ),
        DeploymentSpec(
            name="daily-overview",
            entrypoint="flows/daily_overview.py:daily_overview",
            description="Open, overdue and due-soon totals per currency, and the aging buckets.",
            cron="0 7 * * *",
            parameters={"due_soon_days": 7},
            tags=("reports",),
        ),
        DeploymentSpec(
            name="ingest-folder",
            entrypoint="flows/ingest_folder.py:ingest_folder",
            description="Store every file dropped in the inbox folder (also started by `invoices serve` "
            "as soon as a file appears).",
            cron="*/15 * * * *",
            tags=("intake",),
            concurrency=1,
        ),
        DeploymentSpec(
            name="send-reminders",
            entrypoint="flows/send_reminders.py:send_reminders",
            description="Email each user one digest of the invoices that reached a reminder level "
            "(exactly once per invoice, level and recipient).",
            cron=f"{settings.reminders.send_at.minute} {settings.reminders.send_at.hour} * * *",
            parameters={"dry_run": True},
            schedule_parameters={"dry_run": False},
            tags=("reminders",),
            concurrency=1,
        ),
        DeploymentSpec(
            name="backup",
            entrypoint="flows/backup.py:backup",
            description="Back up the database and the document store, prove the backup restores into a "
            "scratch database, and prune what retention no longer needs.",
            cron=f"{settings.backup.run_at.minute} {settings.backup.run_at.hour} * * *",
            parameters={"verify": True, "prune": True},
            tags=("backup",),
            concurrency=1,
        ),
        DeploymentSpec(
            name="poll-mailbox",
            entrypoint="flows/poll_mailbox.py:poll_mailbox",
            description="Fetch new messages of every IMAP account, store each message and its attachments "
            "once, hand the documents on, then move the message to the processed folder.",
            interval_seconds=settings.imap.poll_interval_minutes * 60,
            parameters={"accounts": []},
            tags=("intake", "mail"),
            concurrency=1,
        ),
        DeploymentSpec(
            name="process-document",
            entrypoint="flows/process_document.py:process_document",
            description="Read one stored document (text layer, OCR or e-invoice XML) into a validated invoice, "
            "by hand for one document id (intake reads its batches as a process-document task run per document).",
            parameters={"force": False},
            tags=("reading",),
        ),
        DeploymentSpec(
            name="consolidate-workbook",
            entrypoint="flows/consolidate_workbook.py:consolidate_workbook",
            description="Import an Excel workbook into the invoices (every row accounted for: new, updated, "
            "unchanged, conflicts, rejected); started by intake for each workbook, or by hand with a path.",
            parameters={"dry_run": False},
            tags=("workbook",),  # imports queue on a database lock, so none is ever cancelled
        ),
    ]
