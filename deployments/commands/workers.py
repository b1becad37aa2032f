"""`invoices read-worker`: read the documents intake hands to the work pool."""

from __future__ import annotations

import typer

from tasks.settings import get_settings


def register(app: typer.Typer) -> None:
    @app.command("read-worker")
    def read_worker() -> None:
        """Run a Prefect task worker that reads documents (process-document task runs) handed on by
        intake with INVOICES_WORKERS__TASK_WORKERS=true; start one per machine (compose's worker)."""
        from deployments.read_worker import read_worker as serve_reads

        serve_reads(get_settings())
