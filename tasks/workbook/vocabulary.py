"""The words the workbook import understands, kept as data (`vocabulary.yaml`).

A user's mapping file (YAML or JSON) adds header names, status words and per-tab settings:

    headers:            # header text -> field (or "ignore")
      Beleg-Nr: number
      Partner: counterparty
    status_words:       # status -> more words for it
      paid: [erl., abgeschlossen]
    sheets:             # tab name -> settings for that tab
      "Alt 2019":
        skip: true
      Lieferanten:
        direction: payable
        header_row: 4
        counterparty: ACME GmbH
        currency: EUR
        date_order: MDY
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from db.models import Direction, InvoiceStatus
from tasks.errors import WorkbookError

VOCABULARY_FILE = Path(__file__).with_name("vocabulary.yaml")
FIELDS = (
    "number", "counterparty", "direction", "issue_date", "due_date", "currency", "net", "tax", "total",
    "status", "paid_date", "paid_amount", "reference", "notes", "contact_email", "counterparty_vat_id", "iban",
)
SHEET_SETTINGS = {"skip", "direction", "status", "header_row", "counterparty", "currency", "date_order"}
_NUMBER_SIGNS = re.compile(r"[#°º№]")
_NON_WORD = re.compile(r"[^0-9a-z]+")
_BRACKETED = re.compile(r"\(([^)]*)\)|\[([^\]]*)\]")


def fold(text: Any) -> str:
    """Compare-form of a header or word: accents, case and punctuation gone, '#' read as 'no'."""
    text = _NUMBER_SIGNS.sub(" no ", str(text))
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").casefold()
    return " ".join(_NON_WORD.sub(" ", text).split())


@dataclass(frozen=True)
class HeaderMatch:
    field: str | None  # None: a column that is kept in the row's record but not mapped
    direction: str | None = None  # a "Customer"/"Vendor" column implies the direction
    currency: str | None = None  # "Amount (EUR)" implies the currency of the column


@dataclass
class SheetSettings:
    skip: bool = False
    direction: str | None = None
    status: str | None = None
    header_row: int | None = None
    counterparty: str | None = None
    currency: str | None = None
    date_order: str = "DMY"  # for ambiguous dates such as 03/04/2024

    def defaults(self) -> dict[str, Any]:
        values = {"direction": self.direction, "status": self.status, "currency": self.currency}
        return {k: v for k, v in values.items() if v is not None}


@dataclass
class Vocabulary:
    headers: dict[str, HeaderMatch] = field(default_factory=dict)
    status_words: dict[str, str] = field(default_factory=dict)
    direction_words: dict[str, str] = field(default_factory=dict)
    totals_words: frozenset[str] = frozenset()
    sheet_rules: list[tuple[frozenset[str], dict[str, Any]]] = field(default_factory=list)
    sheet_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    currency_symbols: dict[str, str] = field(default_factory=dict)

    def match_header(self, text: Any) -> HeaderMatch | None:
        """The field a header names, or None when it names nothing we know."""
        folded = fold(text)
        if not folded:
            return None
        if folded in self.headers:
            return self.headers[folded]
        currency = None
        for group in _BRACKETED.findall(str(text)):
            inner = (group[0] or group[1]).strip()
            currency = currency or self.currency_code(inner)
        stripped = fold(_BRACKETED.sub(" ", str(text)))
        words = stripped.split()
        while words and (words[-1] in {"in", "en"} or self.currency_code(words[-1])):
            currency = currency or self.currency_code(words[-1])
            words.pop()
        base = self.headers.get(" ".join(words))
        if base is None:
            return None
        return HeaderMatch(base.field, base.direction, currency or base.currency)

    def currency_code(self, text: str) -> str | None:
        text = text.strip()
        if re.fullmatch(r"[A-Za-z]{3}", text) and text.upper() in ISO_CURRENCIES:
            return text.upper()
        return self.currency_symbols.get(text)

    def sheet_settings(self, sheet_name: str) -> SheetSettings:
        """What a tab's name implies (vocabulary rules), overridden by the mapping file."""
        settings = SheetSettings()
        folded = fold(sheet_name)
        words = set(folded.split())
        for rule_words, values in self.sheet_rules:
            if any((w in words) if " " not in w else (w in folded) for w in rule_words):
                for key, value in values.items():
                    if getattr(settings, key) is None:
                        setattr(settings, key, value)
        for name, values in self.sheet_overrides.items():
            if fold(name) == folded:
                for key, value in values.items():
                    setattr(settings, key, value)
        return settings


ISO_CURRENCIES = frozenset(
    "EUR USD GBP CHF JPY CNY SEK NOK DKK PLN CZK HUF RON BGN HRK TRY CAD AUD NZD ZAR INR BRL MXN SGD HKD".split()
)


