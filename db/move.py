"""Moving the database from SQLite to PostgreSQL by a verified copy (`invoices db move --to URL`).

The target is an empty PostgreSQL database: one without tables is migrated first, one whose
tables hold a row is refused, naming the tables. Every table of the source that the models know
(`db.models.Base.metadata`, in foreign-key order: a row's parent is always there before it) is
streamed in batches from one read snapshot of the SQLite file into a COPY of its table, all in
one transaction of the target. While a table's rows stream by, its row count and checksum are
taken; the target's rows are then read back through the same column types and fingerprinted the
same way (in primary-key order, amounts as exact decimals, timestamps in UTC, JSON with sorted
keys, booleans as booleans, bytes as bytes), and only if every table agrees
is the copy committed, its id sequences set past the copied ids. Anything else rolls the target
back to empty and says which table and why.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import JSON, Column, Connection, Engine, Integer, Numeric, Table, inspect, select
from sqlalchemy import table as table_clause
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from db.migrate import current_revision, schema_state, upgrade
from db.models import Base
from db.session import make_engine
from tasks.backup.database import Fingerprint, compare_fingerprints
from tasks.errors import DatabaseMoveError

logger = logging.getLogger(__name__)

BATCH_ROWS = 5000
BOOKKEEPING = frozenset({"alembic_version"})
Progress = Callable[[str, int], None]  # (table, rows copied so far)


@dataclass(frozen=True)
class TablePlan:
    """One table to copy and the columns both databases have."""

    table: Table
    columns: tuple[Column[Any], ...]

    @property
    def name(self) -> str:
        return self.table.name


@dataclass
class MoveReport:
    source: str
    target: str
    migrated: bool = False  # the target had no tables and was migrated first
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows copied and verified
    settings_line: str = ""
    password_left_out: bool = False

    def lines(self) -> list[str]:
        width = max((len(name) for name in self.rows), default=0)
        out = [f"moved {self.source} to {self.target}" + (" (migrated first)" if self.migrated else "")]
        out += [f"  {name:<{width}}  {count:>9,} row{'' if count == 1 else 's'}, checksum verified"
                for name, count in self.rows.items()]
        out += ["switch over: stop `invoices serve`, set in .env (or the environment)", f"  {self.settings_line}"]
        if self.password_left_out:
            out.append("  with the password put back after the user name (user:PASSWORD@host)")
        return out


def shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def settings_line(url: str) -> tuple[str, bool]:
    """The setting that points the system at ``url``, without its password (and whether it had one)."""
    parsed = make_url(url)
    bare = URL.create(parsed.drivername, parsed.username, None, parsed.host, parsed.port, parsed.database, parsed.query)
    return f"INVOICES_DATABASE__URL={bare.render_as_string(hide_password=False)}", bool(parsed.password)


def move_database(source_url: str, target_url: str, batch_rows: int = BATCH_ROWS,
                  progress: Progress | None = None) -> MoveReport:
    """Copy every table of the SQLite database at ``source_url`` into the empty PostgreSQL database
    at ``target_url`` and verify it; DatabaseMoveError (nothing kept in the target) otherwise."""
    _check_urls(source_url, target_url)
    report = MoveReport(source=shown(source_url), target=shown(target_url))
    report.settings_line, report.password_left_out = settings_line(target_url)
    report.migrated = prepare_target(source_url, target_url)
    source, target = make_engine(source_url), make_engine(target_url)
    try:
        plan = copy_plan(source, target)
        with source.connect() as reading, target.connect() as writing:
            reading.exec_driver_sql("BEGIN")  # one snapshot of every table, however long the copy takes
            with writing.begin():
                expected = {}
                for item in plan:
                    expected[item.name] = copy_table(reading, writing, item, batch_rows, progress)
                problems = compare_fingerprints(expected, fingerprint(writing, plan, batch_rows))
                if problems:
                    raise DatabaseMoveError(f"the copy in {report.target} differs from {report.source}: "
                                            + "; ".join(problems) + "; nothing was kept in the target")
                set_sequences(writing, plan)
            reading.rollback()
        report.rows = {name: int(value["rows"]) for name, value in expected.items()}
    except SQLAlchemyError as err:
        raise DatabaseMoveError(f"moving {report.source} to {report.target} failed, nothing was kept in the "
                                f"target: {_first_line(err)}") from err
    finally:
        source.dispose()
        target.dispose()
    logger.info("moved %s to %s: %s", report.source, report.target, report.rows)
    return report


def verify_copy(source_url: str, target_url: str, batch_rows: int = BATCH_ROWS) -> list[str]:
    """Every difference between the two databases' tables (row count or checksum), one line each."""
    source, target = make_engine(source_url), make_engine(target_url)
    try:
        plan = copy_plan(source, target)
        with source.connect() as reading, target.connect() as other:
            return compare_fingerprints(fingerprint(reading, plan, batch_rows), fingerprint(other, plan, batch_rows))
    finally:
        source.dispose()
        target.dispose()


