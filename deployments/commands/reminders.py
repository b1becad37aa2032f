"""`invoices reminders`: run send-reminders now, or show what it would send."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markdown import Markdown

from deployments.preflight import require_all


def register(app: typer.Typer) -> None:
    @app.command("reminders")
    def reminders_command(
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Show who would get what; send and record nothing")] = False,
        today: Annotated[Optional[str], typer.Option(help="Remind as on this day (YYYY-MM-DD), e.g. to catch up")] = None,
    ) -> None:
        """Send the reminder digests due today (a run of the send-reminders flow)."""
        require_all()
        from flows.send_reminders import send_reminders
        from tasks.reminders.send import report_markdown, run_reminders
        from tasks.settings import get_settings

        console = Console()
        try:
            day = datetime.strptime(today, "%Y-%m-%d").date() if today else None
        except ValueError as err:
            Console(stderr=True).print(f"[red]--today {today!r} is not a date like 2026-03-31[/red]")
            raise typer.Exit(2) from err
        counts = send_reminders(dry_run=dry_run, today=day)
        if dry_run:  # read-only, so showing the same preview here is harmless
            console.print(Markdown(report_markdown(run_reminders(get_settings(), day, dry_run=True))))
        console.print(counts)
        if not dry_run and (counts["emails failed"] or counts["emails refused"] or counts["emails uncertain"]):
            raise typer.Exit(1)
