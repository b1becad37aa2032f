"""`invoices user add ... --password`, `invoices user set-password` and `invoices desk`, as a
person runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from db.models import User
from db.session import session_scope
from web.passwords import password_matches
from web.server import free_port

INVOICES = str(Path(sys.executable).parent / "invoices")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}


def _run(*args: str, answer: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([INVOICES, *args], input=answer, capture_output=True, text=True, env=_env(), timeout=120)


def test_a_password_is_asked_twice_hashed_and_can_be_set_again(settings):
    added = _run("user", "add", "anna@example.com", "--role", "admin", "--password",
                 answer="first password 1\nfirst password 1\n")
    assert added.returncode == 0, added.stderr
    with session_scope() as session:
        user = session.query(User).filter_by(email="anna@example.com").one()
        assert user.password_hash.startswith("$argon2") and "first password" not in user.password_hash
        assert password_matches(user.password_hash, "first password 1")
    short = _run("user", "set-password", "anna@example.com", answer="short\nshort\n")
    assert short.returncode == 2 and "at least 10 characters" in short.stdout + short.stderr
    changed = _run("user", "set-password", "anna@example.com", answer="second password 2\nsecond password 2\n")
    assert changed.returncode == 0, changed.stderr
    unknown = _run("user", "set-password", "nobody@example.com", answer="second password 2\nsecond password 2\n")
    assert unknown.returncode == 2 and "no user" in unknown.stdout + unknown.stderr
    with session_scope() as session:
        user = session.query(User).filter_by(email="anna@example.com").one()
        assert password_matches(user.password_hash, "second password 2")
        assert not password_matches(user.password_hash, "first password 1")


def test_invoices_desk_serves_at_the_port_of_the_settings(settings, tmp_path):
    port = free_port()
    log = tmp_path / "desk.log"
    with log.open("wb") as out:
        process = subprocess.Popen([INVOICES, "desk"], env={**_env(), "INVOICES_DESK__PORT": str(port)},
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and process.poll() is None, log.read_text()[-2000:]
                time.sleep(0.3)
        assert response.status_code == 200 and "Create the first admin" in response.text
        assert f"http://127.0.0.1:{port}/login" in log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=30)