def _check_urls(source_url: str, target_url: str) -> None:
    source, target = make_url(source_url), make_url(target_url)
    if source.get_backend_name() != "sqlite":
        raise DatabaseMoveError(f"the configured database {shown(source_url)} is not SQLite; `db move` copies a "
                                "SQLite database to PostgreSQL (a PostgreSQL database moves with `invoices backup` "
                                "and `invoices restore ID --target-url URL`)")
    if target.get_backend_name() != "postgresql":
        raise DatabaseMoveError(f"the target {shown(target_url)} is not a PostgreSQL URL "
                                "(postgresql+psycopg://user:password@host:5432/invoices)")
    state = schema_state(source_url)
    if not state.ready:
        raise DatabaseMoveError(f"the source {state.detail}: {state.fix} first")


def prepare_target(source_url: str, target_url: str) -> bool:
    """Make the target a migrated, empty database at the source's revision (True: it was migrated).
    A database that does not exist yet is created; one holding rows is refused, naming the tables."""
    _create_if_missing(target_url)
    engine = make_engine(target_url)
    try:
        with engine.connect() as connection:
            names = set(inspect(connection).get_table_names())
            holding = [name for name in sorted(names - BOOKKEEPING) if connection.execute(
                select(1).select_from(table_clause(name)).limit(1)).first()]
    except SQLAlchemyError as err:
        raise DatabaseMoveError(f"cannot use the target {shown(target_url)}: {_first_line(err)}") from err
    finally:
        engine.dispose()
    if holding:
        listed = ", ".join(holding[:10]) + (f" and {len(holding) - 10} more" if len(holding) > 10 else "")
        raise DatabaseMoveError(f"the target {shown(target_url)} holds data (table {listed}); "
                                "`db move` copies into an empty database only")
    wanted = current_revision(source_url)
    if current_revision(target_url) != wanted:
        upgrade(target_url, wanted or "heads")
    if current_revision(target_url) != wanted:
        raise DatabaseMoveError(f"the target {shown(target_url)} is at schema revision "
                                f"{current_revision(target_url)}, the source at {wanted}")
    return not names


def _create_if_missing(target_url: str) -> None:
    parsed = make_url(target_url)
    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        psycopg.connect(conninfo, connect_timeout=10).close()
        return
    except psycopg.OperationalError as err:
        if "does not exist" not in str(err):
            raise DatabaseMoveError(f"cannot connect to the target {shown(target_url)}: {_first_line(err)}") from err
    server = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=10) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(parsed.database or "")))
    except psycopg.Error as err:
        raise DatabaseMoveError(f"the target database {parsed.database!r} does not exist and could not be created "
                                f"({_first_line(err)}); create it (createdb) and move again") from err
    logger.info("created the database %s", shown(target_url))


def copy_plan(source: Engine, target: Engine) -> list[TablePlan]:
    """The tables to copy in foreign-key order, each with the columns the source holds; a table or
    column of the source that the models or the target do not know is refused (it would be lost)."""
    with source.connect() as connection:
        source_inspector = inspect(connection)
        source_tables = {name: {c["name"] for c in source_inspector.get_columns(name)}
                         for name in source_inspector.get_table_names() if name not in BOOKKEEPING}
    with target.connect() as connection:
        target_inspector = inspect(connection)
        target_tables = {name: {c["name"] for c in target_inspector.get_columns(name)}
                         for name in target_inspector.get_table_names()}
    unknown = sorted(set(source_tables) - set(Base.metadata.tables))
    if unknown:
        raise DatabaseMoveError(f"the source has tables this version does not know ({', '.join(unknown)}); "
                                "move with the version that made them")
    plan = []
    for table in Base.metadata.sorted_tables:
        if table.name not in source_tables:
            continue
        columns = source_tables[table.name]
        missing = sorted(columns - set(table.c.keys()) | columns - target_tables.get(table.name, set()))
        if missing:
            raise DatabaseMoveError(f"table {table.name}: columns {', '.join(missing)} of the source are not in "
                                    "the models or the target")
        plan.append(TablePlan(table, tuple(c for c in table.c if c.name in columns)))
    return plan


