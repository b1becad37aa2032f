"""The database side of backups: dump, restore and fingerprint PostgreSQL and SQLite.

PostgreSQL is dumped by ``pg_dump`` (custom format) and restored by ``pg_restore``, each of a
major version at least the server's; SQLite is copied with its online backup API. A
fingerprint (row count and checksum of every table) is taken in the same snapshot as the dump,
so that verification can compare a restored copy with the source as it was when it was dumped.
The password reaches the PostgreSQL tools through ``PGPASSWORD``, never their command line.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from tasks.errors import BackupError, ConfigurationError
from tasks.settings import BackupSettings

logger = logging.getLogger(__name__)

DUMP_NAMES = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)((?:\.\d+)*)")
Fingerprint = dict[str, dict[str, Any]]  # table -> {"rows": n, "sha256": hex}


def database_kind(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in DUMP_NAMES:
        raise ConfigurationError(f"backups support PostgreSQL and SQLite, not {backend!r} (INVOICES_DATABASE__URL)")
    return backend


def describe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# --- fingerprints ---------------------------------------------------------------------------

def _canonical(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(value).hex()
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def table_fingerprint(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> dict[str, Any]:
    """Row count and an order-independent checksum (sum of row hashes) of one table's rows."""
    total, count = 0, 0
    for row in rows:
        digest = hashlib.sha256("\x1f".join(_canonical(v) for v in row).encode("utf-8", "surrogatepass")).digest()
        total = (total + int.from_bytes(digest, "big")) % (1 << 256)
        count += 1
    header = "\x1f".join(columns) + "\n" + f"{total:064x}"
    return {"rows": count, "sha256": hashlib.sha256(header.encode()).hexdigest()}


def fingerprint_sqlite(connection: sqlite3.Connection) -> Fingerprint:
    names = [r[0] for r in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    result: Fingerprint = {}
    for name in names:
        cursor = connection.execute(f'SELECT * FROM "{name}"')  # names come from sqlite_master
        result[name] = table_fingerprint([d[0] for d in cursor.description], iter(cursor.fetchone, None))
    return result


def fingerprint_postgresql(connection: psycopg.Connection) -> Fingerprint:
    """Fingerprint every table of the current schema (call inside the transaction to describe)."""
    names = [r[0] for r in connection.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")]
    result: Fingerprint = {}
    for number, name in enumerate(names):
        with connection.cursor(name=f"fingerprint_{number}") as cursor:
            cursor.itersize = 2000
            cursor.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(name)))
            result[name] = table_fingerprint([d.name for d in cursor.description or []], cursor)
    return result


def compare_fingerprints(expected: Fingerprint, actual: Fingerprint) -> list[str]:
    """Every difference, one line each, naming the table."""
    problems = []
    for name in sorted(set(expected) | set(actual)):
        want, got = expected.get(name), actual.get(name)
        if want is None:
            problems.append(f"table {name} is in the restored copy but was not in the source")
        elif got is None:
            problems.append(f"table {name} is missing from the restored copy")
        elif want["rows"] != got["rows"]:
            problems.append(f"table {name}: {got['rows']} rows restored, the source had {want['rows']}")
        elif want["sha256"] != got["sha256"]:
            problems.append(f"table {name}: checksum of the restored rows differs from the source")
    return problems


# --- PostgreSQL tools and connections --------------------------------------------------------

@dataclass(frozen=True)
class PgTarget:
    """libpq connection parameters of one database, the password kept apart."""

    params: dict[str, str]
    password: str | None = field(default=None, repr=False)

    @property
    def database(self) -> str:
        return self.params.get("dbname", "")

    def conninfo(self) -> str:
        return make_conninfo(**self.params)

    def with_database(self, name: str) -> PgTarget:
        return PgTarget({**self.params, "dbname": name}, self.password)

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def connect(self, autocommit: bool = False) -> psycopg.Connection:
        try:
            return psycopg.connect(self.conninfo(), password=self.password, autocommit=autocommit, connect_timeout=30)
        except psycopg.Error as err:
            raise BackupError(f"cannot connect to PostgreSQL database {self.database!r}: {first_line(err)}") from err


def pg_target(url: str) -> PgTarget:
    parsed = make_url(url)
    params: dict[str, str] = {}
    if parsed.host:
        params["host"] = parsed.host
    if parsed.port:
        params["port"] = str(parsed.port)
    if parsed.username:
        params["user"] = parsed.username
    if parsed.database:
        params["dbname"] = parsed.database
    for key, value in parsed.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    return PgTarget(params, parsed.password)


def first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


@dataclass(frozen=True)
class PgTool:
    path: str
    major: int
    version: str


def tool_version(path: str) -> tuple[int, str] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return _tool_version(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=32)
def _tool_version(path: str, _mtime_ns: int, _size: int) -> tuple[int, str] | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(out)
    if not match:
        return None
    return int(match.group(1)), match.group(1) + match.group(2)


