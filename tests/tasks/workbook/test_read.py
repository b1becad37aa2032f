import re
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tasks.workbook import values as values
from tasks.workbook.read import NO_RESULT, BadCell, CellError, WorkbookFile
from tasks.workbook.vocabulary import load_vocabulary
from tests.support.workbook_fixtures import SAMPLE, write_book


def _openpyxl_rows(path):
    book = load_workbook(path, read_only=True, data_only=True)
    try:
        return {
            sheet.title: [(number, {c: v for c, v in enumerate(row, start=1) if v is not None})
                          for number, row in enumerate(sheet.iter_rows(values_only=True), start=1)
                          if any(v is not None for v in row)]
            for sheet in book.worksheets
        }
    finally:
        book.close()


def _ours(path):
    with WorkbookFile(path) as book:
        return {sheet.name: [(n, {c: (None if v is NO_RESULT else v) for c, v in cells.items() if v is not NO_RESULT})
                             for n, cells in book.rows(sheet)] for sheet in book.sheets}


def test_the_streaming_reader_yields_what_openpyxl_reads(tmp_path):
    awkward = write_book(tmp_path / "awkward.xlsx", {
        "Types": [
            ["text & <markup>", "  spaced  ", "Zeile 1\nZeile 2", True, False],
            [1, 1.5, -2e-7, 12345678901, date(2024, 2, 29)],
            [datetime(2024, 3, 1, 13, 45), "=1+1", "#N/A text", "€ 1.234,56", None, "far right"],
        ],
    })
    prefixed = tmp_path / "prefixed.xlsx"  # some generators write <x:row> instead of <row>
    with zipfile.ZipFile(awkward) as source, zipfile.ZipFile(prefixed, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb"<(/?)([A-Za-z]+)([ >/])", rb"<\1x:\2\3", data).replace(b"xmlns=", b"xmlns:x=")
            target.writestr(item, data)
    for path in (SAMPLE, awkward, prefixed):
        ours, theirs = _ours(path), _openpyxl_rows(path)
        assert ours == theirs
    assert _ours(prefixed) == _ours(awkward)


def _formatted_book(path, epoch=None):
    """Custom date, duration and text formats, rich text and a hidden tab."""
    from openpyxl import Workbook
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    book = Workbook()
    if epoch is not None:
        book.epoch = epoch
    sheet = book.active
    sheet.title = "Formats"
    rows = [(date(2024, 2, 29), "dd.mm.yyyy"), (datetime(2024, 3, 1, 8, 30), 'yyyy-mm-dd" um "hh:mm'),
            (1.75, "[h]:mm"), (0.5, "h:mm"), (45000, '"Tag" 0'), (45000, "[$-407]0.00"), (12.5, "0.00 [$EUR]"),
            (30, "d"), (59, "mm/dd/yyyy"), (61, "mm/dd/yyyy")]
    for number, (value, number_format) in enumerate(rows, start=1):
        sheet.cell(number, 1, value).number_format = number_format
    sheet.cell(1, 2, CellRichText("plain ", TextBlock(InlineFont(b=True), "bold"), " tail"))
    sheet.cell(2, 2, "x005F_escaped")
    hidden = book.create_sheet("Hidden")
    hidden.sheet_state = "hidden"
    hidden.append(["kept"])
    book.save(path)
    return path


def test_the_package_parts_are_read_as_openpyxl_reads_them(tmp_path):
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    windows = _formatted_book(tmp_path / "formats.xlsx")
    mac = _formatted_book(tmp_path / "formats-1904.xlsx", epoch=CALENDAR_MAC_1904)
    for path in (SAMPLE, windows, mac):
        assert _ours(path) == _openpyxl_rows(path)
    with WorkbookFile(windows) as book:
        assert [(s.name, s.hidden) for s in book.sheets] == [("Formats", False), ("Hidden", True)]


