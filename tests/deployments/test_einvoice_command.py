"""`invoices einvoice check FILE... [--json]` as a user runs it: one JSON object per file with the
agreed keys, a bad file an error naming it while the others go on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.einvoice_pdfs import hybrid_pdf

DATA = Path(__file__).resolve().parents[1] / "data" / "einvoice"
KEYS = {"file", "syntax", "profile", "valid", "errors", "warnings"}


def _invoices(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("INVOICES_", "PREFECT_"))}
    environment.update({"INVOICES_DATA_DIR": str(tmp_path / "data"), "PREFECT_HOME": str(tmp_path / "prefect"),
                        "COLUMNS": "250"})
    return subprocess.run([str(Path(sys.executable).with_name("invoices")), *args], cwd=tmp_path, check=False,
                          env=environment, capture_output=True, text=True, timeout=180)


def test_check_json_gives_one_object_per_file_and_goes_on_after_a_bad_one(tmp_path: Path) -> None:
    broken = DATA / "xrechnung" / "ubl-inv" / "ubl-inv-br-de-18-wrong-whitespace.xml"
    good = DATA / "en16931" / "cii" / "CII_example1.xml"
    (tmp_path / "notes.txt").write_text("not an invoice\n")
    (tmp_path / "hybrid.pdf").write_bytes(hybrid_pdf(good.read_bytes(), ["INVOICE", "Invoice No: 12115118",
                                                                          "Total: 260.33 EUR"], attachment="anhang.xml"))
    run = _invoices(tmp_path, "einvoice", "check", "--json", str(broken), "notes.txt", str(good), "hybrid.pdf")
    assert run.returncode == 1  # one is not valid
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["file"] for r in records] == [str(broken), "notes.txt", str(good), "hybrid.pdf"]
    assert all(KEYS <= set(r) for r in records)
    first, bad, valid, hybrid = records
    assert first["syntax"] == "UBL" and first["profile"] == "XRechnung" and first["valid"] is False
    assert [e["rule"] for e in first["errors"]] == ["BR-DE-18"]
    assert set(first["errors"][0]) == {"rule", "severity", "message", "location"}
    assert first["warnings"] and first["warnings"][0]["severity"] in {"warning", "information"}
    assert bad["valid"] is None and "notes.txt" in bad["error"]
    assert valid["valid"] is True and valid["errors"] == [] and valid["profile"] == "EN 16931"
    assert hybrid["valid"] is True and hybrid["carrier"] == "pdf" and hybrid["attachment"] == "anhang.xml"
    [page] = [w for w in hybrid["warnings"] if w["rule"] == "PAGE-XML"]  # the XML is valid; its page says otherwise
    assert "the page shows total 260.33, its XML says 250.33" in page["message"]


def test_check_prints_the_verdict_and_the_findings_for_people(tmp_path: Path) -> None:
    broken = DATA / "xrechnung" / "cii" / "cii-br-de-16-negative-tests-bt-95-bt-151.xml"
    run = _invoices(tmp_path, "einvoice", "check", str(broken), "missing.xml")
    assert run.returncode == 1
    assert f"{broken}: CII, XRechnung: not valid" in run.stdout
    assert "fatal BR-DE-16 at /CrossIndustryInvoice[1]" in run.stdout
    assert "missing.xml" in run.stderr
