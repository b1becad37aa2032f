"""Consolidating a workbook into the invoices: every row accounted for, in one transaction.

Pass 1 streams every tab (`tasks.workbook.sheets`) and spills the good rows to a temporary
file (so a huge workbook never sits in memory), noting which invoice keys occur more than once.
Pass 2 reads them back in batches: a key seen once is applied straight away; a key seen in
several rows (a duplicated row, the same invoice in two tabs) is compared first: equal values
are one invoice, different values are a conflict that is reported and applied to nothing.

Invoices are keyed by (counterparty, number) exactly as `tasks.invoices.records` keys them; every
change to an invoice leaves an audit event; each row is remembered as a WorkbookRow keyed by
(workbook, tab, invoice key) with a hash of its values, so a row that has not changed since
the last import is skipped without touching its invoice. Importing a file whose bytes were
already imported (same name and sha256) returns the earlier result at once.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import re
import tempfile
from array import array
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db.models import Invoice, Workbook, WorkbookRow
from db.session import session_scope
from tasks.documents.store import sha256_file
from tasks.invoices.column_fits import misfit, text_limit
from tasks.invoices.records import counterparty_key, invoice_number_key
from tasks.workbook.apply import Unit, apply_units
from tasks.workbook.garbage_collection import fewer_collections
from tasks.workbook.read import Limits, WorkbookFile, check_file, limits_from_settings
from tasks.workbook.sheets import (
    InvoiceRow,
    Problem,
    SheetPlan,
    Skip,
    convert_row,
    plan_sheet,
)
from tasks.workbook.vocabulary import load_vocabulary
from tasks.workbook.writer import batch_writer

logger = logging.getLogger(__name__)
BATCH = 2000
MAX_LISTED = 1000  # rejected rows listed in a report (all are counted)
Progress = Callable[[str, int], None]  # (sheet, rows read so far)
# A progress display (the CLI on a terminal) set around a flow run, since a flow parameter cannot hold it.
PROGRESS: ContextVar[Progress | None] = ContextVar("workbook_progress", default=None)


@dataclass
class ImportReport:
    workbook: str
    file: str
    sha256: str
    dry_run: bool
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("rows", "new", "updated", "unchanged", "duplicates", "conflicts", "rejected", "skipped_rows"), 0))
    sheets: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    identical_to: str | None = None
    workbook_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def reject(self, problems: list[Problem]) -> None:
        self.counts["rejected"] += 1
        for problem in problems:
            if len(self.rejected) < MAX_LISTED:
                self.rejected.append(asdict(problem))


def workbook_name(file_name: str) -> str:
    """A workbook's identity: its file name without case, extra spaces or a copy suffix ' (2)'."""
    stem = re.sub(r"\s*\(\d+\)(?=\.[^.]+$)", "", Path(file_name).name)
    return " ".join(stem.split()).casefold()[:300]


_counterparty_key = lru_cache(maxsize=65536)(counterparty_key)


def _key(counterparty: str, number: str) -> tuple[str, str]:
    return _counterparty_key(counterparty), invoice_number_key(number)


def row_hash(counterparty: str, number: str, values: dict[str, Any]) -> str:
    """A digest of what a row says about its invoice. The fields come in the order the row
    reader sets them (the same for the same fields), so no sorting is needed; a different order
    would only cost a comparison with the invoice, never hide a change."""
    canonical = "\x1f".join([counterparty, number, *values, *map(str, values.values())])
    return hashlib.blake2b(canonical.encode(), digest_size=32).hexdigest()


def _mapping_fingerprint(mapping_file: str | None) -> str | None:
    if not mapping_file:
        return None
    return hashlib.sha256(Path(mapping_file).read_bytes()).hexdigest()


