"""`invoices einvoice check FILE... [--json]`: is an e-invoice valid as the law asks (EN 16931 and
the CIUS it claims), and does a hybrid PDF's page say what its XML says? Nothing is stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
err_console = Console(stderr=True)


def _check(path: Path) -> dict[str, Any]:
    """The JSON record of one file; a file that cannot be checked has ``error`` and ``valid`` null."""
    from tasks.einvoice.carrier import carried_einvoice
    from tasks.einvoice.page_check import page_against_xml, page_findings
    from tasks.einvoice.validation import validate_xml
    from tasks.errors import InvoiceAutomationError

    record: dict[str, Any] = {"file": str(path), "syntax": None, "profile": None, "valid": None, "errors": [],
                              "warnings": []}
    try:
        data = path.read_bytes()
        carried = carried_einvoice(data, str(path))
        validation = validate_xml(carried.einvoice.xml, str(path) + (f" ({carried.attachment})"
                                                                    if carried.attachment else ""))
        if carried.carrier == "pdf":  # the page against its XML
            validation.findings += page_findings(page_against_xml(data, str(path), carried.einvoice))
    except (InvoiceAutomationError, OSError) as err:
        return {**record, "error": str(err)}
    return {**validation.as_json(str(path)), "carrier": carried.carrier, "attachment": carried.attachment,
            "checked": validation.checked, "not_checked": validation.not_checked}


def _show(record: dict[str, Any]) -> None:
    if record.get("error"):
        error = record["error"] if record["file"] in record["error"] else f"{record['file']}: {record['error']}"
        err_console.print(f"[red]{escape(error)}[/red]", soft_wrap=True)
        return
    verdict = "[green]valid[/green]" if record["valid"] else "[red]not valid[/red]"
    carrier = f" in {escape(record['attachment'])}" if record.get("attachment") else ""
    console.print(f"{escape(record['file'])}: {record['syntax']}{carrier}, {escape(record['profile'])}: {verdict} "
                  f"(checked: {', '.join(record['checked']) or 'nothing'})")
    for note in record["not_checked"]:
        console.print(f"  not checked: {escape(note)}")
    for finding in record["errors"] + record["warnings"]:
        colour = "red" if finding["severity"] == "fatal" else "yellow"
        console.print(f"  [{colour}]{finding['severity']} {escape(finding['rule'])}[/{colour}] at "
                      f"{escape(finding['location'])}: {escape(finding['message'])}", soft_wrap=True)


def check(
    files: Annotated[list[Path], typer.Argument(help="XML e-invoices or hybrid PDFs (Factur-X, ZUGFeRD)",
                                                show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line per file")] = False,
) -> None:
    """Validate e-invoices: schema, EN 16931 rules, then the CIUS each claims (XRechnung). Exit 1 if any is not valid."""
    failed = False
    for path in files:
        record = _check(path)
        failed = failed or not record["valid"]
        if as_json:
            typer.echo(json.dumps(record, ensure_ascii=False))
        else:
            _show(record)
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    einvoice_app = typer.Typer(help="E-invoices (XRechnung, Factur-X / ZUGFeRD, Peppol, UBL, CII).",
                               no_args_is_help=True)
    einvoice_app.command("check")(check)
    app.add_typer(einvoice_app, name="einvoice")
