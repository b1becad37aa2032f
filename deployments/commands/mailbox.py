"""`invoices mailbox`: poll the IMAP accounts now, or show what the mail ledger holds."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from deployments.preflight import require_all, require_schema


def register(app: typer.Typer) -> None:
    mailbox_app = typer.Typer(help="Mailbox intake (IMAP).", no_args_is_help=True)
    app.add_typer(mailbox_app, name="mailbox")

    @mailbox_app.command("poll")
    def poll(
        account: Annotated[Optional[list[str]], typer.Option(help="Poll only this account (repeatable)")] = None,
    ) -> None:
        """Run poll-mailbox once, now: take every new message of each account."""
        require_all()
        from flows.poll_mailbox import poll_mailbox
        from tasks.errors import MailboxError

        console = Console()
        try:
            counts = poll_mailbox(accounts=account or [])
        except MailboxError as err:
            Console(stderr=True).print(f"[red]{err}[/red]")
            raise typer.Exit(1) from err
        table = Table("account", *[k for k in next(iter(counts.values()), {}) if k != "account"])
        for row in counts.values():
            table.add_row(*[str(v) for v in row.values()])
        console.print(table if counts else "no IMAP accounts configured (INVOICES_IMAP__ACCOUNTS)")

    @mailbox_app.command("status")
    def status() -> None:
        """Messages per account and folder by status, and those that need a person."""
        require_schema()
        from db.models import MailStatus
        from db.session import session_scope
        from tasks.mail.ledger import needing_attention, status_summary
        from tasks.settings import get_settings

        console = Console()
        configured = {a.name: a for a in get_settings().imap.accounts}
        with session_scope() as session:
            summary = status_summary(session)
            attention = [(m.account, m.uid, m.subject or "", m.status, m.attempts, m.error or "")
                         for m in needing_attention(session)]
        statuses = [s.value for s in MailStatus]
        table = Table("account", "folder", *statuses, "last taken")
        seen = set()
        for row in summary:
            seen.add(row["account"])
            last = row["last"].strftime("%Y-%m-%d %H:%M UTC") if row["last"] else ""
            table.add_row(row["account"], row["folder"], *[str(row[s]) for s in statuses], last)
        for name, account in configured.items():
            if name not in seen:
                table.add_row(name, account.folder, *["0"] * len(statuses), "never")
        console.print(table)
        if attention:
            problems = Table("account", "uid", "subject", "status", "attempts", "error", title="Needs a person")
            for row in attention:
                problems.add_row(*[str(v) for v in row])
            console.print(problems)
