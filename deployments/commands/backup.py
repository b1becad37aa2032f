"""`invoices backup`, `invoices backups list|verify|prune` and `invoices restore`."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from deployments.preflight import require_all


def _fail(message: str) -> None:
    Console(stderr=True).print(f"[red]{message}[/red]", soft_wrap=True)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    backups_app = typer.Typer(help="Backups of the database and the document store.", no_args_is_help=True)
    app.add_typer(backups_app, name="backups")

    @app.command("backup")
    def backup_command(
        verify: Annotated[bool, typer.Option(help="Restore the new backup into a scratch database and check every file")] = True,
        prune: Annotated[bool, typer.Option(help="Delete backups that retention no longer needs")] = True,
    ) -> None:
        """Make a backup now (a run of the backup flow): dump, verify, prune."""
        require_all()
        from flows.backup import backup
        from tasks.errors import InvoiceAutomationError

        try:
            result = backup(verify=verify, prune=prune)
        except InvoiceAutomationError as err:
            _fail(str(err))
            return
        Console().print(f"backup {result['backup_id']} {result['status']}: {result['size_bytes'] / 1e6:.1f} MB, "
                        f"{result['new_files']} new files; pruned: {', '.join(result['pruned']) or 'nothing'}")

    @backups_app.command("list")
    def backups_list(as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False) -> None:
        """List backups, newest first, with their verification status."""
        from tasks.backup.make import list_backups
        from tasks.settings import get_settings

        rows = list_backups(get_settings())
        if as_json:
            for row in rows:
                typer.echo(json.dumps(row))
            return
        table = Table("id", "status", "MB", "files", "new", "invoices", "parent", "error")
        for row in rows:
            size = f"{row['size_bytes'] / 1e6:.1f}" if row.get("size_bytes") is not None else ""
            table.add_row(row["id"], row["status"], size, str(row.get("files") or ""), str(row.get("new_files") or ""),
                          str(row.get("invoices") or ""), row.get("parent") or "", (row.get("error") or "")[:80])
        Console().print(table)

    @backups_app.command("verify")
    def backups_verify(backup_id: Annotated[Optional[str], typer.Argument(help="Default: the newest backup")] = None) -> None:
        """Verify a backup again: restore it into a scratch database and check every file."""
        from tasks.backup.make import list_backups
        from tasks.backup.verify import verify_backup
        from tasks.errors import InvoiceAutomationError
        from tasks.settings import get_settings

        settings = get_settings()
        if backup_id is None:
            candidates = [b["id"] for b in list_backups(settings) if b["status"] in ("created", "verified", "failed")]
            if not candidates:
                _fail("there is no backup to verify")
            backup_id = candidates[0]
        try:
            outcome = verify_backup(settings, backup_id)
        except InvoiceAutomationError as err:
            _fail(str(err))
            return
        for line in outcome.scratch_dropped:
            Console().print(line, soft_wrap=True)
        if not outcome.verified:
            _fail(outcome.summary())
        Console().print(outcome.summary())

    @backups_app.command("prune")
    def backups_prune(dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what would be pruned")] = False) -> None:
        """Apply retention now (keep_daily/weekly/monthly)."""
        from tasks.backup.retention import apply_retention
        from tasks.settings import get_settings

        outcome = apply_retention(get_settings(), dry_run=dry_run)
        for backup_id, why in sorted(outcome.kept.items(), reverse=True):
            Console().print(f"keep  {backup_id}: {why}")
        for backup_id in outcome.pruned:
            Console().print(f"{'would prune' if dry_run else 'pruned'} {backup_id}")
        if outcome.errors:
            _fail("; ".join(outcome.errors))

    @app.command("restore")
    def restore_command(
        backup_id: Annotated[str, typer.Argument(help="Backup id, see `invoices backups list`")],
        target_url: Annotated[Optional[str], typer.Option(help="Database to restore into. Default: the configured one")] = None,
        documents: Annotated[Optional[str], typer.Option(help="Document store to restore into. Default: the configured one")] = None,
        force: Annotated[bool, typer.Option("--force", help="Replace a database that holds data")] = False,
    ) -> None:
        """Restore a backup into a database and a document store (stop `invoices serve` first)."""
        from tasks.backup.restore import restore_backup
        from tasks.errors import InvoiceAutomationError
        from tasks.settings import get_settings

        try:
            outcome = restore_backup(get_settings(), backup_id, target_url, documents, force)
        except InvoiceAutomationError as err:
            _fail(str(err))
            return
        Console().print(f"backup {backup_id} restored into {outcome.target} (schema {outcome.schema_revision}) and "
                        f"{outcome.documents_dir}: {outcome.files_restored} files written, "
                        f"{outcome.files_already_present} already there, {outcome.extra_files_left} not in the backup left in place")
