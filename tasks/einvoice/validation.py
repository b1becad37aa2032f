"""Validating an e-invoice as the law asks: the XML schema where one applies (CII D16B), then the
EN 16931 business rules, then the CIUS the invoice claims (XRechnung), each with the official
artefacts shipped in ``artefacts/`` (see their licences there) run by Saxon (``saxonche``).

Every finding keeps its rule id, severity, message and location. Stylesheets and the schema are
compiled once per process, on first use. The XML has already passed ``parse_xml``'s limits (no
DTD, no entities, bounded size and depth) before any of this runs.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from tasks.einvoice.profiles import Profile, classify
from tasks.errors import UnreadableDocument
from tasks.reading.einvoice_xml import invoice_syntax, parse_xml, profile_of

logger = logging.getLogger(__name__)

ARTEFACTS = Path(__file__).resolve().parent / "artefacts"
EN16931_XSLT = {"CII": ARTEFACTS / "en16931/cii/xslt/EN16931-CII-validation.xslt",
                "UBL": ARTEFACTS / "en16931/ubl/xslt/EN16931-UBL-validation.xslt"}
XRECHNUNG_XSLT = {"CII": ARTEFACTS / "xrechnung/xslt/XRechnung-CII-validation.xslt",
                  "UBL": ARTEFACTS / "xrechnung/xslt/XRechnung-UBL-validation.xslt"}
CII_SCHEMA = ARTEFACTS / "en16931/cii/schema/CrossIndustryInvoice_100pD16B.xsd"
CII_NAMESPACE = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
_SVRL = "{http://purl.oclc.org/dsdl/svrl}"
_QUALIFIED = re.compile(r"\*:([\w.-]+)\[namespace-uri\(\)='[^']*'\]|Q\{[^}]*\}([\w.-]+)")
_SEVERITIES = {"fatal": "fatal", "error": "fatal", "warning": "warning", "information": "information",
               "info": "information"}


@dataclass(frozen=True)
class Finding:
    rule: str  # BR-CO-15, BR-DE-1, XSD ...
    severity: str  # fatal, warning or information
    message: str
    location: str  # an XPath (rules) or a line (schema)
    layer: str = "en16931"  # schema, en16931, xrechnung

    def as_json(self) -> dict[str, str]:
        return {"rule": self.rule, "severity": self.severity, "message": self.message, "location": self.location}


@dataclass
class Validation:
    """The outcome for one e-invoice: what it claims, what was checked and what was found."""

    name: str
    profile: Profile
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # schema, EN 16931, XRechnung
    not_checked: list[str] = field(default_factory=list)  # with the reason

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "fatal"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != "fatal"]

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def review_reasons(self) -> list[str]:
        """What holds the invoice for review: its fatal rules, by id."""
        if not self.errors:
            return []
        rules = ", ".join(dict.fromkeys(f.rule for f in self.errors))
        return [f"{self.name}: not a valid {self.profile.name} e-invoice ({rules})"]

    def as_json(self, file: str | None = None) -> dict[str, Any]:
        return {"file": file or self.name, "syntax": self.profile.syntax, "profile": self.profile.name,
                "valid": self.valid, "errors": [f.as_json() for f in self.errors],
                "warnings": [f.as_json() for f in self.warnings]}


class _Validators:
    """The compiled stylesheets and schema of one process (Saxon is not shared between threads)."""

    def __init__(self) -> None:
        from saxonche import PySaxonProcessor

        self.lock = threading.Lock()
        self.processor = PySaxonProcessor(license=False)
        self.xslt = self.processor.new_xslt30_processor()
        self.compiled: dict[Path, Any] = {}
        self.schema: etree.XMLSchema | None = None

    def stylesheet(self, path: Path) -> Any:
        if path not in self.compiled:
            executable = self.xslt.compile_stylesheet(stylesheet_file=str(path))
            if executable is None:
                raise UnreadableDocument(f"{path.name}: the validation stylesheet does not compile")
            self.compiled[path] = executable
        return self.compiled[path]

    def cii_schema(self) -> etree.XMLSchema:
        if self.schema is None:
            parser = etree.XMLParser(resolve_entities=False, no_network=True)
            self.schema = etree.XMLSchema(etree.parse(str(CII_SCHEMA), parser))
        return self.schema

    def run(self, path: Path, xml_text: str) -> str:
        with self.lock:
            executable = self.stylesheet(path)
            node = self.processor.parse_xml(xml_text=xml_text)
            return executable.transform_to_string(xdm_node=node)


@lru_cache(maxsize=1)
def validators() -> _Validators:
    """The process's validators, made on first use (compiling a stylesheet takes a fraction of a second)."""
    return _Validators()