def _words(values: Any, where: str) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, (str, int, float)) for v in values):
        raise WorkbookError(f"{where}: expected a list of words, got {values!r}")
    return [str(v) for v in values]


def _check_sheet_settings(name: str, values: Any, where: str) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise WorkbookError(f"{where}: settings of tab {name!r} must be a mapping, got {values!r}")
    unknown = set(values) - SHEET_SETTINGS
    if unknown:
        raise WorkbookError(f"{where}: unknown settings {sorted(unknown)} for tab {name!r}; known: {sorted(SHEET_SETTINGS)}")
    if "direction" in values and values["direction"] not in {d.value for d in Direction}:
        raise WorkbookError(f"{where}: tab {name!r}: direction must be payable or receivable")
    if "status" in values and values["status"] not in {s.value for s in InvoiceStatus}:
        raise WorkbookError(f"{where}: tab {name!r}: unknown status {values['status']!r}")
    if "date_order" in values and values["date_order"] not in {"DMY", "MDY", "YMD"}:
        raise WorkbookError(f"{where}: tab {name!r}: date_order must be DMY, MDY or YMD")
    if "header_row" in values and (not isinstance(values["header_row"], int) or values["header_row"] < 1):
        raise WorkbookError(f"{where}: tab {name!r}: header_row must be a row number (1, 2, ...)")
    return dict(values)


def _add_words(target: dict[str, str], groups: Any, allowed: set[str], where: str) -> None:
    if not isinstance(groups, dict):
        raise WorkbookError(f"{where}: expected a mapping of value -> words")
    for value, words in groups.items():
        if value not in allowed:
            raise WorkbookError(f"{where}: unknown value {value!r}; known: {sorted(allowed)}")
        for word in _words(words, f"{where}.{value}"):
            target[fold(word)] = value


def _build(data: dict[str, Any], where: str) -> Vocabulary:
    vocabulary = Vocabulary()
    for name, synonyms in data.get("fields", {}).items():
        if name not in FIELDS:
            raise WorkbookError(f"{where}: unknown field {name!r}")
        for synonym in _words(synonyms, f"{where}: fields.{name}"):
            vocabulary.headers[fold(synonym)] = HeaderMatch(name)
    for direction, synonyms in data.get("counterparty_columns", {}).items():
        for synonym in _words(synonyms, f"{where}: counterparty_columns.{direction}"):
            vocabulary.headers[fold(synonym)] = HeaderMatch("counterparty", direction=direction)
    _add_words(vocabulary.status_words, data.get("status_words", {}), {s.value for s in InvoiceStatus}, f"{where}: status_words")
    _add_words(vocabulary.direction_words, data.get("direction_words", {}), {d.value for d in Direction},
               f"{where}: direction_words")
    vocabulary.totals_words = frozenset(fold(w) for w in _words(data.get("totals_words", []), f"{where}: totals_words"))
    for rule in data.get("sheet_defaults", []):
        values = {k: v for k, v in rule.items() if k != "words"}
        _check_sheet_settings("(rule)", values, where)
        vocabulary.sheet_rules.append((frozenset(fold(w) for w in _words(rule.get("words"), f"{where}: sheet_defaults")), values))
    vocabulary.currency_symbols = {str(k): str(v) for k, v in data.get("currency_symbols", {}).items()}
    return vocabulary


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as err:
        raise WorkbookError(f"mapping file {path}: cannot be read: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict) or set(data) - {"headers", "status_words", "sheets"}:
        raise WorkbookError(f"mapping file {path}: expected the keys headers, status_words and sheets")
    return data


@lru_cache(maxsize=16)
def load_vocabulary(mapping_file: str | None = None) -> Vocabulary:
    """The built-in vocabulary, extended by an optional mapping file (YAML or JSON)."""
    vocabulary = _build(yaml.safe_load(VOCABULARY_FILE.read_text(encoding="utf-8")), VOCABULARY_FILE.name)
    if not mapping_file:
        return vocabulary
    path = Path(mapping_file)
    mapping = _read_mapping(path)
    for header, target in (mapping.get("headers") or {}).items():
        if target == "ignore":
            vocabulary.headers[fold(header)] = HeaderMatch(None)
        elif target in FIELDS:
            vocabulary.headers[fold(header)] = HeaderMatch(target)
        else:
            raise WorkbookError(f"mapping file {path}: header {header!r} -> unknown field {target!r}; known: {list(FIELDS)}")
    _add_words(vocabulary.status_words, mapping.get("status_words") or {}, {s.value for s in InvoiceStatus},
               f"mapping file {path}: status_words")
    for name, values in (mapping.get("sheets") or {}).items():
        vocabulary.sheet_overrides[str(name)] = _check_sheet_settings(str(name), values, f"mapping file {path}")
    return vocabulary
