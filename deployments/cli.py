"""The `invoices` command line."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from deployments.commands import register_all
from deployments.preflight import require_all, require_schema
from tasks.settings import get_settings

app = typer.Typer(help="Invoice automation: intake, reading, workbook, reminders and backups.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="People who get reminders and alerts, and log in to the desk.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
console = Console()
err_console = Console(stderr=True)


@app.callback()
def _connect(ctx: typer.Context) -> None:
    """Every command talks to the Prefect server `make run` started (or the one the settings name)."""
    from tasks.operations.prefect_server import connected

    ctx.with_resource(connected(get_settings()))


@db_app.command("upgrade")
def db_upgrade(revision: str = "heads") -> None:
    """Migrate the database to the newest schema (or to REVISION)."""
    from db.migrate import current_revision, upgrade

    url = get_settings().database.url
    upgrade(url, revision)
    console.print(f"database at schema revision {current_revision(url)}")


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument(..., help="target revision, or 'base' to drop every table")) -> None:
    """Migrate the database back to REVISION."""
    from db.migrate import current_revision, downgrade

    url = get_settings().database.url
    downgrade(url, revision)
    console.print(f"database at schema revision {current_revision(url) or 'base'}")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the database and of the code."""
    from db.migrate import current_revision, head_revision

    console.print(f"database: {current_revision(get_settings().database.url) or 'empty'}; code: {head_revision()}")


@db_app.command("move")
def db_move(
    to: Annotated[str, typer.Option("--to", help="empty PostgreSQL database: postgresql+psycopg://user@host:5432/db")],
) -> None:
    """Copy the SQLite database into an empty PostgreSQL one, verify it and print the setting to switch."""
    from db.move import move_database
    from tasks.errors import DatabaseMoveError

    try:
        report = move_database(get_settings().database.url, to, progress=lambda table, rows: err_console.print(
            f"  {table}: {rows:,} rows", highlight=False))
    except DatabaseMoveError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(1) from err
    for line in report.lines():
        typer.echo(line)  # unwrapped: the settings line is copied as it is


@user_app.command("add")
def user_add(
    email: str,
    name: Annotated[str, typer.Option(help="Display name")] = "",
    role: Annotated[str, typer.Option(help="admin, accountant, member or viewer (reads only at the desk)")] = "member",
    locale: Annotated[str, typer.Option(help="Language and format of emails, e.g. en, de_DE, fr")] = "en",
    direction: Annotated[Optional[list[str]], typer.Option(help="Only remind about payable or receivable")] = None,
    counterparty: Annotated[Optional[list[str]], typer.Option(help="Only remind about these counterparties")] = None,
    password: Annotated[bool, typer.Option("--password", help="Ask for a password to log in to the desk")] = False,
) -> None:
    """Add a user, or update the one with this email."""
    require_schema()
    from tasks.operations.users import save_user

    secret = typer.prompt("password", hide_input=True, confirmation_prompt=True) if password else None
    try:
        user = save_user(email, name, role, locale, direction or [], counterparty or [])
    except ValueError as err:
        err_console.print(f"[red]{err}[/red]")
        raise typer.Exit(2) from err
    if secret is not None:
        _set_password(user.email or email, secret)
    console.print(f"user {user.email} ({user.role}, {user.locale}) saved")


def _set_password(email: str, secret: str) -> None:
    from db.session import session_scope
    from web.accounts import set_password
    from web.passwords import PasswordError

    try:
        with session_scope() as session:
            set_password(session, email, secret)
    except PasswordError as err:
        err_console.print(f"[red]{err}[/red]")
        raise typer.Exit(2) from err


@user_app.command("set-password")
def user_set_password(email: str) -> None:
    """Set the password EMAIL logs in to the desk with (asked twice; their sessions end)."""
    require_schema()
    _set_password(email, typer.prompt("password", hide_input=True, confirmation_prompt=True))
    console.print(f"password of {email} set")


@user_app.command("list")
def user_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List users."""
    require_schema()
    from tasks.operations.users import list_users

    users = list_users()
    if as_json:
        for user in users:
            typer.echo(json.dumps(user))
        return
    table = Table("email", "name", "role", "locale", "reminders")
    for user in users:
        table.add_row(user["email"] or "", user["name"], user["role"], user["locale"],
                      json.dumps(user["reminder_preferences"]) if user["reminder_preferences"] else "everything")
    console.print(table)


@app.command()
def doctor(
    only: Annotated[
        Optional[str], typer.Option(help="Comma-separated checks: database,storage,tesseract,imap,smtp,prefect")
    ] = None,
) -> None:
    """Check the database, storage, tesseract, IMAP, SMTP and the Prefect API."""
    from tasks.operations.doctor import run_checks

    checks = run_checks(get_settings(), only.split(",") if only else None)
    for check in checks:
        mark = "[green]ok[/green]  " if check.ok else "[red]FAIL[/red]"
        console.print(f"{mark} {check.name}: {check.detail}")
        if not check.ok and check.fix:
            console.print(f"       fix: {check.fix}")
    if not all(check.ok for check in checks):
        raise typer.Exit(1)


@app.command()
def serve() -> None:
    """Serve every deployment with its schedule on the Prefect server (`make run` starts one)."""
    require_all()
    from deployments.serve import serve as serve_all

    serve_all(get_settings())


@app.command()
def ingest(inbox: Annotated[Optional[str], typer.Option(help="Folder to read instead of the drop folder")] = None) -> None:
    """Run ingest-folder once, now."""
    require_all()
    from flows.ingest_folder import ingest_folder

    counts = ingest_folder(inbox=inbox)
    console.print(counts)


register_all(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