def find_pg_tool(configured: str, name: str, needed_major: int, setting: str) -> PgTool:
    """The PostgreSQL client program ``name`` of major version >= ``needed_major``.

    A configured path is the only candidate; a bare name is looked up on PATH and then in
    /usr/lib/postgresql/*/bin (newest first).
    """
    if "/" in configured:
        candidates = [configured]
    else:
        installed = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                           key=lambda p: int(re.sub(r"\D", "", Path(p).parts[-3]) or 0), reverse=True)
        candidates = [c for c in [shutil.which(configured), *installed] if c]
    tried = []
    for candidate in dict.fromkeys(candidates):
        if not (os.path.isfile(candidate) and os.access(candidate, os.X_OK)):
            tried.append(f"{candidate} does not exist")
            continue
        found = tool_version(candidate)
        if found is None:
            tried.append(f"{candidate} does not run or reports no version")
        elif found[0] < needed_major:
            tried.append(f"{candidate} is version {found[1]}")
        else:
            return PgTool(candidate, found[0], found[1])
    install = (f"install the PostgreSQL {needed_major} client (Debian: apt-get install postgresql-client-{needed_major}) "
               f"or set {setting} to its path")
    if not tried:
        raise BackupError(f"{name} not found (looked for {configured!r} on PATH and in /usr/lib/postgresql/*/bin); {install}")
    raise BackupError(f"no usable {name} of version {needed_major} or newer: {'; '.join(tried)}; {install}")


def server_major(connection: psycopg.Connection) -> int:
    row = connection.execute("SHOW server_version_num").fetchone()
    return int(row[0]) // 10000 if row else 0


def run_tool(tool: PgTool, arguments: list[str], target: PgTarget, timeout_minutes: int, action: str) -> None:
    command = [tool.path, *arguments]
    try:
        done = subprocess.run(command, env=target.environment(), capture_output=True, text=True,
                              timeout=timeout_minutes * 60, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as err:
        raise BackupError(f"{action}: {Path(tool.path).name} took longer than {timeout_minutes} minutes") from err
    except OSError as err:
        raise BackupError(f"{action}: cannot run {tool.path}: {err}") from err
    if done.returncode != 0:
        message = " ".join(done.stderr.strip().splitlines()[-5:]) or f"exit status {done.returncode}"
        if target.password:
            message = message.replace(target.password, "***")
        raise BackupError(f"{action}: {Path(tool.path).name} failed (exit {done.returncode}): {message}")


# --- dump ------------------------------------------------------------------------------------

def dump_database(url: str, dump_path: Path, options: BackupSettings) -> dict[str, Any]:
    """Dump the database at ``url`` to ``dump_path``; returns its fingerprint and tool facts."""
    kind = database_kind(url)
    if kind == "sqlite":
        return _dump_sqlite(url, dump_path)
    return _dump_postgresql(url, dump_path, options)


def _dump_postgresql(url: str, dump_path: Path, options: BackupSettings) -> dict[str, Any]:
    target = pg_target(url)
    connection = target.connect()
    try:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        major = server_major(connection)
        tool = find_pg_tool(options.pg_dump, "pg_dump", major, "INVOICES_BACKUP__PG_DUMP")
        snapshot = connection.execute("SELECT pg_export_snapshot()").fetchone()[0]  # type: ignore[index]
        fingerprint = fingerprint_postgresql(connection)
        arguments = ["--format=custom", f"--file={dump_path}", f"--snapshot={snapshot}", "--no-password",
                     f"--dbname={target.conninfo()}"]
        run_tool(tool, arguments, target, options.tool_timeout_minutes, f"dumping database {target.database!r}")
        connection.rollback()
    except psycopg.Error as err:
        raise BackupError(f"dumping database {target.database!r}: {first_line(err)}") from err
    finally:
        connection.close()
    return {"fingerprint": fingerprint, "server_major": major, "tool": f"pg_dump {tool.version}",
            "tool_major": tool.major}


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ConfigurationError(f"cannot back up the SQLite database {url!r}: it is not a file")
    return Path(database)


def _dump_sqlite(url: str, dump_path: Path) -> dict[str, Any]:
    source_path = sqlite_path(url)
    if not source_path.is_file():
        raise BackupError(f"SQLite database {source_path} does not exist")
    source = sqlite3.connect(source_path, isolation_level=None, timeout=60)
    try:
        source.execute("BEGIN")  # one read snapshot for the fingerprint and the copy
        fingerprint = fingerprint_sqlite(source)
        copy = sqlite3.connect(dump_path)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        finally:
            copy.close()
        source.execute("COMMIT")
    except sqlite3.Error as err:
        raise BackupError(f"copying SQLite database {source_path} to {dump_path}: {err}") from err
    finally:
        source.close()
    return {"fingerprint": fingerprint, "tool": f"sqlite {sqlite3.sqlite_version}"}
