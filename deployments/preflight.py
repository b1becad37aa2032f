"""What a command needs before it starts, checked up front with the fix in the message: a
database migrated to this code, and a Prefect server that answers (the one `make run` started,
never a throw-away one)."""

from __future__ import annotations

import typer
from rich.console import Console

from tasks.errors import PrefectServerError
from tasks.settings import get_settings

err_console = Console(stderr=True)


def require_schema() -> None:
    """Stop the command, saying how to fix it, when the database is missing or not migrated."""
    from db.migrate import schema_state

    state = schema_state(get_settings().database.url)
    if not state.ready:
        err_console.print(f"[red]database: {state.detail}[/red]; {state.fix}", highlight=False)
        raise typer.Exit(2)


def require_prefect() -> None:
    """Stop the command, saying how to start one, when the Prefect server does not answer."""
    from prefect.settings import get_current_settings

    from tasks.operations.prefect_server import require_server

    try:
        require_server(get_current_settings().api.url or "")
    except PrefectServerError as err:
        err_console.print(f"[red]{err}[/red]", highlight=False)
        raise typer.Exit(2) from err


def require_all() -> None:
    """A command that runs a flow: both of the above."""
    require_schema()
    require_prefect()