def test_error_cells_and_unsaved_formulas_are_marked(tmp_path):
    path = write_book(tmp_path / "f.xlsx", {"S": [["=1/0"]]})
    with WorkbookFile(path) as book:
        [(number, cells)] = list(book.rows(book.sheets[0]))
    assert cells == {1: NO_RESULT}
    with pytest.raises(ValueError, match="never saved"):
        values.check_cell(NO_RESULT)
    with pytest.raises(ValueError, match="#REF!"):
        values.check_cell(CellError("#REF!"))


@pytest.mark.parametrize(("raw", "expected"), [
    (1190, (Decimal("1190.00"), None)),
    (8475.860000000001, (Decimal("8475.86"), None)),
    ("1.234,56 €", (Decimal("1234.56"), "EUR")),
    ("$1,250.00", (Decimal("1250.00"), "USD")),
    ("1 234,56", (Decimal("1234.56"), None)),
    ("CHF 1'234.50", (Decimal("1234.50"), "CHF")),
    ("(12.50)", (Decimal("-12.50"), None)),
    ("-7,5", (Decimal("-7.50"), None)),
    ("1,234", (Decimal("1234.00"), None)),
    ("12.50 GBP", (Decimal("12.50"), "GBP")),
    ("", (None, None)),
])
def test_amounts_in_any_notation(raw, expected):
    assert values.amount(raw, load_vocabulary()) == expected


@pytest.mark.parametrize("raw", ["zwölf", "1.234.56,7,8", True, date(2024, 1, 1)])
def test_what_is_not_an_amount_says_so(raw):
    with pytest.raises(ValueError, match="not an amount"):
        values.amount(raw, load_vocabulary())


@pytest.mark.parametrize(("raw", "order", "expected"), [
    (datetime(2024, 3, 15), "DMY", date(2024, 3, 15)),
    (45366, "DMY", date(2024, 3, 15)),
    ("2024-03-15", "DMY", date(2024, 3, 15)),
    ("15.03.2024", "DMY", date(2024, 3, 15)),
    ("03/15/2024", "DMY", date(2024, 3, 15)),
    ("02/04/2024", "DMY", date(2024, 4, 2)),
    ("02/04/2024", "MDY", date(2024, 2, 4)),
    ("15 mars 2024", "DMY", date(2024, 3, 15)),
    ("15. März 2024", "DMY", date(2024, 3, 15)),
    ("Mar 15, 2024", "DMY", date(2024, 3, 15)),
])
def test_dates_as_serials_real_dates_and_strings(raw, order, expected):
    assert values.to_date(raw, order) == expected


def test_status_and_direction_words_in_three_languages():
    vocabulary = load_vocabulary()
    words = {"paid": "paid", "Bezahlt": "paid", "payé": "paid", "offen": "open", "OVERDUE": "open",
             "impayé": "open", "teilweise bezahlt": "partially_paid", "storniert": "cancelled", "litige": "disputed"}
    for word, status in words.items():
        assert values.status(word, vocabulary) == status
    assert values.status(True, vocabulary) == "paid"
    assert values.direction("Eingangsrechnung", vocabulary) == "payable"
    with pytest.raises(ValueError, match="unknown status 'maybe'"):
        values.status("maybe", vocabulary)


def test_headers_are_matched_by_synonym_in_three_languages(tmp_path):
    vocabulary = load_vocabulary()
    expected = {"Invoice #": "number", "Inv No": "number", "Rechnungsnr.": "number", "N° facture": "number",
                "Client": "counterparty", "Lieferant": "counterparty", "Betrag": "total", "Montant TTC": "total",
                "Fällig": "due_date", "Échéance": "due_date", "Paid on": "paid_date", "Amount (EUR)": "total"}
    for header, field in expected.items():
        assert vocabulary.match_header(header).field == field, header
    assert vocabulary.match_header("Amount (EUR)").currency == "EUR"
    assert vocabulary.match_header("Lieferant").direction == "payable"
    assert vocabulary.match_header("Feiertag") is None


