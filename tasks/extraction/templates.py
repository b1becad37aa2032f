"""Vendor templates: extraction hints for one vendor, kept as data (YAML files in the templates
folder, and rows of the vendor_templates table), never as code.

A template matches a document when every one of its ``keywords`` is found in the text and none
of its ``exclude_keywords`` is (both are regular expressions, matched case-insensitively). The
best match (highest priority, then most keywords) adds or overrides field rules:

    name: nordlicht-systems
    keywords: ["Nordlicht Systems GmbH", "DE\\s?123456789"]
    exclude_keywords: ["Gutschrift"]
    priority: 10
    vendor: Nordlicht Systems GmbH          # a fixed value for the vendor field
    options: {date_order: DMY, currency: EUR, language: de}
    fields:
      invoice_number: 'Beleg\\s*:\\s*(\\S+)'     # a regex; group 1 (or the whole match) is the value
      total: {regex: 'Zahlbetrag\\s+(\\S+)', type: amount}
      reference: {value: "framework contract 2024"}
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from tasks.errors import ConfigurationError
from tasks.extraction.model import FieldValue
from tasks.invoices.fields import INVOICE_FIELDS, NAMES
from tasks.language.amounts import parse_amount
from tasks.language.dates import parse_date

logger = logging.getLogger(__name__)

FIELD_TYPES = {f.name: f.kind for f in INVOICE_FIELDS if f.kind != "text"}
KNOWN_FIELDS = NAMES
TEMPLATE_CONFIDENCE = 0.95


@dataclass
class Template:
    name: str
    keywords: list[str]
    exclude_keywords: list[str] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    priority: int = 0
    origin: str = "yaml"  # yaml (file path in ``location``) or db

    location: str = ""

    def check(self, text: str) -> tuple[bool, str]:
        """Whether the template matches ``text``, and why (or why not)."""
        missing = [k for k in self.keywords if not re.search(k, text, re.I | re.M)]
        if missing:
            return False, "keyword(s) not found: " + ", ".join(repr(k) for k in missing)
        excluded = [k for k in self.exclude_keywords if re.search(k, text, re.I | re.M)]
        if excluded:
            return False, "excluded by: " + ", ".join(repr(k) for k in excluded)
        return True, "all keywords found: " + ", ".join(repr(k) for k in self.keywords)


def _template(data: Any, origin: str, location: str) -> Template:
    if not isinstance(data, dict) or not data.get("keywords"):
        raise ConfigurationError(f"template {location}: needs a mapping with a non-empty 'keywords' list")
    fields = dict(data.get("fields") or {})
    if data.get("vendor"):
        fields.setdefault("vendor", {"value": data["vendor"]})
    unknown = sorted(set(fields) - set(KNOWN_FIELDS))
    if unknown:
        raise ConfigurationError(f"template {location}: unknown field(s) {unknown}; known: {list(KNOWN_FIELDS)}")
    keywords = [str(k) for k in data["keywords"]]
    excludes = [str(k) for k in data.get("exclude_keywords") or []]
    for pattern in [*keywords, *excludes, *(r.get("regex") if isinstance(r, dict) else r for r in fields.values())]:
        if pattern is None:
            continue
        try:
            re.compile(str(pattern))
        except re.error as err:
            raise ConfigurationError(f"template {location}: bad regular expression {pattern!r} ({err})") from err
    return Template(
        name=str(data.get("name") or Path(location).stem), keywords=keywords, exclude_keywords=excludes, fields=fields,
        options=dict(data.get("options") or {}), priority=int(data.get("priority") or 0), origin=origin, location=location,
    )


def load_yaml_templates(folder: Path) -> list[Template]:
    """Every ``*.yml`` / ``*.yaml`` template in ``folder``; a broken file raises ConfigurationError."""
    if not folder.is_dir():
        return []
    templates = []
    for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
        stat = path.stat()
        templates.append(_template(_yaml_file(str(path), stat.st_mtime_ns, stat.st_size), "yaml", str(path)))
    return templates


@lru_cache(maxsize=256)
def _yaml_file(location: str, mtime_ns: int, size: int) -> Any:
    """A template file's content, parsed once per version of the file (its time and size)."""
    try:
        return yaml.safe_load(Path(location).read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConfigurationError(f"template {location}: not valid YAML ({err})") from err


def load_db_templates(session: Any) -> list[Template]:
    from sqlalchemy import select

    from db.models import VendorTemplate

    table = VendorTemplate.__table__
    columns = ("id", "name", "keywords", "exclude_keywords", "fields", "options", "priority")
    rows = session.execute(select(*(table.c[c] for c in columns)).where(table.c.enabled.is_(True))).all()
    found = []
    for row in rows:
        data = {"name": row.name, "keywords": row.keywords, "exclude_keywords": row.exclude_keywords,
                "fields": row.fields, "options": row.options, "priority": row.priority}
        try:
            found.append(_template(data, "db", f"vendor_templates row {row.id} ({row.name})"))
        except ConfigurationError as err:
            logger.warning("%s", err)
    return found


def load_templates(folder: Path, session: Any = None) -> list[Template]:
    """YAML templates plus database rows (a row overrides a file of the same name)."""
    templates = {t.name: t for t in load_yaml_templates(folder)}
    if session is not None:
        templates.update({t.name: t for t in load_db_templates(session)})
    return list(templates.values())


def best_template(templates: list[Template], text: str) -> Template | None:
    matching = [t for t in templates if t.check(text)[0]]
    if not matching:
        return None
    return max(matching, key=lambda t: (t.priority, len(t.keywords), t.name))


def _convert(kind: str, raw: str, options: dict[str, Any]) -> Any:
    if kind == "amount":
        return parse_amount(raw)
    if kind == "date":
        return parse_date(raw, str(options.get("date_order", "DMY")))
    if kind == "bool":
        return str(raw).strip().lower() in {"1", "true", "yes", "y"} or bool(raw) is True and not isinstance(raw, str)
    return " ".join(str(raw).split()) or None


def apply_template(template: Template, text: str) -> dict[str, FieldValue]:
    """The fields ``template`` finds in ``text`` (they override what generic extraction found)."""
    found: dict[str, FieldValue] = {}
    for name, rule in template.fields.items():
        rule = rule if isinstance(rule, dict) else {"regex": rule}
        kind = rule.get("type") or FIELD_TYPES.get(name, "text")
        if "value" in rule:
            value = rule["value"] if kind == "bool" else _convert(kind, str(rule["value"]), template.options)
        else:
            match = re.search(str(rule.get("regex")), text, re.I | re.M)
            if match is None:
                continue
            value = _convert(kind, match.group(1) if match.groups() else match.group(0), template.options)
        if value is not None:
            found[name] = FieldValue(value, TEMPLATE_CONFIDENCE, "template", f"template {template.name}")
    if template.options.get("currency") and "currency" not in found:
        found["currency"] = FieldValue(str(template.options["currency"]).upper(), TEMPLATE_CONFIDENCE, "template")
    return found
