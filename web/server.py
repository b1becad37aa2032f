"""Serving the desk with uvicorn: in the foreground (`invoices desk`, `make run`) or on a thread
of this process (the screenshots and the tests drive a real server the same way)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn

from db.session import get_engine
from tasks.settings import Settings
from web.search import ensure_search_index


def _config(settings: Settings, host: str, port: int) -> uvicorn.Config:
    from web.app import create_app

    ensure_search_index(get_engine())
    trusted = [address.strip() for address in settings.desk.trusted_proxies.split(",") if address.strip()]
    return uvicorn.Config(create_app(settings), host=host, port=port, proxy_headers=bool(trusted),
                          forwarded_allow_ips=trusted or None, server_header=False, log_level="info",
                          access_log=False)


def serve_desk(settings: Settings) -> None:
    """Serve the desk at the settings' host and port until stopped."""
    uvicorn.Server(_config(settings, settings.desk.host, settings.desk.port)).run()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def desk_on_thread(settings: Settings, port: int | None = None) -> Iterator[str]:
    """A real uvicorn server with the desk on a free port of 127.0.0.1; yields its address."""
    port = port or free_port()
    server = uvicorn.Server(_config(settings, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, name="desk", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the desk did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