def _rows(connection: Connection, item: TablePlan, batch_rows: int) -> Iterator[Sequence[Any]]:
    """The table's rows as the models read them (typed), in primary-key order, a batch at a time."""
    query = select(*item.columns).order_by(*item.table.primary_key.columns)
    result = connection.execution_options(stream_results=True, yield_per=batch_rows).execute(query)
    for partition in result.partitions():
        yield from partition


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canonical_decimal(value: Any) -> Any:
    return value.normalize() if value is not None else None  # 12.30 from one side, 12.3000000000 from the other


def _canonicalizers(columns: Sequence[Column[Any]]) -> list[Callable[[Any], Any] | None]:
    """Per column, what makes its value read on SQLite and on PostgreSQL the same: JSON with sorted
    keys (PostgreSQL's jsonb reorders them), an exact decimal without trailing zeros (SQLite pads
    to the column's scale); the rest are compared as the column types read them (timestamps
    aware in UTC, booleans, floats, dates, bytes)."""
    found: list[Callable[[Any], Any] | None] = []
    for column in columns:
        kind = column.type
        impl = getattr(kind, "impl", kind)
        if isinstance(impl, JSON):
            found.append(_canonical_json)
        elif isinstance(impl, Numeric) and impl.asdecimal:
            found.append(_canonical_decimal)
        else:
            found.append(None)
    return found


def table_fingerprint(columns: Sequence[Column[Any]], rows: Iterable[Sequence[Any]]) -> dict[str, Any]:
    """Row count and checksum of a table's rows as they come (in primary-key order on both sides)."""
    digest = hashlib.sha256("\x1f".join(c.name for c in columns).encode())
    canonical = _canonicalizers(columns)
    plain = all(c is None for c in canonical)
    count = 0
    for row in rows:
        values = tuple(row) if plain else tuple(v if c is None else c(v) for c, v in zip(canonical, row))
        digest.update(repr(values).encode("utf-8", "surrogatepass"))
        digest.update(b"\n")
        count += 1
    return {"rows": count, "sha256": digest.hexdigest()}


def copy_table(reading: Connection, writing: Connection, item: TablePlan, batch_rows: int = BATCH_ROWS,
               progress: Progress | None = None) -> dict[str, Any]:
    """COPY one table's rows into the target; returns the fingerprint of the rows read."""
    dialect = writing.dialect
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in item.columns]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(item.name), sql.SQL(", ").join(sql.Identifier(c.name) for c in item.columns))
    cursor = writing.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(statement) as copy:
            def written(rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
                for count, row in enumerate(rows, start=1):
                    copy.write_row([p(v) if p is not None else v for p, v in zip(processors, row)])
                    if progress is not None and count % batch_rows == 0:
                        progress(item.name, count)
                    yield row

            return table_fingerprint(item.columns, written(_rows(reading, item, batch_rows)))
    except psycopg.Error as err:
        raise DatabaseMoveError(f"table {item.name}: PostgreSQL refused a row: {_first_line(err)}; "
                                "nothing was kept in the target") from err
    finally:
        cursor.close()


def fingerprint(connection: Connection, plan: list[TablePlan], batch_rows: int = BATCH_ROWS) -> Fingerprint:
    """Row count and checksum of every planned table, its values read through the models' types."""
    return {item.name: table_fingerprint(item.columns, _rows(connection, item, batch_rows))
            for item in plan}


def set_sequences(connection: Connection, plan: list[TablePlan]) -> None:
    """Each table's id sequence past its highest copied id, so the next insert gets a fresh one."""
    raw = connection.connection.driver_connection
    for item in plan:
        keys = list(item.table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        key = keys[0].name
        found = raw.execute("SELECT pg_get_serial_sequence(%s, %s)",  # type: ignore[union-attr]
                            (sql.Identifier(item.name).as_string(raw), key)).fetchone()
        if found is None or found[0] is None:
            continue
        raw.execute(sql.SQL("SELECT setval(%s, COALESCE((SELECT MAX({}) FROM {}), 0) + 1, false)").format(  # type: ignore[union-attr]
            sql.Identifier(key), sql.Identifier(item.name)), (found[0],))


def _first_line(err: BaseException) -> str:
    orig = getattr(err, "orig", None) or err
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__
