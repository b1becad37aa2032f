"""A real `prefect server start` process, as `make run` starts it, for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(api_url: str, process: subprocess.Popen, log: Path, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prefect server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"prefect server did not become healthy in {seconds} s: {log.read_text()[-2000:]}")


def stop(process: subprocess.Popen) -> None:
    """Stop a process started by a test: politely first, then for sure."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


def start_serve(env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen:
    """`invoices serve` as `make run` starts it, in its own process group, its output in ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen([str(BIN / "invoices"), "serve"], cwd=cwd, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def serve_env(prefect_env: dict[str, str]) -> dict[str, str]:
    """A client's environment for the live server, with this test's INVOICES_ settings."""
    return {**prefect_env, **{k: v for k, v in os.environ.items() if k.startswith("INVOICES_")}}


@contextlib.contextmanager
def prefect_server_process(home: Path, server_env: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    """Start `prefect server start` with its home in ``home`` (its SQLite database there unless
    ``server_env`` names another); yield the environment that points a client at it."""
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")},
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": api_url,
        "PREFECT_UI_URL": f"http://127.0.0.1:{port}",
    }
    log = home / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env={**env, **(server_env or {})}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        wait_healthy(api_url, process, log)
        yield env
    finally:
        stop(process)


@pytest.fixture(scope="session")
def live_prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Environment variables that point a process at a freshly started Prefect server."""
    with prefect_server_process(tmp_path_factory.mktemp("prefect-live")) as env:
        yield env
