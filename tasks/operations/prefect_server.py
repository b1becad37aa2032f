"""Which Prefect server this process talks to, and whether it answers.

Every `invoices` command uses the server that `make run` started without anything exported:
PREFECT_API_URL (environment, then `.env`) when set, else ``INVOICES_PREFECT__API_URL`` (local by
default). No command ever falls back to a throw-away server of its own.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

from tasks.errors import PrefectServerError
from tasks.settings import Settings


def _from_dotenv(name: str) -> str | None:
    from dotenv import dotenv_values

    env_file = Path(".env")
    return dotenv_values(env_file).get(name) if env_file.is_file() else None


def api_url(settings: Settings) -> str:
    """The API address this system's runs and commands use."""
    chosen = os.environ.get("PREFECT_API_URL") or _from_dotenv("PREFECT_API_URL") or settings.prefect.api_url
    return chosen.rstrip("/")


def server_problem(url: str, timeout: float = 5) -> str | None:
    """Why the Prefect API at ``url`` cannot be used, or None when it answers healthy."""
    try:
        response = httpx.get(f"{url}/health", timeout=timeout)
        response.raise_for_status()
    except httpx.HTTPError as err:
        return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    return None


@contextlib.contextmanager
def connected(settings: Settings) -> Iterator[str]:
    """Point Prefect, in this process and in the processes it starts, at the system's server.

    Before Prefect is imported, the environment is enough (Prefect reads it at import). Once it
    is, a settings context that already names an API (a test server) is kept as it is."""
    imported = "prefect.context" in sys.modules
    if imported:
        from prefect.settings import get_current_settings

        current = get_current_settings().api.url
        if current:
            yield current.rstrip("/")
            return
    url = api_url(settings)
    before = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = url
    try:
        if imported:
            from prefect.settings import PREFECT_API_URL, temporary_settings

            with temporary_settings({PREFECT_API_URL: url}):
                yield url
        else:
            yield url
    finally:
        if before is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = before


def require_server(url: str) -> None:
    """Raise PrefectServerError, saying how to start one, when no Prefect server answers at ``url``."""
    problem = server_problem(url)
    if problem:
        raise PrefectServerError(
            f"no Prefect server answers at {url} ({problem}); start the system with `make run` (it starts one "
            "there), or point INVOICES_PREFECT__API_URL or PREFECT_API_URL (environment or .env) at yours"
        )
