"""Restoring a database dump: into a scratch database for verification (created, fingerprinted
and dropped), or into a target database for a restore. PostgreSQL through ``pg_restore`` (of a
major version at least the server's and the dump's), SQLite by copying the file into place."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from tasks.backup.database import (
    Fingerprint,
    PgTarget,
    database_kind,
    describe_url,
    find_pg_tool,
    fingerprint_postgresql,
    fingerprint_sqlite,
    first_line,
    pg_target,
    run_tool,
    server_major,
    sqlite_path,
)
from tasks.backup.scratch import admin_target, backup_dir_of, claim_scratch_database, file_scratch, new_scratch_name
from tasks.errors import BackupError
from tasks.settings import BackupSettings, Settings

logger = logging.getLogger(__name__)


def fingerprint_of_dump(kind: str, dump_path: Path, settings: Settings, dump_tool_major: int = 0,
                        query: str = "SELECT 1") -> tuple[Fingerprint, list[tuple[Any, ...]]]:
    """Restore the dump into a scratch database (created and dropped here, see tasks.backup.scratch);
    its fingerprint and the rows ``query`` returns from it."""
    if kind == "sqlite":
        return _fingerprint_sqlite_dump(dump_path, backup_dir_of(settings), query)
    admin = admin_target(settings)
    scratch = admin.with_database(new_scratch_name())
    holder = admin.connect(autocommit=True)  # holds the scratch's lock until it is dropped
    try:
        try:
            major = server_major(holder)
            claim_scratch_database(holder, scratch.database)
        except psycopg.Error as err:
            raise BackupError(f"cannot create the scratch database {scratch.database!r} for verification: "
                              f"{first_line(err)} (grant CREATEDB or set INVOICES_BACKUP__SCRATCH_URL)") from err
        try:
            restore_postgresql(dump_path, scratch, settings.backup, max(major, dump_tool_major))
            with scratch.connect() as connection:
                connection.read_only = True
                return fingerprint_postgresql(connection), connection.execute(query).fetchall()
        finally:
            try:
                holder.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(scratch.database)))
            except psycopg.Error as err:
                logger.warning("could not drop the scratch database %s (the next backup drops it): %s",
                               scratch.database, first_line(err))
    finally:
        holder.close()


def _fingerprint_sqlite_dump(dump_path: Path, backup_dir: Path, query: str) -> tuple[Fingerprint, list[tuple[Any, ...]]]:
    with file_scratch(backup_dir, "verify") as folder:
        scratch = folder.folder / "restored.sqlite3"
        try:
            shutil.copyfile(dump_path, scratch)
            connection = sqlite3.connect(scratch)
            try:
                problems = [r[0] for r in connection.execute("PRAGMA integrity_check")]
                if problems != ["ok"]:
                    raise BackupError(f"the SQLite copy {dump_path.name} is damaged: {'; '.join(problems[:5])}")
                return fingerprint_sqlite(connection), connection.execute(query).fetchall()
            finally:
                connection.close()
        except (OSError, sqlite3.Error) as err:
            raise BackupError(f"cannot restore {dump_path} into a scratch SQLite file: {err}") from err


def restore_postgresql(dump_path: Path, target: PgTarget, options: BackupSettings, needed_major: int) -> None:
    tool = find_pg_tool(options.pg_restore, "pg_restore", needed_major, "INVOICES_BACKUP__PG_RESTORE")
    arguments = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--no-password",
                 f"--dbname={target.conninfo()}", str(dump_path)]
    run_tool(tool, arguments, target, options.tool_timeout_minutes,
             f"restoring {dump_path.name} into database {target.database!r}")


def tables_with_rows(url: str) -> list[str]:
    """Tables of the database at ``url`` that hold rows (schema bookkeeping aside); [] if it does not exist."""
    if database_kind(url) == "sqlite":
        path = sqlite_path(url)
        if not path.exists():
            return []
        connection = sqlite3.connect(path)
        try:
            names = [r[0] for r in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
            return sorted(n for n in names if n != "alembic_version"
                          and connection.execute(f'SELECT 1 FROM "{n}" LIMIT 1').fetchone())
        finally:
            connection.close()
    target = pg_target(url)
    if not _pg_database_exists(target):
        return []
    with target.connect() as connection:
        names = [r[0] for r in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
        return sorted(n for n in names if n != "alembic_version" and connection.execute(
            sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(n))).fetchone())


def _pg_database_exists(target: PgTarget) -> bool:
    with target.with_database("postgres").connect(autocommit=True) as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (target.database,)).fetchone() is not None


def restore_database(kind: str, dump_path: Path, target_url: str, options: BackupSettings, dump_tool_major: int = 0) -> None:
    """Replace whatever is in the database at ``target_url`` by the dump (the caller checked it may)."""
    if database_kind(target_url) != kind:
        raise BackupError(f"backup holds a {kind} database; cannot restore it into {describe_url(target_url)}")
    if kind == "sqlite":
        _restore_sqlite(dump_path, sqlite_path(target_url))
        return
    target = pg_target(target_url)
    admin = target.with_database("postgres")
    with admin.connect(autocommit=True) as connection:
        major = server_major(connection)
        if not _pg_database_exists(target):
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.database)))
    with target.connect() as connection:  # empty the schema: pg_restore creates every object itself
        names = [r[0] for r in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
        for name in names:
            connection.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(name)))
        connection.commit()
    restore_postgresql(dump_path, target, options, max(major, dump_tool_major))


def restoring_path(target: Path) -> Path:
    """The temporary copy a SQLite restore writes beside its target before renaming it into place."""
    return target.with_name(f".{target.name}.restoring")


def _restore_sqlite(dump_path: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = restoring_path(target)
    try:
        shutil.copyfile(dump_path, temporary)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(temporary, target)
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise BackupError(f"cannot restore {dump_path} to {target}: {err}") from err