def _read_pass(
    path: Path, report: ImportReport, mapping_file: str | None, limits: Limits, spill: IO[bytes], progress: Progress | None
) -> set[int]:
    """Pass 1: read every tab; spill good rows in batches; returns the invoice keys (by hash) that
    more than one row names."""
    vocabulary = load_vocabulary(mapping_file)
    keys = array("q")  # the hash of each row's invoice key: 8 bytes a row
    batch: list[tuple[Any, ...]] = []
    with WorkbookFile(path, limits, report.file) as book:
        for raw in book.sheets:
            plan, rows = plan_sheet(book, raw, vocabulary)
            summary = {"sheet": plan.name, "status": plan.status, "header_row": plan.header_row, "rows": 0,
                       "rejected": 0, "skipped_rows": 0, "reason": plan.reason, "notes": plan.notes}
            report.sheets.append(summary)
            for number, cells in rows:
                result = convert_row(plan, number, cells, vocabulary)
                if isinstance(result, Skip):
                    summary["skipped_rows"] += 1
                    report.counts["skipped_rows"] += 1
                    continue
                summary["rows"] += 1
                report.counts["rows"] += 1
                if progress and report.counts["rows"] % 5000 == 0:
                    progress(plan.name, report.counts["rows"])
                spilled = None if isinstance(result, list) else _spilled(result)
                problems = result if spilled is None else _key_misfits(plan, spilled)
                if problems:
                    summary["rejected"] += 1
                    report.reject(problems)
                    continue
                batch.append(spilled)
                keys.append(hash(batch[-1][4]))
                if len(batch) >= BATCH:
                    pickle.dump(batch, spill, protocol=pickle.HIGHEST_PROTOCOL)
                    batch = []
    if batch:
        pickle.dump(batch, spill, protocol=pickle.HIGHEST_PROTOCOL)
    return _repeated(keys)


def _repeated(hashes: array) -> set[int]:  # type: ignore[type-arg]
    """The hashes that occur more than once."""
    ordered = sorted(hashes)
    return {a for a, b in zip(ordered, ordered[1:]) if a == b}


def _spilled(row: InvoiceRow) -> tuple[Any, ...]:
    ckey, nkey = _key(row.counterparty, row.number)
    invoice_key = f"{ckey}|{nkey}"
    counterparty = row.counterparty.strip()
    digest = row_hash(counterparty, nkey, row.values)
    return (row.sheet, row.row, counterparty, nkey, invoice_key, ckey, row.values, row.record, digest)


# position in a spilled row, its column, the field whose column a problem names
_KEY_COLUMNS = tuple((position, text_limit(column) or 0, column, field_name) for position, column, field_name in (
    (2, Invoice.__table__.c.counterparty, "counterparty"), (3, Invoice.__table__.c.number, "number"),
    (5, Invoice.__table__.c.counterparty_key, "counterparty"), (4, WorkbookRow.__table__.c.invoice_key, "number")))


def _key_misfits(plan: SheetPlan, row: tuple[Any, ...]) -> list[Problem]:
    """A row whose counterparty, number or their keys are longer than their columns hold."""
    for position, limit, column, field_name in _KEY_COLUMNS:
        if len(row[position]) > limit:
            label = plan.by_field[field_name][0].label if plan.by_field.get(field_name) else field_name
            return [Problem(row[0], row[1], label, f"{column.name}: {misfit(column, row[position])}")]
    return []


def _spilled_batches(spill: IO[bytes]) -> Iterator[list[tuple[Any, ...]]]:
    spill.seek(0)
    while True:
        try:
            yield pickle.load(spill)
        except EOFError:
            return


def _single_unit(row: tuple[Any, ...]) -> Unit:
    """The unit of an invoice key that only one row names."""
    sheet, number, counterparty, number_key, invoice_key, key, values, record, digest = row
    return Unit(counterparty, number_key, key, invoice_key, values, [(sheet, number, record, digest)])


