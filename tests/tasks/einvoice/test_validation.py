"""EN 16931 validation with the official artefacts: the examples validate as their makers intend,
the XRechnung test instances give the rule their name says, hostile XML never reaches a stylesheet."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.einvoice.compile_xrechnung import compile_all
from tasks.einvoice.validation import validate
from tasks.errors import UnreadableDocument
from tasks.reading.einvoice_xml import read_einvoice

DATA = Path(__file__).resolve().parents[2] / "data" / "einvoice"
EXAMPLES = sorted(p for p in (DATA / "en16931").glob("*/*") if p.suffix.lower() == ".xml")
INSTANCES = sorted((DATA / "xrechnung").glob("*/*.xml"))
# A test instance is named after the rule it exercises; these words in its name say it breaks it.
BREAKS = re.compile(r"negative|invalid|wrong|incorrect|too-much-digits|text-after-end|case-sensitive|-with-bg-|-with-bt-86"
                    r"|no-newline(?!-last-note)|schemeid-test-[34]|sub-invoice-lines")
RULE = re.compile(r"^(?:cii|ubl-inv|ubl-cn)-(br-de-tmp-\d+|br-dex-\d+|br-de-cvd-\d+|br-de-\d+|br-tmp-\d+)")
NAMED = [p for p in INSTANCES if RULE.match(p.name)]


def test_the_shared_artefacts_are_not_needed() -> None:
    """CI runs on a clean clone: the examples and instances tested are in the repository."""
    assert len(EXAMPLES) == 33 and len(INSTANCES) == len(NAMED) > 200
    assert (DATA / "en16931" / "LICENSE.txt").exists() and (DATA / "xrechnung" / "LICENSE").exists()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_official_example_passes_en16931(path: Path) -> None:
    result = validate(path.read_bytes(), path.name)
    assert "EN 16931" in result.checked
    assert result.valid, [f.as_json() for f in result.errors]
    if path.parent.name == "cii":
        assert "CII D16B schema" in result.checked


def test_the_negative_bis3_example_is_a_valid_invoice_with_negative_amounts() -> None:
    """'negativ' is an invoice of negative amounts, which EN 16931 allows: the artefacts pass it."""
    path = DATA / "en16931" / "ubl" / "BIS3_Invoice_negativ.XML"
    result = validate(path.read_bytes(), path.name)
    assert result.valid and result.profile.peppol
    assert read_einvoice(path.read_bytes(), path.name).values["total"] < 0
    assert any("Peppol" in note for note in result.not_checked)


@pytest.mark.parametrize("path", NAMED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_xrechnung_instances_give_the_rule_they_are_named_after(path: Path) -> None:
    rule = RULE.match(path.name).group(1).upper()
    result = validate(path.read_bytes(), path.name)
    assert result.profile.xrechnung and "XRechnung" in result.checked
    fired = [f for f in result.findings if f.rule == rule or f.rule.startswith(f"{rule}-")]
    if BREAKS.search(path.name):
        assert fired, f"{rule} expected among {[f.rule for f in result.findings]}"
        if any(f.severity == "fatal" for f in fired):
            assert not result.valid and any(rule in reason for reason in result.review_reasons)
    else:
        assert not fired, [f.as_json() for f in fired]


def test_a_finding_keeps_rule_severity_message_and_location() -> None:
    path = DATA / "xrechnung" / "cii" / "cii-br-de-16-negative-tests-bt-95-bt-151.xml"
    finding = next(f for f in validate(path.read_bytes(), path.name).errors if f.rule == "BR-DE-16")
    assert finding.severity == "fatal" and finding.layer == "xrechnung"
    assert "BR-DE-16" in finding.message and finding.location.startswith("/")
    assert set(finding.as_json()) == {"rule", "severity", "message", "location"}


def test_warnings_are_kept_apart_from_errors() -> None:
    path = DATA / "xrechnung" / "ubl-inv" / "ubl-inv-br-de-18-wrong-whitespace.xml"
    result = validate(path.read_bytes(), path.name)
    assert [f.rule for f in result.errors] == ["BR-DE-18"]
    assert result.warnings and all(f.severity in {"warning", "information"} for f in result.warnings)


def test_the_cii_schema_applies_before_the_rules() -> None:
    path = DATA / "en16931" / "cii" / "CII_example1.xml"
    broken = path.read_bytes().replace(b"<ram:TypeCode>380</ram:TypeCode>",
                                       b"<ram:TypeCode>380</ram:TypeCode><ram:Colour>red</ram:Colour>", 1)
    result = validate(broken, "broken.xml")
    schema = [f for f in result.errors if f.layer == "schema"]
    assert schema and schema[0].rule == "XSD" and "Colour" in schema[0].message
    assert schema[0].location.startswith("line ")


def test_zugferd_1_and_minimum_are_read_but_not_en16931() -> None:
    minimum = (DATA / "en16931" / "cii" / "CII_example1.xml").read_bytes().replace(
        b"<ram:ID>urn:cen.eu:en16931:2017</ram:ID>", b"<ram:ID>urn:factur-x.eu:1p0:minimum</ram:ID>", 1)
    result = validate(minimum, "minimum.xml")
    assert result.profile.name == "Factur-X / ZUGFeRD MINIMUM" and "EN 16931" not in result.checked
    assert [f.rule for f in result.warnings] == ["PROFILE"]


def test_the_compile_script_reproduces_the_committed_xrechnung_stylesheets() -> None:
    compiled = compile_all()
    assert len(compiled) == 2
    for target, text in compiled.items():
        assert target.read_text(encoding="utf-8") == text, f"{target.name}: run python -m tasks.einvoice.compile_xrechnung"


HOSTILE = {
    "external entity": b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                       b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">'
                       b'&x;</rsm:CrossIndustryInvoice>',
    "entity expansion": b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
                        + b"".join(b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b"&%s;" % bytes([97 + i])) * 10)
                                   for i in range(8))
                        + b']><Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&i;</Invoice>',
    "a DTD in UTF-16": ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r SYSTEM "http://127.0.0.9/r.dtd">'
                        '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>').encode("utf-16"),
    "deep nesting": b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">' + b"<a>" * 5000
                    + b"</a>" * 5000 + b"</Invoice>",
    "a 100 MB file": None,  # made when a test needs it (see _hostile)
}


def _hostile(kind: str) -> bytes:
    if kind == "a 100 MB file":
        return (b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><Note>' + b"x" * (100 << 20)
                + b"</Note></Invoice>")
    return HOSTILE[kind]


@pytest.mark.parametrize("kind", HOSTILE)
def test_hostile_xml_is_refused_with_a_reason(kind: str) -> None:
    with pytest.raises(UnreadableDocument) as refused:
        validate(_hostile(kind), f"{kind}.xml")
    assert str(refused.value).startswith(f"{kind}.xml: ") and "refused unread" in str(refused.value)


def test_hostile_xml_is_refused_before_any_stylesheet_is_loaded(tmp_path: Path) -> None:
    """In a fresh process: after refusing every hostile file, Saxon has not even been started."""
    for kind in HOSTILE:
        (tmp_path / f"{kind}.xml").write_bytes(_hostile(kind))
    script = (
        "import sys, pathlib\n"
        "from tasks.einvoice.validation import validate, validators\n"
        "from tasks.errors import UnreadableDocument\n"
        "for path in sorted(pathlib.Path(sys.argv[1]).iterdir()):\n"
        "    try:\n"
        "        validate(path.read_bytes(), path.name)\n"
        "    except UnreadableDocument as err:\n"
        "        print('refused', err)\n"
        "print('saxon started' if validators.cache_info().currsize else 'saxon never started')\n"
        "print('saxonche imported' if 'saxonche' in sys.modules else 'saxonche not imported')\n"
    )
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=False, capture_output=True, text=True,
                         timeout=120,
                         cwd=Path(__file__).resolve().parents[3])
    assert run.returncode == 0, run.stderr
    assert sum(line.startswith("refused ") for line in run.stdout.splitlines()) == len(HOSTILE), run.stdout
    assert "saxon never started" in run.stdout and "saxonche not imported" in run.stdout