def warm_up() -> None:
    """Compile every stylesheet and the schema now (a long-running worker does this once)."""
    shared = validators()
    with shared.lock:
        for path in (*EN16931_XSLT.values(), *XRECHNUNG_XSLT.values()):
            shared.stylesheet(path)
        shared.cii_schema()


def svrl_findings(svrl: str, layer: str) -> list[Finding]:
    """The failed asserts and successful reports of a Schematron report (SVRL)."""
    root = etree.fromstring(svrl.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True,
                                                                  huge_tree=True))
    found = []
    for element in root.iter(f"{_SVRL}failed-assert", f"{_SVRL}successful-report"):
        message = " ".join("".join(element.find(f"{_SVRL}text").itertext()).split()) \
            if element.find(f"{_SVRL}text") is not None else ""
        flag = (element.get("flag") or element.get("role") or "fatal").lower()
        found.append(Finding(element.get("id") or "unnamed rule", _SEVERITIES.get(flag, "fatal"), message,
                             readable_location(element.get("location") or ""), layer))
    return list(dict.fromkeys(found))


def readable_location(location: str) -> str:
    """An SVRL location without its namespaces: ``/CrossIndustryInvoice[1]/ExchangedDocument[1]``."""
    return _QUALIFIED.sub(lambda match: match.group(1) or match.group(2), location)


def _schema_findings(root: etree._Element) -> list[Finding]:
    schema = validators().cii_schema()
    with validators().lock:
        if schema.validate(root):
            return []
        return [Finding("XSD", "fatal", error.message, f"line {error.line}", "schema") for error in schema.error_log]


def validate_root(root: etree._Element, name: str) -> Validation:
    """Validate a parsed invoice (see ``validate``)."""
    syntax = invoice_syntax(root)
    if syntax is None:
        raise UnreadableDocument(f"{name}: not a UBL or CII invoice (root element {etree.QName(root).localname})")
    profile = classify(syntax, etree.QName(root).localname, profile_of(root))
    result = Validation(name, profile)
    if profile.syntax == "ZUGFeRD 1.0":
        result.not_checked.append("ZUGFeRD 1.0 predates EN 16931: no official rules apply to it")
        result.findings.append(Finding("ZUGFERD-1.0", "warning", "ZUGFeRD 1.0 is not an EN 16931 e-invoice; "
                                       "its content is read but cannot be checked against the law's rules",
                                       "/", "profile"))
        return result
    if etree.QName(root).namespace == CII_NAMESPACE:
        result.findings += _schema_findings(root)
        result.checked.append("CII D16B schema")
    else:
        result.not_checked.append("UBL 2.1 schema (not shipped; the EN 16931 rules check the structure they need)")
    if not profile.en16931:
        result.findings.append(Finding("PROFILE", "warning", f"{profile.name} carries less than an EN 16931 "
                                       "invoice and is not an e-invoice in law", "/", "profile"))
        return result
    xml_text = etree.tostring(root, encoding="unicode")
    result.findings += svrl_findings(validators().run(EN16931_XSLT[syntax], xml_text), "en16931")
    result.checked.append("EN 16931")
    if profile.xrechnung:
        result.findings += svrl_findings(validators().run(XRECHNUNG_XSLT[syntax], xml_text), "xrechnung")
        result.checked.append("XRechnung")
    elif profile.peppol:
        result.not_checked.append("Peppol BIS Billing 3.0 rules (their Schematron is not shipped)")
    return result


def validate_xml(data: bytes, name: str) -> Validation:
    """Validate the e-invoice XML in ``data``. Hostile or malformed XML raises UnreadableDocument with
    the reason before any stylesheet sees it; so does XML that is no invoice."""
    return validate_root(parse_xml(data, name), name)


validate = validate_xml


def finding_rows(validation: Validation) -> list[dict[str, Any]]:
    """Every finding as a plain dict (for the database and the run artifact)."""
    return [asdict(f) for f in validation.findings]
