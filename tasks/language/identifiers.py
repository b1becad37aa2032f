"""VAT ids (checked with python-stdnum) and IBANs (checked with schwifty), also as OCR misreads them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import islice, product

_VAT_RE = re.compile(
    r"\b(ATU|BE|BG|CY|CZ|DE|DK|EE|EL|GR|ES|FI|FR|GB|XI|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|CHE)"
    r"(?:\s?-\s?|[\s.])?([0-9A-Z](?:[0-9A-Z]|(?<=[\dOILSB])(?:\s?-\s?|[\s.])(?=[\dOILSB])){6,16})"
)


@lru_cache(maxsize=8192)
def normalise_vat(candidate: str) -> str | None:
    """A valid VAT id in compact form (``DE136695976``), or None."""
    from stdnum.ch import uid as ch_uid
    from stdnum.eu import vat as eu_vat
    from stdnum.gb import vat as gb_vat

    text = candidate.upper().replace("MWST", "").replace("TVA", "").replace("IVA", "").strip()
    if text.startswith("CHE"):  # the Swiss UID; the "MWST" / "TVA" after it is dropped above
        return ch_uid.compact(text) if ch_uid.is_valid(text) else None
    if text.startswith(("GB", "XI")) and gb_vat.is_valid(text[2:]):
        return text[:2] + gb_vat.compact(text[2:])
    if eu_vat.is_valid(text):
        return eu_vat.compact(text)
    return None


def find_vat_ids(text: str) -> list[tuple[str, int, bool]]:
    """VAT-id-shaped strings: (compact id, position, valid checksum)."""
    found = []
    upper = "".join(c.upper() if len(c.upper()) == 1 else c for c in text)  # "ﬃ" stays one character
    for match in _VAT_RE.finditer(upper):
        if not text[match.start(1) : match.end(1)].isupper():
            continue  # "capital de 1 549 961 789,50": a word, not a country's prefix printed in capitals
        raw = re.sub(r"[\s.-]", "", match.group(0))
        # A longer match may have swallowed the next word; try shrinking it.
        for end in range(len(raw), max(7, len(raw) - 6), -1):
            valid = normalise_vat(raw[:end])
            if valid:
                found.append((valid, match.start(), True))
                break
        else:
            repaired = _repair_ocr(raw)
            if repaired:
                found.append((repaired, match.start(), True))
            elif re.fullmatch(r"[A-Z]{2,3}\d{8,12}", raw):
                found.append((raw, match.start(), False))
    return found


# A UK VAT registration number printed without its "GB" ("VAT Reg No: 245 6719 41").
_UNPREFIXED_GB_VAT = re.compile(
    r"\bvat\s*(?:reg(?:istration|istered|\.)?\s*)?(?:no\b\.?|number\b|nr\b\.?|#)?\s*[:.]?\s*"
    r"(\d{3}\s?\d{4}\s?\d{2}(?:\s?\d{3})?)(?![\s-]?\d)", re.I)


def find_unprefixed_gb_vat(text: str) -> list[tuple[str, int]]:
    """UK VAT numbers after a VAT label but without the country prefix: (GB id, position), valid ones only."""
    from stdnum.gb import vat as gb_vat

    return [("GB" + gb_vat.compact(match.group(1)), match.start(1)) for match in _UNPREFIXED_GB_VAT.finditer(text)
            if gb_vat.is_valid(match.group(1))]


# What a country's VAT number holds after its prefix, position by position: d a digit, a a
# letter, x either (the formats python-stdnum checks).
_VAT_FORMATS: dict[str, tuple[str, ...]] = {
    "ATU": ("d" * 8,), "BE": ("d" * 10,), "BG": ("d" * 9, "d" * 10), "CHE": ("d" * 9,), "CY": ("d" * 8 + "a",),
    "CZ": ("d" * 8, "d" * 9, "d" * 10), "DE": ("d" * 9,), "DK": ("d" * 8,), "EE": ("d" * 9,), "EL": ("d" * 9,),
    "GR": ("d" * 9,), "ES": ("x" + "d" * 7 + "x",), "FI": ("d" * 8,), "FR": ("xx" + "d" * 9,), "GB": ("d" * 9, "d" * 12),
    "XI": ("d" * 9, "d" * 12), "HR": ("d" * 11,), "HU": ("d" * 8,), "IE": ("d" * 7 + "a", "d" * 7 + "aa", "dx" + "d" * 5 + "a"),
    "IT": ("d" * 11,), "LT": ("d" * 9, "d" * 12), "LU": ("d" * 8,), "LV": ("d" * 11,), "MT": ("d" * 8,),
    "NL": ("d" * 9 + "a" + "dd",), "PL": ("d" * 10,), "PT": ("d" * 9,), "RO": tuple("d" * n for n in range(2, 11)),
    "SE": ("d" * 12,), "SI": ("d" * 8,), "SK": ("d" * 10,),
}
# What OCR reads for a digit, and for a letter: a confusion is undone only where the format
# wants the other kind of character.
_AS_DIGIT = {"O": "0", "D": "0", "Q": "0", "U": "0", "I": "1", "L": "1", "J": "1", "Z": "2", "S": "58", "B": "8",
             "G": "6", "T": "7", "A": "4"}
_AS_LETTER = {"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "8": "B"}


def _repair_ocr(raw: str) -> str | None:
    """A VAT id OCR misread (O for 0 among digits, 0 for O where the format wants a letter, S for 5
    or 8 ...): the letters and digits swapped back where the country's format wants the other
    kind, taken only when exactly one repair passes the checksum."""
    prefix = 3 if raw.startswith(("ATU", "CHE")) else 2
    country, body = raw[:prefix], raw[prefix:]
    valid: set[str] = set()
    for shape in _VAT_FORMATS.get(country, ()):
        swapped = sum(kind != "x" and (kind == "d") != ch.isdigit() for kind, ch in zip(shape, body, strict=False))
        if len(shape) > len(body) or len(shape) < 8 or swapped > 3:
            continue  # a word that starts like a VAT id ("ROBOTICS"), not a misread one
        options = []
        for kind, ch in zip(shape, body, strict=False):
            if kind == "x" or (kind == "d") == ch.isdigit():
                options.append(ch)
            else:
                options.append((_AS_DIGIT if kind == "d" else _AS_LETTER).get(ch, ""))
            if not options[-1]:
                break
        else:
            for letters in islice(product(*options), 64):
                found = normalise_vat(country + "".join(letters))
                if found:
                    valid.add(found)
    return valid.pop() if len(valid) == 1 else None


_IBAN_RE = re.compile(r"\b([A-Z]{2}\s?(?:\d[\dOIL]|[OIL]\d)(?:\s?[A-Z0-9]){10,30})")
# Countries whose IBANs hold only digits after the country code: there an O read by OCR is a 0.
_NUMERIC_IBANS = frozenset("AT BE DE DK EE ES FI HR HU LT NO PL PT RS SE SI SK CZ".split())
_OCR_DIGITS = str.maketrans("OIL", "011")


def normalise_iban(candidate: str) -> str | None:
    """A valid IBAN in electronic form (no spaces), or None."""
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    try:
        return IBAN(candidate).compact
    except (SchwiftyException, ValueError):
        return None


# A mark OCR reads into an IBAN's groups ("NL22 RABO 0312 998: 8 71" for "0312 9988 71").
_STRAY_MARK = re.compile(r"(?<=[A-Z0-9])[:;.,'’`](?=\s?[A-Z0-9])")


def find_ibans(text: str) -> list[tuple[str, int]]:
    """Valid IBANs in ``text`` (the checksum decides where an IBAN ends); where none is found, once
    more without the stray marks OCR reads between its characters."""
    upper = text.upper()
    found = _ibans_in(upper)
    if not found and _STRAY_MARK.search(upper):
        found = _ibans_in(_STRAY_MARK.sub("", upper))
    return found


def _ibans_in(text: str) -> list[tuple[str, int]]:
    found = []
    for match in _IBAN_RE.finditer(text):
        compact = re.sub(r"\s", "", match.group(1))
        for candidate in dict.fromkeys((compact, *_ocr_repaired(compact))):
            iban = _longest_valid_prefix(candidate)
            if iban:
                found.append((iban, match.start()))
                break
    return found


def _longest_valid_prefix(compact: str) -> str | None:
    for end in range(min(len(compact), 34), 14, -1):
        iban = normalise_iban(compact[:end])
        if iban:
            return iban
    return None


def _ocr_repaired(compact: str) -> tuple[str, ...]:
    """The IBAN with the letters OCR reads for digits (O for 0, I/l for 1) read as digits: first
    where it can only hold digits (check digits; the whole of a numeric country's), then
    everywhere. The checksum decides whether a repaired IBAN is taken."""
    country, rest = compact[:2], compact[2:]
    everywhere = country + rest.translate(_OCR_DIGITS)
    if country in _NUMERIC_IBANS:
        return (everywhere,)
    return country + rest[:2].translate(_OCR_DIGITS) + rest[2:], everywhere
