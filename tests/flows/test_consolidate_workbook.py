import json
import zipfile

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from sqlalchemy import select
from typer.testing import CliRunner

from db.models import Document, Invoice
from db.session import session_scope
from deployments.cli import app
from flows.consolidate_workbook import consolidate_workbook
from flows.ingest_folder import ingest_folder
from tasks.errors import WorkbookError
from tests.support.workbook_fixtures import SAMPLE, table_counts

pytestmark = pytest.mark.usefixtures("prefect_server")


def _artifacts(key: str, flow_run_id) -> list:
    """This run's artifacts with ``key`` (the test server is shared by every test)."""
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return [a for a in found if str(a.flow_run_id) == str(flow_run_id)]


def test_the_flow_imports_a_path_and_publishes_what_happened(settings):
    dry = consolidate_workbook(path=str(SAMPLE), dry_run=True)
    assert dry["counts"]["new"] == 11 and table_counts()["invoices"] == 0

    state = consolidate_workbook(path=str(SAMPLE), return_state=True)
    report = state.result()

    assert report["counts"]["new"] == 11 and report["counts"]["conflicts"] == 1
    [markdown] = [a.data for a in _artifacts("consolidate-workbook", state.state_details.flow_run_id)]
    assert "F-2024-003" in markdown and "zwölfhundert" in markdown and "Feiertage" in markdown
    [table] = [a for a in _artifacts("workbook-invoices-2024-xlsx", state.state_details.flow_run_id)
               if a.type == "table"]
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert rows[0]["new"] == 11 and rows[0]["rejected"] == 2
    with pytest.raises(WorkbookError, match="missing.xlsx: cannot be read"):
        consolidate_workbook(path=str(settings.data_dir.parent / "missing.xlsx"))


def test_a_workbook_dropped_in_the_inbox_is_consolidated_and_a_broken_one_fails_alone(settings):
    inbox = settings.inbox_dir
    inbox.mkdir(parents=True)
    (inbox / "Rechnungen 2024.xlsx").write_bytes(SAMPLE.read_bytes())
    with zipfile.ZipFile(inbox / "broken.xlsx", "w") as archive:  # looks like a workbook, is not one
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "not xml at all")

    counts = ingest_folder()

    assert counts["stored"] == 2
    with session_scope() as session:
        documents = {d.original_name: d for d in session.scalars(select(Document))}
        assert documents["Rechnungen 2024.xlsx"].status == "processed"
        assert documents["broken.xlsx"].status == "failed"
        assert "not a readable workbook" in documents["broken.xlsx"].error
        assert session.scalars(select(Invoice).where(Invoice.number == "RE-2024-002")).one().source == "workbook"


def test_the_commands_import_with_json_and_export(settings, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["import-workbook", str(SAMPLE), "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output.strip().splitlines()[-1])
    assert printed["counts"]["new"] == 11
    assert {"sheet": "Vendors", "row": 6, "column": "A (Invoice #)", "reason": "no invoice number"} in printed["rejected"]

    refused = runner.invoke(app, ["import-workbook", str(tmp_path / "nothing.xlsx")])
    assert refused.exit_code == 2

    exported = runner.invoke(app, ["export-workbook", str(tmp_path / "out.xlsx")])
    assert exported.exit_code == 0, exported.output
    assert "11 invoices" in " ".join(exported.output.split()) and (tmp_path / "out.xlsx").is_file()


def test_a_bad_value_is_a_rejected_row_and_a_refused_workbook_is_final(settings):
    """From the drop folder: a workbook with bad values lands its good rows; one refused ends
    failed with its reason, is not retried, and no later intake run reads it again."""
    from datetime import datetime, timedelta, timezone

    from tasks.documents.processing import left_unread
    from tests.support.hostile_workbooks import bad_values, invoice_rows, rows_xml, write_workbook

    inbox = settings.inbox_dir
    inbox.mkdir(parents=True)
    bad_values(inbox / "bad-values.xlsx")
    beyond = rows_xml(invoice_rows()) + '<row r="1048577"><c r="A1048577"><v>1</v></c></row>'
    write_workbook(inbox / "beyond.xlsx", beyond)

    assert ingest_folder()["stored"] == 2

    with session_scope() as session:
        documents = {d.original_name: d for d in session.scalars(select(Document))}
        assert documents["bad-values.xlsx"].status == "processed", documents["bad-values.xlsx"].error
        assert documents["beyond.xlsx"].status == "failed"
        assert "beyond.xlsx, tab 'Invoices': a row beyond row 1,048,576" in documents["beyond.xlsx"].error
        assert set(session.scalars(select(Invoice.number))) == {"OK-1", "OK-2", "OK-3"}
        later = datetime.now(timezone.utc) + timedelta(days=1)
        assert left_unread(session, later, timedelta(minutes=30), ["xlsx"]) == []


def test_only_a_transient_fault_is_retried():
    from prefect.states import Failed
    from sqlalchemy.exc import OperationalError

    from flows.consolidate_workbook import _worth_retrying

    def failed(err: BaseException):
        return Failed(data=err)

    assert not _worth_retrying(None, None, failed(WorkbookError("x.xlsx: refused")))
    assert not _worth_retrying(None, None, failed(MemoryError()))
    assert not _worth_retrying(None, None, failed(IndexError("list index out of range")))
    assert _worth_retrying(None, None, failed(OperationalError("SELECT 1", {}, Exception("server closed"))))


def test_import_workbook_json_always_prints_json(settings, tmp_path):
    from tests.support.hostile_workbooks import bad_values, endless_merge

    runner = CliRunner()
    result = runner.invoke(app, ["import-workbook", str(bad_values(tmp_path / "bad-values.xlsx")), "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output.strip().splitlines()[-1])
    assert printed["counts"]["new"] == 3 and printed["counts"]["rejected"] == 6
    assert {p["row"] for p in printed["rejected"]} == {3, 4, 5, 6, 8, 9}

    refused = runner.invoke(app, ["import-workbook", str(endless_merge(tmp_path / "endless.xlsx")), "--json"])
    assert refused.exit_code == 1
    assert "B2:B999999999" in json.loads(refused.output.strip().splitlines()[-1])["error"]