def _unit(rows: list[tuple[Any, ...]], report: ImportReport) -> Unit:
    """One invoice key's rows -> one unit: merged values, or a conflict naming the fields."""
    first = rows[0]
    unit = Unit(counterparty=first[2], number=first[3], counterparty_key=first[5], invoice_key=first[4])
    merged: dict[str, Any] = {}
    differing: set[str] = set()
    seen_sheets: dict[str, int] = {}
    for sheet, number, _cp, _n, _k, _ck, values, record, digest in rows:
        for name, value in values.items():
            if name in merged and merged[name] != value:
                differing.add(name)
            merged.setdefault(name, value)
        if sheet in seen_sheets:
            unit.duplicates.append((sheet, number, seen_sheets[sheet]))
            continue
        seen_sheets[sheet] = number
        unit.rows.append((sheet, number, record, digest))
    unit.values = merged
    if differing:
        unit.conflict = True
        places = [f"{sheet}!{number}" for sheet, number, *_ in rows]
        fields = {name: [_text(row[6].get(name)) for row in rows] for name in sorted(differing)}
        report.conflicts.append({"counterparty": first[2], "number": first[3], "rows": places, "fields": fields})
    return unit


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def import_workbook(
    path: str | Path,
    *,
    dry_run: bool = False,
    actor: str = "consolidate-workbook",
    flow_run_id: str | None = None,
    document_id: int | None = None,
    original_name: str | None = None,
    mapping_file: str | None = None,
    limits: Limits | None = None,
    progress: Progress | None = None,
    session_factory: Callable[[], Any] = session_scope,
) -> ImportReport:
    """Import one workbook file. A file-level problem raises WorkbookError and writes nothing.
    ``limits``: those of the settings unless given."""
    path = Path(path)
    limits = limits or limits_from_settings()
    check_file(path, limits, original_name)  # a file that is no readable workbook: WorkbookError before anything else
    progress = progress or PROGRESS.get()
    name = workbook_name(original_name or path.name)
    report = ImportReport(workbook=name, file=original_name or path.name, sha256=sha256_file(path), dry_run=dry_run)
    fingerprint = _mapping_fingerprint(mapping_file)
    with session_factory() as session:
        earlier = session.scalars(select(Workbook).where(Workbook.name == name, Workbook.sha256 == report.sha256)).first()
        if earlier is not None and earlier.summary.get("mapping") == fingerprint and "counts" in earlier.summary:
            return _identical(report, earlier)
    with tempfile.TemporaryFile(prefix="workbook-rows-") as spill, fewer_collections():
        repeated = _read_pass(path, report, mapping_file, limits, spill, progress)
        with session_factory() as session:
            _lock(session)
            workbook = session.scalars(
                select(Workbook).where(Workbook.name == name, Workbook.sha256 == report.sha256)
            ).first() or Workbook(name=name, sha256=report.sha256, document_id=document_id, summary={})
            workbook.imported_at = now()
            session.add(workbook)
            session.flush()
            report.workbook_id = workbook.id
            known = session.scalar(select(WorkbookRow.id).where(WorkbookRow.workbook_name == name).limit(1))
            postgres = session.get_bind().dialect.name == "postgresql"
            with (session_factory() if postgres else nullcontext(session)) as reader, \
                    batch_writer(session, threaded=postgres) as writer:
                _fresh_statistics(reader)
                context = {"reader": reader, "writer": writer, "workbook": workbook, "actor": actor,
                           "flow_run_id": flow_run_id, "known_rows": known is not None}
                units = _apply_spilled(spill, repeated, report, context)
            report.counts["duplicates"] = sum(len(u.duplicates) for u in units)
            report.counts["conflicts"] = len(report.conflicts)
            workbook.summary = {**report.as_dict(), "mapping": fingerprint}
            if dry_run:
                session.rollback()
                report.workbook_id = None
    logger.info("workbook %s: %s", name, report.counts)
    return report


def _apply_spilled(spill: IO[bytes], repeated: set[int], report: ImportReport, context: dict[str, Any]) -> list[Unit]:
    """Pass 2: apply the rows of keys seen once batch by batch, then the keys seen in several rows
    (returned: they know the duplicates)."""
    deferred: dict[str, list[tuple[Any, ...]]] = {}
    for batch in _spilled_batches(spill):
        units = []
        for row in batch:
            if hash(row[4]) in repeated:
                deferred.setdefault(row[4], []).append(row)
            else:
                units.append(_single_unit(row))
        _count(report, apply_units(units, **context))
    units = [_unit(rows, report) for rows in deferred.values()]
    for start in range(0, len(units), BATCH):
        _count(report, apply_units(units[start:start + BATCH], **context))
    return units


def _count(report: ImportReport, outcomes: dict[str, int]) -> None:
    for outcome, count in outcomes.items():
        report.counts[outcome] = report.counts.get(outcome, 0) + count


def _lock(session: Session) -> None:
    """One import at a time (PostgreSQL; SQLite has a single writer anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('consolidate-workbook'))"))


def _fresh_statistics(session: Session) -> None:
    """Rows loaded in bulk moments ago are invisible to PostgreSQL's planner until analysed, and
    then every batch lookup would scan the whole table instead of using the key index."""
    if session.get_bind().dialect.name == "postgresql":
        for table in ("invoices", "workbook_rows"):
            session.execute(text(f"ANALYZE {table}"))


def _identical(report: ImportReport, earlier: Workbook) -> ImportReport:
    """The same bytes were imported before: nothing to do; the earlier findings still stand."""
    previous = earlier.summary
    counts = dict(previous["counts"])
    counts["unchanged"] = counts.get("new", 0) + counts.get("updated", 0) + counts.get("unchanged", 0)
    counts["new"] = counts["updated"] = 0
    report.counts = counts
    report.sheets = previous.get("sheets", [])
    report.rejected = previous.get("rejected", [])
    report.conflicts = previous.get("conflicts", [])
    report.identical_to = earlier.imported_at.astimezone(timezone.utc).isoformat(timespec="seconds")
    report.workbook_id = earlier.id
    return report


def now() -> datetime:
    return datetime.now(timezone.utc)
