"""A real dovecot IMAP server for the mailbox tests and the mailbox benchmark.

The server runs from a private configuration in a temporary folder, on free ports:
    plain_port  IMAP without TLS, also offering STARTTLS
    tls_port    IMAP over TLS (imaps)
Its certificate is made here, signed by a throw-away certificate authority whose PEM file
(`ca_file`) the accounts under test are told to trust. Users live in a passwd-file; each test
gets fresh users (so a fresh, empty mailbox) from `DovecotServer.add_user`.

`FaultyProxy` sits between a client and the server to drop a connection after a number of
bytes or to slow the traffic down, and counts the bytes the server sent.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.certificates import make_certificates

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/tls/server.pem
ssl_key = <{root}/tls/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_failure_delay = 0
auth_cache_size = 0
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {login_user}
mail_location = maildir:{root}/mail/%u
mail_uid = {user}
mail_gid = {group}
first_valid_uid = {first_uid}
mail_max_userip_connections = 50
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {plain_port}
  }}
  inet_listener imaps {{
    port = {tls_port}
    ssl = yes
  }}
}}
"""


USER_BLOCK = 200


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DovecotServer:
    """A private dovecot instance (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.host = "127.0.0.1"
        self.plain_port = free_port()
        self.tls_port = free_port()
        self.ca_file = root / "tls" / "ca.pem"
        self._users: dict[str, str] = {}
        self._free: list[str] = []
        self._given: set[str] = set()
        self._lock = threading.Lock()

    def start(self) -> DovecotServer:
        dovecot = shutil.which("dovecot") or "/usr/sbin/dovecot"
        if not Path(dovecot).exists():
            raise RuntimeError("dovecot is not installed; run deployments/install-system-packages.sh")
        root = self.root
        for name in ("run", "state", "mail", "home"):
            (root / name).mkdir(parents=True, exist_ok=True)
        make_certificates(root / "tls")
        self._write_users(USER_BLOCK)
        self._free = list(self._users)
        if os.geteuid() == 0:
            user = group = "dovecot"
            login_user = "dovenull"
            first_uid = 100
            info = pwd.getpwnam(user)
            for name in ("mail", "home"):
                os.chown(root / name, info.pw_uid, info.pw_gid)
            os.chmod(root, 0o755)
        else:  # an unprivileged dovecot: every service runs as the current user
            info = pwd.getpwuid(os.geteuid())
            user = login_user = info.pw_name
            group = info.pw_name
            first_uid = min(info.pw_uid, 100)
        (root / "dovecot.conf").write_text(
            CONFIG.format(root=root, user=user, group=group, login_user=login_user, first_uid=first_uid,
                          plain_port=self.plain_port, tls_port=self.tls_port)
        )
        with (root / "start.log").open("wb") as output:  # dovecot forks; its child keeps these open
            started = subprocess.run([dovecot, "-c", str(root / "dovecot.conf")], stdin=subprocess.DEVNULL,
                                     stdout=output, stderr=subprocess.STDOUT, timeout=30)
        if started.returncode:
            raise RuntimeError(f"dovecot did not start: {(root / 'start.log').read_text(errors='replace')}")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.plain_port), timeout=1) as probe:
                    if probe.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not start; log:\n{self.log()}")

    def log(self) -> str:
        return "".join(path.read_text(errors="replace") for path in (self.root / "start.log", self.root / "dovecot.log")
                       if path.exists())

    def stop(self) -> None:
        pid_file = self.root / "run" / "master.pid"
        if not pid_file.exists():
            return
        pid = int(pid_file.read_text().strip())
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            return
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def _write_users(self, count: int) -> None:
        for _ in range(count):
            self._users[f"u{uuid.uuid4().hex[:10]}@example.com"] = "secret"
        temp = self.root / "passwd.new"
        temp.write_text("".join(f"{name}:{{PLAIN}}{secret}\n" for name, secret in self._users.items()))
        os.replace(temp, self.root / "passwd")

    def add_user(self) -> str:
        """A new user (password "secret") with an empty mailbox; returns its login name.

        Users are written ahead in blocks: dovecot re-reads its passwd-file at most once a second.
        """
        with self._lock:
            if not self._free:
                self._write_users(USER_BLOCK)
                self._free = [u for u in self._users if u not in self._given]
                time.sleep(1.1)
            user = self._free.pop()
            self._given.add(user)
        return user

    def account(self, name: str, user: str, security: str = "plain", password: str = "secret", **extra: object) -> dict:
        """Settings (as a dict) of an account on this server."""
        port = self.tls_port if security == "tls" else self.plain_port
        return {"name": name, "host": self.host if security == "plain" else "localhost", "port": port,
                "security": security, "user": user, "password": password, "ca_file": str(self.ca_file), **extra}

    def mailbox(self, user: str, password: str = "secret", folder: str = "INBOX"):  # type: ignore[no-untyped-def]
        from imap_tools import MailBoxUnencrypted

        return MailBoxUnencrypted(self.host, self.plain_port, timeout=30).login(user, password, folder)

    def maildir(self, user: str) -> Path:
        return self.root / "mail" / user


class FaultyProxy:
    """A TCP proxy to the server that counts the bytes it sends, can slow every chunk down, and
    can drop the first `drop_connections` connections after `drop_after_bytes` from the server."""

    def __init__(self, target_port: int, *, drop_after_bytes: int | None = None, drop_connections: int = 1,
                 delay_seconds: float = 0.0) -> None:
        self.target = ("127.0.0.1", target_port)
        self.drop_after_bytes = drop_after_bytes
        self.drop_connections = drop_connections
        self.delay_seconds = delay_seconds
        self.bytes_from_server = 0
        self.connections = 0
        self.dropped = 0
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self.port = self._server.getsockname()[1]
        self._closed = False
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self.connections += 1
                drop = self.drop_after_bytes is not None and self.dropped < self.drop_connections
                if drop:
                    self.dropped += 1
            threading.Thread(target=self._pipe, args=(client, upstream, False, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True, drop), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, from_server: bool, drop: bool) -> None:
        sent = 0
        try:
            while chunk := source.recv(65536):
                if self.delay_seconds:
                    time.sleep(self.delay_seconds)
                if drop and sent + len(chunk) > (self.drop_after_bytes or 0):
                    break
                sink.sendall(chunk)
                sent += len(chunk)
                if from_server:
                    with self._lock:
                        self.bytes_from_server += len(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()

    def close(self) -> None:
        self._closed = True
        self._server.close()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    root = Path(tempfile.mkdtemp(prefix="invoices-dovecot-"))
    server = DovecotServer(root).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def configure(monkeypatch: pytest.MonkeyPatch, accounts: list[dict], **imap: object):  # type: ignore[no-untyped-def]
    """Point the settings at these accounts (and IMAP options); returns the fresh settings."""
    import json

    from tasks.settings import get_settings

    monkeypatch.setenv("INVOICES_IMAP__ACCOUNTS", json.dumps(accounts))
    for key, value in imap.items():
        monkeypatch.setenv(f"INVOICES_IMAP__{key.upper()}", str(value))
    get_settings.cache_clear()
    return get_settings()


def folder_uids(server: DovecotServer, user: str, folder: str) -> list[int]:
    with server.mailbox(user, folder=None) as box:  # type: ignore[arg-type]
        if not box.folder.exists(folder):
            return []
        box.folder.set(folder)
        return [int(uid) for uid in box.uids()]