def test_a_mapping_file_adds_headers_words_and_tab_settings(tmp_path):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("headers:\n  Beleg: number\n  Partner: counterparty\nstatus_words:\n  paid: [erl.]\n"
                       "sheets:\n  Alt:\n    skip: true\n  Neu:\n    direction: payable\n    date_order: MDY\n")
    vocabulary = load_vocabulary(str(mapping))
    assert vocabulary.match_header("Beleg").field == "number"
    assert values.status("erl.", vocabulary) == "paid"
    assert vocabulary.sheet_settings("alt").skip
    assert vocabulary.sheet_settings("Neu").direction == "payable"
    assert vocabulary.sheet_settings("Kunden 2024").direction == "receivable"  # from the tab's name
    bad = tmp_path / "bad.yaml"
    bad.write_text("headers:\n  Beleg: invoice_no\n")
    with pytest.raises(Exception, match="unknown field 'invoice_no'"):
        load_vocabulary(str(bad))


def _rows(path):
    with WorkbookFile(path) as book:
        [sheet] = book.sheets
        book.load_merges(sheet)
        return list(book.rows(sheet))


def test_error_values_and_formulas_never_calculated_are_values_of_their_own(tmp_path):
    from tests.support.hostile_workbooks import write_workbook

    data = ('<row r="1"><c r="A1" t="e"><v>#REF!</v></c><c r="B1"><f>1/0</f></c>'
            '<c r="C1" t="str"><f>A1</f><v>cached text</v></c><c r="D1"><f>2+2</f><v>4</v></c>'
            '<c r="E1" t="str"><f>A1</f><v></v></c></row>'
            '<row><c><v>1.5</v></c><c t="e"><v>#DIV/0!</v></c><c t="b"><v>1</v></c></row>')
    rows = _rows(write_workbook(tmp_path / "errors.xlsx", data))
    assert rows == [(1, {1: CellError("#REF!"), 2: NO_RESULT, 3: "cached text", 4: 4, 5: NO_RESULT}),
                    (2, {1: 1.5, 2: CellError("#DIV/0!"), 3: True})]
    assert all(type(v) is CellError for v in (rows[0][1][1], rows[1][1][2]))


def test_a_tab_spread_over_the_whole_grid_is_read_in_blocks_with_every_value(tmp_path):
    from tests.support.hostile_workbooks import write_workbook

    data = ('<row r="1"><c r="A1" t="inlineStr"><is><t>Invoice #</t></is></c><c r="B1"><v>7</v></c></row>'
            '<row r="2"><c r="C2" t="s"><v>0</v></c></row>'
            '<row r="500000"><c r="AAA500000"><v>2.25</v></c></row>'
            '<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>first</t></is></c>'
            '<c r="XFD1048576" t="inlineStr"><is><t>last</t></is></c></row>')
    strings = '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>shared</t></si></sst>'
    rows = _rows(write_workbook(tmp_path / "spread.xlsx", data, shared_strings=strings))
    assert rows == [(1, {1: "Invoice #", 2: 7}), (2, {3: "shared"}), (500000, {703: 2.25}),
                    (1048576, {1: "first", 16384: "last"})]


def test_a_wrong_cell_is_left_out_and_the_rest_of_its_tab_reads_as_openpyxl_reads_it(tmp_path):
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    for epoch in (None, CALENDAR_MAC_1904):
        path = _formatted_book(tmp_path / f"formats-{epoch}.xlsx", epoch=epoch)
        expected = _openpyxl_rows(path)
        broken = path.with_name(f"broken-{epoch}.xlsx")
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(broken, "w") as target:
            for item in source.infolist():
                data = source.read(item.filename)
                if item.filename == "xl/worksheets/sheet1.xml":  # a shared string the file does not have
                    data = data.replace(b"</row>", b'<c r="C1" t="s"><v>999</v></c></row>', 1)
                target.writestr(item, data)
        ours = _ours(broken)
        bad = ours["Formats"][0][1].pop(3)
        assert isinstance(bad, BadCell) and "shared string 999" in bad.reason
        assert ours == expected
