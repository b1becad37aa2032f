"""`invoices desk`: the office's web app (http://127.0.0.1:8080 by default), and its screenshots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from deployments.preflight import require_schema


def register(app: typer.Typer) -> None:
    desk_app = typer.Typer(help="The desk: the office's web app.", no_args_is_help=False, invoke_without_command=True)
    app.add_typer(desk_app, name="desk")

    @desk_app.callback()
    def desk_command(ctx: typer.Context) -> None:
        """Serve the desk at INVOICES_DESK__HOST:INVOICES_DESK__PORT (`make run` starts it)."""
        if ctx.invoked_subcommand is not None:
            return
        require_schema()
        from tasks.settings import get_settings
        from web.server import serve_desk

        settings = get_settings()
        Console().print(f"the desk: http://{settings.desk.host}:{settings.desk.port}/login")
        serve_desk(settings)

    @desk_app.command("screenshots")
    def screenshots_command(
        folder: Annotated[Path, typer.Option(help="Where the PNGs go")] = Path("docs"),
    ) -> None:
        """Photograph the home page, the list and one invoice of a sample office into FOLDER."""
        from web.screenshots import make_screenshots

        for path in make_screenshots(folder):
            Console().print(f"wrote {path}")
