"""`invoices import-workbook` and `invoices export-workbook`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from deployments.preflight import require_all, require_schema


def _print_report(console: Console, report: dict[str, Any]) -> None:
    counts = report["counts"]
    table = Table(*counts, title=f"{report['file']}" + (" (dry run: nothing written)" if report["dry_run"] else ""))
    table.add_row(*(str(v) for v in counts.values()))
    console.print(table)
    if report.get("identical_to"):
        console.print(f"The same file was imported on {report['identical_to']}; nothing to do.")
    sheets = Table("tab", "status", "header row", "rows", "rejected", "skipped", "reason / notes", title="Tabs")
    for sheet in report["sheets"]:
        sheets.add_row(sheet["sheet"], sheet["status"], str(sheet["header_row"] or ""), str(sheet["rows"]),
                       str(sheet["rejected"]), str(sheet["skipped_rows"]),
                       "; ".join(filter(None, [sheet["reason"], *sheet["notes"]])))
    console.print(sheets)
    if report["conflicts"]:
        conflicts = Table("invoice", "rows", "differs in", title="Conflicts (not applied)", style="yellow")
        for conflict in report["conflicts"]:
            fields = "; ".join(f"{k}: {' / '.join(v)}" for k, v in conflict["fields"].items())
            conflicts.add_row(f"{conflict['counterparty']} {conflict['number']}", ", ".join(conflict["rows"]), fields)
        console.print(conflicts)
    if report["rejected"]:
        rejected = Table("tab", "row", "column", "reason", title="Rejected rows", style="red")
        for problem in report["rejected"]:
            rejected.add_row(problem["sheet"], str(problem["row"] or ""), problem["column"], problem["reason"])
        console.print(rejected)
        if counts["rejected"] > len(report["rejected"]):
            console.print(f"... and more: {counts['rejected']} rejected rows in all")


def register(app: typer.Typer) -> None:
    @app.command("import-workbook")
    def import_workbook_command(
        path: Annotated[Path, typer.Argument(help="The .xlsx workbook to import")],
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and compare everything; write nothing")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the counts and rejected rows as JSON")] = False,
        mapping: Annotated[Optional[Path], typer.Option(help="YAML/JSON file: extra headers, status words, tabs")] = None,
    ) -> None:
        """Import a workbook into the invoices (a run of the consolidate-workbook flow)."""
        require_all()
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from flows.consolidate_workbook import consolidate_workbook
        from tasks.errors import WorkbookError
        from tasks.workbook.importer import PROGRESS

        console, errors = Console(), Console(stderr=True)
        if not path.is_file():
            errors.print(f"[red]{path}: no such file[/red]")
            raise typer.Exit(2)
        show = console.is_terminal and not as_json
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=errors, transient=True, disable=not show) as progress:
            job = progress.add_task(f"reading {path.name}", total=None)
            token = PROGRESS.set(lambda sheet, rows: progress.update(
                job, description=f"{path.name}: {rows:,} rows read (tab {sheet})"))
            try:
                report = consolidate_workbook(path=str(path.resolve()), dry_run=dry_run,
                                              mapping_file=str(mapping.resolve()) if mapping else None)
            except WorkbookError as err:
                if as_json:
                    typer.echo(json.dumps({"error": str(err)}, ensure_ascii=False))
                else:
                    errors.print(f"[red]{err}[/red]")
                raise typer.Exit(1) from err
            except Exception as err:  # noqa: BLE001 - --json always answers in JSON
                if not as_json:
                    raise
                typer.echo(json.dumps({"error": f"the import failed: {type(err).__name__}: {err}"[:2000]},
                                      ensure_ascii=False))
                raise typer.Exit(1) from err
            finally:
                PROGRESS.reset(token)
        if as_json:
            keys = ("workbook", "file", "dry_run", "counts", "rejected", "conflicts", "sheets", "identical_to")
            typer.echo(json.dumps({k: report[k] for k in keys}, ensure_ascii=False, default=str))
        else:
            _print_report(console, report)

    @app.command("export-workbook")
    def export_workbook_command(
        path: Annotated[Path, typer.Argument(help="Where to write the .xlsx (replaced if it exists)")],
    ) -> None:
        """Write every invoice to a clean workbook: Invoices, Overdue and Aging (with a chart)."""
        require_schema()
        from tasks.errors import WorkbookError
        from tasks.workbook.export import export_workbook

        try:
            result = export_workbook(path)
        except WorkbookError as err:
            Console(stderr=True).print(f"[red]{err}[/red]")
            raise typer.Exit(1) from err
        currencies = ", ".join(result.currencies) or "none open"
        Console().print(f"{result.path}: {result.invoices} invoices, {result.overdue} overdue; aging in {currencies}")
        sys.stdout.flush()
