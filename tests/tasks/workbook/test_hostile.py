"""Workbooks built to exhaust the reader, or holding values no column can take: each is refused
(or its bad part bounded) in seconds and in little memory, measured in a child process, and a
bad value is a rejected row while the rest of the workbook lands, on SQLite and PostgreSQL."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from db.models import Invoice
from db.session import session_scope
from tasks.errors import WorkbookError
from tasks.workbook.importer import import_workbook
from tasks.workbook.read import BadCell, Limits, WorkbookFile
from tests.support.hostile_workbooks import (
    bad_values,
    column_merges,
    endless_merge,
    huge_cell,
    invoice_rows,
    measure_import,
    rows_xml,
    whole_sheet_dimension,
    write_workbook,
)

SECONDS, MEGABYTES = 30, 300


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    return {
        "endless-merge": endless_merge(folder / "endless-merge.xlsx"),
        "whole-sheet-dimension": whole_sheet_dimension(folder / "whole-sheet-dimension.xlsx"),
        "column-merges": column_merges(folder / "column-merges.xlsx"),
        "huge-cell": huge_cell(folder / "huge-cell.xlsx"),
        "huge-shared-string": huge_cell(folder / "huge-shared-string.xlsx", shared=True),
    }


# what each file must come to: refused with these words, or read with its two invoices
EXPECTED = {
    "endless-merge": ("refused", ["endless-merge.xlsx", "tab 'Invoices'", "B2:B999999999", "last row"]),
    "whole-sheet-dimension": ("read", []),
    "column-merges": ("read", []),
    "huge-cell": ("refused", ["huge-cell.xlsx", "tab 'Invoices'", "row 3", "32,767 characters"]),
    "huge-shared-string": ("refused", ["huge-shared-string.xlsx", "xl/sharedStrings.xml"]),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_a_hostile_workbook_is_refused_or_bounded_in_seconds_and_little_memory(settings, hostile, name):
    path = hostile[name]
    assert path.stat().st_size < 13_000_000  # 4.8 KB to 12 MB files

    measured = measure_import(path, timeout=120)

    print(f"\n{name}: {path.stat().st_size / 1e3:,.1f} KB, {measured.seconds:.1f} s, {measured.peak_mb:.0f} MB peak")
    assert "crashed" not in measured.outcome, measured.outcome
    assert measured.seconds < SECONDS and measured.peak_mb < MEGABYTES, (measured.seconds, measured.peak_mb)
    kind, words = EXPECTED[name]
    if kind == "refused":
        assert "refused" in measured.outcome, measured.outcome
        assert all(w in measured.outcome["refused"] for w in words), measured.outcome["refused"]
    else:
        assert measured.outcome["counts"]["new"] == 2, measured.outcome
        assert measured.outcome["counts"]["rejected"] == 0 and measured.outcome["counts"]["rows"] == 2


def test_bad_values_are_rejected_rows_and_the_rest_of_the_workbook_lands(settings, tmp_path):
    report = import_workbook(bad_values(tmp_path / "bad-values.xlsx"))

    reasons = {problem["row"]: (problem["column"], problem["reason"]) for problem in report.rejected}
    assert report.counts["new"] == 3 and report.counts["rejected"] == 6, report.rejected
    assert all(problem["sheet"] == "Invoices" for problem in report.rejected)
    assert reasons[3][0] == "C (Amount)" and "not an amount" in reasons[3][1]
    assert reasons[4][0] == "B (Customer)" and "shared string 7" in reasons[4][1]
    assert reasons[5][0] == "C (Amount)" and "999,999,999,999.99" in reasons[5][1]
    assert reasons[6][0] == "B (Customer)" and "400 characters" in reasons[6][1]
    assert reasons[8][0] == "C (Amount)" and "'not a number' is not a number" in reasons[8][1]
    assert reasons[9][0] == "A (Invoice #)" and "150 characters" in reasons[9][1]
    with session_scope() as session:
        totals = dict(session.execute(select(Invoice.number, Invoice.total)).all())
    assert totals == {"OK-1": Decimal("100.50"), "OK-2": Decimal("7.00"), "OK-3": Decimal("99.50")}


def _sheet_rows(path, limits=Limits()):
    with WorkbookFile(path, limits) as book:
        [sheet] = book.sheets
        book.load_merges(sheet)
        return list(book.rows(sheet)), sheet


def test_rows_columns_and_merges_beyond_the_limits_refuse_the_workbook_naming_file_and_tab(tmp_path):
    good = rows_xml(invoice_rows())
    cases = {
        "far-row.xlsx": (good + '<row r="1048577"><c r="A1048577"><v>1</v></c></row>', "", Limits(), "row 1,048,576"),
        "far-column.xlsx": (good + '<row r="4"><c r="XFE4"><v>1</v></c></row>', "", Limits(), "column XFD"),
        "bad-reference.xlsx": (good + '<row r="4"><c r="4A" s="0" x="1"><v>1</v></c></row>', "", Limits(),
                               "names no cell"),
        "many-merges.xlsx": (good, '<mergeCells>' + '<mergeCell ref="D1:E1"/>' * 11 + "</mergeCells>",
                             Limits(max_merged_ranges=10), "more than 10 merged ranges"),
        "wide-merge.xlsx": (good, '<mergeCells><mergeCell ref="A1:A5000000"/></mergeCells>', Limits(), "last row"),
        "limited-rows.xlsx": (good, "", Limits(max_rows=2), "row 2"),
    }
    for name, (data, tail, limits, words) in cases.items():
        path = write_workbook(tmp_path / name, data, tail=tail)
        with pytest.raises(WorkbookError) as caught:
            _sheet_rows(path, limits)
        assert name in str(caught.value) and "tab 'Invoices'" in str(caught.value), str(caught.value)
        assert words in str(caught.value), str(caught.value)


def test_merged_ranges_fill_only_the_rows_the_tab_holds_within_a_bound(settings, tmp_path):
    merges = '<mergeCells><mergeCell ref="B2:B1048576"/><mergeCell ref="C2:C3"/></mergeCells>'
    rows = rows_xml([["Invoice #", "Customer", "Amount"], ["M-1", "Merged Ltd", 5], ["M-2"], [], ["M-3"]])
    path = write_workbook(tmp_path / "merged.xlsx", rows, tail=merges)
    report = import_workbook(path)
    assert report.counts["new"] == 3 and report.counts["rows"] == 3, report.as_dict()
    with session_scope() as session:
        found = {i.number: (i.counterparty, i.total) for i in session.scalars(select(Invoice))}
    assert found == {"M-1": ("Merged Ltd", Decimal("5.00")), "M-2": ("Merged Ltd", Decimal("5.00")),
                     "M-3": ("Merged Ltd", None)}

    again = path.with_name("merged-again.xlsx")
    again.write_bytes(path.read_bytes())
    with pytest.raises(WorkbookError, match="merged-again.xlsx, tab 'Invoices': its merged ranges fill more than 1"):
        import_workbook(again, limits=Limits(max_merged_cells=1))


def test_shared_strings_and_cells_are_bounded(tmp_path):
    strings = '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + \
        "".join(f"<si><t>text {n}</t></si>" for n in range(5)) + "</sst>"
    path = write_workbook(tmp_path / "strings.xlsx", rows_xml(invoice_rows()), shared_strings=strings)
    with pytest.raises(WorkbookError, match=r"strings.xlsx: more than 4 shared strings"):
        _sheet_rows(path, Limits(max_shared_strings=4))
    with pytest.raises(WorkbookError, match=r"strings.xlsx: shared string 0 holds more than 100 characters"):
        write_workbook(path, "", shared_strings=strings.replace("text 0", "x" * 101))
        _sheet_rows(path, Limits(max_cell_characters=100))

    long_text = rows_xml([["L-1", "y" * 101, 1], ["L-2", "fine", "1e999"]])
    rows, _sheet = _sheet_rows(write_workbook(tmp_path / "cells.xlsx", long_text), Limits(max_cell_characters=100))
    assert isinstance(rows[0][1][2], BadCell) and "101 characters" in rows[0][1][2].reason
    assert rows[1][1][3] == "1e999"  # an inline string; the number "1e999" in a <v> is not one:
    rows, _sheet = _sheet_rows(write_workbook(tmp_path / "inf.xlsx", '<row r="1"><c r="A1"><v>1e999</v></c></row>'))
    assert isinstance(rows[0][1][1], BadCell) and "not a number" in rows[0][1][1].reason


def test_a_tab_name_longer_than_its_column_rejects_the_tab(settings, tmp_path):
    path = write_workbook(tmp_path / "named.xlsx", rows_xml(invoice_rows()), sheet_name="T" * 120)
    report = import_workbook(path)
    [sheet] = report.sheets
    assert sheet["status"] == "rejected" and "120 characters" in sheet["reason"] and len(sheet["sheet"]) == 100
    assert report.counts["new"] == 0
