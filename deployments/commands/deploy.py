"""`invoices deploy`: register every deployment of prefect.yaml on the work pool."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import typer

from tasks.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
WORK_POOL = "invoices"


def _prefect() -> str:
    beside = Path(sys.executable).with_name("prefect")
    return str(beside) if beside.exists() else (shutil.which("prefect") or "prefect")


def register(app: typer.Typer) -> None:
    @app.command("deploy")
    def deploy() -> None:
        """Create the `invoices` process work pool if needed and run `prefect deploy --all`, with the
        schedules in the business time zone (INVOICES_TIME_ZONE from the settings or .env)."""
        settings = get_settings()
        env = {**os.environ, "INVOICES_TIME_ZONE": settings.time_zone,
               "INVOICES_APP_DIR": os.environ.get("INVOICES_APP_DIR", str(ROOT))}
        prefect = _prefect()
        inspect = subprocess.run([prefect, "work-pool", "inspect", WORK_POOL], env=env, capture_output=True)
        if inspect.returncode != 0:
            subprocess.run([prefect, "work-pool", "create", WORK_POOL, "--type", "process"], env=env, check=True)
        result = subprocess.run([prefect, "--no-prompt", "deploy", "--all"], env=env, cwd=ROOT)
        raise typer.Exit(result.returncode)
