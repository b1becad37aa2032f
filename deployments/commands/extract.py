"""`invoices extract FILE...` and `invoices templates check FILE`: read documents the way
process-document does, and show the result without storing anything."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)
logger = logging.getLogger(__name__)


def _templates():  # type: ignore[no-untyped-def]
    """YAML templates, plus database templates when the database can be reached."""
    from sqlalchemy.exc import SQLAlchemyError

    from db.session import session_scope
    from tasks.errors import ConfigurationError
    from tasks.extraction.templates import load_templates, load_yaml_templates
    from tasks.settings import get_settings

    settings = get_settings()
    url = settings.database.url
    if url.startswith("sqlite") and not Path(url.split(":///", 1)[-1]).exists():
        return load_yaml_templates(settings.templates_dir)  # no database yet: do not create one
    try:
        with session_scope() as session:
            return load_templates(settings.templates_dir, session)
    except ConfigurationError as err:
        err_console.print(f"[red]{err}[/red]")
        raise typer.Exit(2) from err
    except SQLAlchemyError as err:
        logger.info("database templates not loaded: %s", err)
        return load_yaml_templates(settings.templates_dir)


def _understand(path: Path, templates):  # type: ignore[no-untyped-def]
    from tasks.extraction.invoice_file import Understanding, understand_file
    from tasks.settings import get_settings

    if not path.is_file():
        return Understanding(name=str(path), error="not found", reasons=[f"{path}: no such file"])
    return understand_file(path, str(path), get_settings().ocr, templates)


def _show(result) -> None:  # type: ignore[no-untyped-def]
    table = Table("field", "value", "confidence", "source", title=f"{result.name}")
    for name, found in result.fields.items():
        table.add_row(name, str(found.value), f"{found.confidence:.2f}", found.source + (f" ({found.note})" if found.note else ""))
    console.print(table)
    status = "needs review" if result.needs_review else "ok"
    console.print(f"confidence {result.confidence:.2f} ({status}); read from {result.text_source or '-'}; "
                  f"template {result.template or '-'}")
    for reason in result.reasons:
        console.print(f"  - {reason}")


def extract(
    files: Annotated[list[Path], typer.Argument(help="PDF, image or XML invoice files", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line per file")] = False,
) -> None:
    """Read invoice files and print their fields (the same code path as process-document; nothing is stored)."""
    from tasks.reading.ocr import shutdown_pool

    templates = _templates()
    try:
        for path in files:
            result = _understand(path, templates)
            if as_json:
                typer.echo(json.dumps(result.as_json(), ensure_ascii=False))
            else:
                _show(result)
    finally:
        shutdown_pool()


def templates_check(file: Annotated[Path, typer.Argument(help="A document to test the templates against")]) -> None:
    """Show which vendor template matches FILE and why the others do not."""
    from tasks.extraction.templates import best_template
    from tasks.settings import get_settings

    templates = _templates()
    result = _understand(file, [])
    if result.error:
        err_console.print(f"[red]{result.error}[/red]")
        raise typer.Exit(1)
    best = best_template(templates, result.text)
    table = Table("template", "origin", "priority", "matches", "why", title=f"templates for {file}")
    for template in sorted(templates, key=lambda t: (-t.priority, t.name)):
        matched, why = template.check(result.text)
        table.add_row(template.name + (" (used)" if template is best else ""), f"{template.origin} {template.location}",
                      str(template.priority), "yes" if matched else "no", why)
    console.print(table)
    if not templates:
        console.print(f"no templates in {get_settings().templates_dir} or the database")
    if best is None:
        console.print("no template matches: the fields come from template-free extraction")
        return
    _show(_understand(file, [best]))


def register(app: typer.Typer) -> None:
    app.command("extract")(extract)
    templates_app = typer.Typer(help="Vendor extraction templates (YAML in the templates folder, or database rows).",
                                no_args_is_help=True)
    templates_app.command("check")(templates_check)
    app.add_typer(templates_app, name="templates")
