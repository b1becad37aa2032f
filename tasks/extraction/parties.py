"""Who an invoice is from and to: vendor name, VAT id, IBAN and customer name.

The customer is what follows a "Bill to" / "Rechnungsempfänger" / "Facturé à" / "Factuur aan"
label; the vendor is a labelled seller if there is one, otherwise the company name (a name with
a legal form such as GmbH, Ltd, SARL, B.V.) that stands out: large, near the top of the first
page, repeated in the footer, and outside the customer's address block.
"""

from __future__ import annotations

import re
from collections import Counter
from difflib import SequenceMatcher

from tasks.extraction.domains import domain_keys, is_address, name_spelled_by, spelled_by
from tasks.extraction.label_lookup import Reader
from tasks.extraction.model import FieldValue, Found
from tasks.language import labels
from tasks.language.identifiers import find_ibans, find_unprefixed_gb_vat, find_vat_ids
from tasks.language.words import fold, fold_in_place
from tasks.reading.positioned_text import Cell, Line

_VAT_HINT = re.compile(r"\b(?:ATU|CHE|[A-Z]{2})[\s.-]?\d")
_IBAN_START = re.compile(r"\b[A-Z]{2}[\dOIL]{2}(?:\s?[A-Z0-9]{1,4})*$")  # check digits as OCR may read them ("ATO4")
_SEPARATORS = re.compile(r"\s+[·•|–]\s+|\s{3,}|,\s+(?=\d)|\s+-\s+")


# The lines of the customer's address block, each with the stretch (left, right) of the line
# the block covers: a vendor's name beside it in another column stays a candidate.
Block = dict[int, tuple[float, float]]
_WHOLE_LINE = (float("-inf"), float("inf"))
# "N° client", "Code client": a customer number's label, not the customer's name.
_NUMBER_WORD = re.compile(r"(?:\bn[°o.]?|\bnr\.?|\bnumero|\bcode|\bnummer)\s*$")


def _add(block: Block, index: int, left: float, right: float) -> None:
    old = block.get(index)
    block[index] = (min(old[0], left), max(old[1], right)) if old else (left, right)


def in_block(block: Block, index: int, cell: Cell) -> bool:
    """Whether ``cell`` of line ``index`` lies in the customer's block."""
    span = block.get(index)
    return span is not None and cell.x0 < span[1] and cell.x1 > span[0]


def _customer_block(reader: Reader) -> tuple[FieldValue | None, Block]:
    """The customer name and the customer's address block (and a delivery address's)."""
    block: Block = {}
    name: FieldValue | None = None
    for index, line in enumerate(reader.lines):
        for position, folded in enumerate(reader.folded[index]):
            match = labels.CUSTOMER.search(folded)
            delivery = None if match else labels.DELIVERY_ADDRESS.search(folded)
            if match is not None and _NUMBER_WORD.search(folded[: match.start()]):
                continue
            match = match or delivery
            if match is None or match.start() > 3:
                continue
            cell = line.cells[position]
            if delivery is None:
                found = reader.value_after(index, position, match.end(), Reader.words, below=2)
                if found is not None and name is None and not re.search(r"\d{4,}", found.value):
                    name = reader.value(Found(found.value, 0.8, found.line, found.cell))
            column = [c for c in line.cells[position:] if c is cell or c.x0 - cell.x1 < 4 * line.size]
            _add(block, index, cell.x0 - line.size, max(c.x1 for c in column[:2]))
            for offset, lower in enumerate(reader.lines[index + 1 : index + 7], start=index + 1):
                if lower.page != line.page or lower.y0 - line.y1 > 8 * max(line.size, 1):
                    break
                under = [c for c in lower.cells if c.x0 < cell.x1 + 4 * line.size and c.x1 > cell.x0 - line.size]
                if under:
                    _add(block, offset, min(c.x0 for c in under), max(c.x1 for c in under))
    for index, x0 in _customer_vat_cells(reader):
        for above, span in _address_above(reader, index, x0).items():
            _add(block, above, *span)
    return name, block


def _is_customer_vat(folded: str, start: int) -> bool:
    """Whether the VAT id at ``start`` of a folded cell is labelled as the customer's."""
    return bool(labels.CUSTOMER_VAT.search(folded[max(0, start - 45) : start]))  # "UID-Nr. des Leistungsempfängers:"


def _customer_vat_cells(reader: Reader) -> list[tuple[int, float]]:
    """(line index, left edge) of every cell holding a VAT id labelled as the customer's and no
    other: a sentence naming both parties' ids ("UID des Leistungsempfängers: DE... · Unsere UID:
    ATU...") is no line of the customer's address."""
    cells = []
    for index, line in enumerate(reader.lines):
        if not _VAT_HINT.search(line.text):
            continue
        for cell, folded in zip(line.cells, reader.folded[index], strict=True):
            labelled = [_is_customer_vat(folded, start) for _, start, _ in find_vat_ids(cell.text)]
            if labelled and all(labelled):
                cells.append((index, cell.x0))
    return cells


def _address_above(reader: Reader, index: int, x0: float) -> Block:
    """Line ``index`` and the address lines stacked right above it from the left edge ``x0``
    (the customer's VAT id closes the customer's address block)."""
    lower = reader.lines[index]
    block: Block = {index: (x0 - lower.size, max(c.x1 for c in lower.cells if c.x1 > x0))}
    for above in range(index - 1, max(-1, index - 7), -1):
        line = reader.lines[above]
        if line.page != lower.page or lower.y0 - line.y1 > 1.5 * max(lower.size, 1):
            break
        aligned = [c for c in line.cells if abs(c.x0 - x0) < lower.size]
        if not aligned:
            break
        block[above] = (x0 - lower.size, max(c.x1 for c in aligned))
        lower = line
    return block


_FROM_HEADLINE = re.compile(
    r"^(?:(?:your|ihre?|votre|vos|uw|je)\s+)?(?:receipt|invoice|bill|order|payment|rechnung|quittung|bestellung|"
    r"zahlung|facture|re[çc]u|commande|paiement|factuur|bon|bestelling|betaling)\s+"
    r"(?:from|von|bei|de|du|chez|van|bij)\s+", re.I)


# OCR reading French too takes the "&" of "Smith & Sons Ltd" for "à"; a name whose legal form is
# English, German or Dutch has no "à" of its own.
_FORM_WITHOUT_GRAVE = re.compile(
    r"(?i:ltd|limited|llc|l\.l\.c|inc|corp|corporation|plc|llp|lp|gmbh(?:\s*&\s*co\.?\s*kg)?|mbh|ag|kg|ohg|ug|"
    r"kgaa|gbr|b\.?\s?v|n\.?\s?v|vof)")
_AMPERSAND_READ_AS_A = re.compile(r"\s+à\s+")


def _company_name(text: str) -> str | None:
    """The part of a cell that is a company name ending in a legal form, else None."""
    for part in _SEPARATORS.split(text):
        match = labels.LEGAL_FORM.search(part)
        if match is None:
            continue
        name = part[: match.end()].strip(" ,:;").rsplit(": ", 1)[-1]  # "Bank details: Acme Ltd": after the label
        name = _FROM_HEADLINE.sub("", name)  # "Your receipt from Acme Inc."
        name = re.sub(r"^(?:from|von|de|van|seller|supplier|lieferant|fournisseur|leverancier|sold\s+by|"
                      r"verkauft\s+(?:von|durch)|vendu\s+par|verkocht\s+door)\s*:?\s+", "", name, flags=re.I)
        if _FORM_WITHOUT_GRAVE.fullmatch(match.group().strip(" .")):
            name = _AMPERSAND_READ_AS_A.sub(" & ", name)
        words = name.split()
        if 2 <= len(words) <= 8 and len(name) <= 80 and re.match(r"[^\W\d_]", name) and not name.isdigit():
            if not labels.TITLE_WORDS.match(fold_in_place(name)) and "@" not in name:
                return name
    return None


_POSSESSIVE = re.compile(r"\b(?:your|our|ihr|ihre|unser|votre|notre|uw|onze|je|the|der|dem|des|du|le)\s*$")
_OF_WHAT = re.compile(r"\s*(?:of|for|fur|von|de|d'|d’|du|des|van|voor)\b")


def _tagline(folded: str, match: re.Match[str]) -> bool:
    """Whether a seller word is part of a slogan ("Votre fournisseur d'électricité", "Your
    supplier of office furniture", "Ihr Lieferant für ...") or of a sentence ("issued on behalf of
    the seller by ..."), not the label of the seller's name."""
    return bool(_POSSESSIVE.search(folded[: match.start()]) or _OF_WHAT.match(folded, match.end()))


def _vendor(reader: Reader, block: Block) -> FieldValue | None:
    labelled = [f for f in reader.labelled(labels.VENDOR, Reader.words, below=1, skip=_tagline)
                if not in_block(block, reader.lines.index(f.line), f.cell)]
    if labelled:
        name = _company_name(labelled[0].value) or labelled[0].value
        return reader.value(Found(name, 0.85, labelled[0].line, labelled[0].cell))
    first_page = reader.lines[0].page if reader.lines else 1
    page = reader.pages.get(first_page)
    height = page.height if page and page.height else max((ln.y1 for ln in reader.lines), default=1.0)
    sizes = sorted(line.size for line in reader.lines) or [1.0]
    median = sizes[len(sizes) // 2] or 1.0
    candidates: list[tuple[float, str, Line, int]] = []
    names: Counter[str] = Counter()
    for index, line in enumerate(reader.lines):
        for position, cell in enumerate(line.cells):
            name = _company_name(cell.text)
            if name is None:
                continue
            key = fold_in_place(name)
            names[key] += 1
            if in_block(block, index, cell):
                continue
            score = min(line.size / median, 3.0)
            if line.page == first_page and line.y0 < height * 0.3:
                score += 1.0
            candidates.append((score, name, line, position))
    candidates += _headline_names(reader, block, first_page, height * 0.25, median)
    keys = domain_keys(line.text for index, line in enumerate(reader.lines) if index not in block)
    candidates = [(s + (1.0 if spelled_by(n, keys) else 0.0), n, ln, p) for s, n, ln, p in candidates]
    if candidates:
        spelling = {fold_in_place(n): n for _, n, _, _ in reversed(candidates)}
        family = _name_families(names + Counter(spelling.keys()))
        counts: Counter[str] = Counter()
        for key, count in names.items():
            counts[family[key]] += count
        scored = [(s + 0.75 * min(max(counts[family[fold_in_place(n)]], 1) - 1, 2), n, ln, p) for s, n, ln, p in candidates]
        score, name, line, position = max(scored, key=lambda item: item[0])
        name = spelling.get(family[fold_in_place(name)], name)  # the spelling the document uses most
        if _company_name(name) is None:  # a letterhead: the legal name that holds it, if the page prints one
            legal = [item for item in sorted(scored, key=lambda item: -item[0]) if _company_name(item[1])]
            fuller = next((item for item in legal if _holds_words(item[1], name)), None)
            if fuller is None:  # "Buro Vandamme": the one legal name holding its name ("Vandamme ... BV")
                sharing = {fold_in_place(item[1]): item for item in legal if _shares_name_word(item[1], name)}
                fuller = next(iter(sharing.values())) if len(sharing) == 1 else None
            if fuller is not None:
                name, line, position = spelling.get(family[fold_in_place(fuller[1])], fuller[1]), fuller[2], fuller[3]
        confidence = 0.9 if score >= 2.5 else 0.75
        if keys and not spelled_by(name, keys):
            # A legal name printed once that the page's own domain does not spell, beside a name the
            # domain spells printed again and again ("ALEXINUX SARL" over "Bouygues Telecom" and
            # bouyguestelecom.fr): the customer's name in an unlabelled address window.
            spelled = _spelled_name(reader, block, keys)
            if spelled is not None and counts[family[fold_in_place(name)]] <= 1 and _printed(reader, spelled) >= 2:
                return spelled
        elif keys:
            confidence = 0.9
        return reader.value(Found(name, confidence, line, line.cells[position]))
    # No legal form anywhere: the largest words near the top of the first page, a name its own
    # web or e-mail domain spells first.
    top = [(line.size, index, line) for index, line in enumerate(reader.lines[:15])
           if line.page == first_page and not in_block(block, index, line.cells[0]) and line.y0 < height * 0.35]
    for _, index, line in top:
        text = line.cells[0].text.strip()
        if _plain_name(text) and spelled_by(text, keys):
            return reader.value(Found(text, 0.85, line, line.cells[0]))
    spelled = _spelled_name(reader, block, keys)
    if spelled is not None:
        return spelled
    for _, index, line in sorted(top, key=lambda item: (-item[0], item[1])):
        text = line.cells[0].text.strip()
        if _plain_name(text):
            return reader.value(Found(text, 0.55, line, line.cells[0]))
    return None


def _spelled_name(reader: Reader, block: Block, keys: list[str]) -> FieldValue | None:
    """The name the page's own web or e-mail domain spells, as printed outside the customer's block."""
    cells = [(line, cell) for index, line in enumerate(reader.lines) for cell in line.cells
             if not in_block(block, index, cell)]
    spelled = name_spelled_by((cell.text for _, cell in cells), keys, _plain_name)
    if spelled is None:
        return None
    line, cell = next((line, cell) for line, cell in cells if spelled in cell.text)
    return reader.value(Found(spelled, 0.8, line, cell))


def _printed(reader: Reader, name: FieldValue) -> int:
    """How many lines print ``name``."""
    key = fold_in_place(str(name.value))
    return sum(key in joined for joined in reader.joined)


_WORD = re.compile(r"\w+")


def _holds_words(name: str, headline: str) -> bool:
    """Whether ``name`` holds the words of ``headline`` in a row ("Dupuis Plomberie Chauffage SAS"
    holds the letterhead "DUPUIS", "Cateringbedrijf Smaakvol B.V." holds "Smaakvol")."""
    words, held = _WORD.findall(fold(headline)), _WORD.findall(fold(name))
    return bool(words) and any(held[i : i + len(words)] == words for i in range(len(held) - len(words) + 1))


def _shares_name_word(name: str, headline: str) -> bool:
    """Whether ``name`` holds one of the longer words of ``headline`` (a family or place name of
    five letters or more: "Vandamme" of the letterhead "Buro Vandamme")."""
    held = set(_WORD.findall(fold(name)))
    return any(len(word) >= 5 and not word.isdigit() and word in held for word in _WORD.findall(fold(headline)))


def _name_families(keys: Counter[str]) -> dict[str, str]:
    """Each name -> the most frequent of the names spelt almost like it (OCR reads "Müller" as
    "Miller" in one place and right in two others: one company, seen three times)."""
    family: dict[str, str] = {}
    for key, _ in keys.most_common():
        family[key] = next((head for head in dict.fromkeys(family.values())
                            if SequenceMatcher(None, key, head).ratio() >= 0.85), key)
    return family


_FIELD_NOUN = re.compile(r"(?:datum|date|nummer|number|nr|no|betrag|amount|summe|total|zeitraum|period|periode)\W*$")


def _plain_name(text: str) -> bool:
    """Whether a line could be a business name written without a legal form (not a field's
    label such as "Leistungsdatum")."""
    folded = fold_in_place(text)
    return (Reader.words(text) == text and not re.search(r"\d|@|://|\bwww\.|:\s", text) and len(text.split()) <= 6
            and not labels.INVOICE_WORDS.search(folded) and not labels.CREDIT_NOTE.search(folded)
            and not labels.CUSTOMER.search(folded) and not is_address(text)
            and not _FIELD_NOUN.search(folded))


def _headline_names(reader: Reader, block: Block, page: int, above: float,
                    median: float) -> list[tuple[float, str, Line, int]]:
    """Names without a legal form printed as a letterhead (much larger than the body text, at
    the top of the first page); they compete with the legal-form names, a little behind."""
    found = []
    for index, line in enumerate(reader.lines[:15]):
        text = line.cells[0].text.strip()
        if (line.page == page and not in_block(block, index, line.cells[0]) and line.y0 < above and line.size >= 1.4 * median
                and _company_name(text) is None and _plain_name(text)):
            found.append((min(line.size / median, 3.0) + 0.5, text, line, 0))
    return found


def _vat_id(reader: Reader, block: Block) -> FieldValue | None:
    return _prefixed_vat_id(reader, block) or _unprefixed_vat_id(reader, block)


def _unprefixed_vat_id(reader: Reader, block: Block) -> FieldValue | None:
    """A UK VAT number labelled but printed without "GB", outside the customer's block."""
    for index, line in enumerate(reader.lines):
        if index in block or "vat" not in reader.joined[index]:
            continue
        for position, cell in enumerate(line.cells):
            text = cell.text
            if position == len(line.cells) - 1 and _VAT_LABEL_END.search(text) and index + 1 < len(reader.lines):
                lower = reader.lines[index + 1]  # "VAT registration number 678" / "0083 74." wrapped in a footer
                if lower.page == line.page and lower.y0 - line.y1 < line.size:
                    text = f"{text} {lower.cells[0].text}"
            for vat_id, start in find_unprefixed_gb_vat(text):
                if start < len(cell.text) and not _is_customer_vat(reader.folded[index][position], start):
                    return reader.value(Found(vat_id, 0.85, line, cell))
    return None


_VAT_LABEL_END = re.compile(r"\bvat\b[\w\s.#:]{0,30}?[\d\s]*\d$", re.I)


def _prefixed_vat_id(reader: Reader, block: Block) -> FieldValue | None:
    best: tuple[float, Found] | None = None
    for index, line in enumerate(reader.lines):
        if not _VAT_HINT.search(line.text):
            continue
        for position, cell in enumerate(line.cells):
            for vat_id, start, valid in find_vat_ids(cell.text):
                label_cell = reader.folded[index][position - 1] if position and not cell.text[:start].strip() else ""
                if (_is_customer_vat(reader.folded[index][position], start) or in_block(block, index, cell)
                        or _is_customer_vat(label_cell, len(label_cell))):
                    continue  # the customer's, by its label (in its cell or the one before) or its address block
                before = reader.folded[index][position][max(0, start - 30) : start]
                if labels.NOT_VAT_ID.search(before):
                    continue  # "WEEE-Reg.-Nr. DE 39697378", "EORI: DE4711..."
                score = 0.95 if valid else 0.5
                if index in block or labels.CUSTOMER_CONTEXT.search(before):
                    score -= 0.4
                found = Found(vat_id, score, line, cell)
                if best is None or score > best[0]:
                    best = (score, found)
    return reader.value(best[1]) if best else None


def _iban(reader: Reader, block: Block) -> FieldValue | None:
    best: tuple[float, Found] | None = None
    for index, line in enumerate(reader.lines):
        text = " ".join(line.text.split())
        found = find_ibans(text)
        if not found and _IBAN_START.search(text) and index + 1 < len(reader.lines):
            found = find_ibans(f"{text} {reader.lines[index + 1].text}")  # wrapped onto the next line
        for iban, _ in found:
            score = 0.95 - (0.4 if index in block else 0.0)
            if best is None or score > best[0]:
                best = (score, Found(iban, score, line, line.cells[0]))
    return reader.value(best[1]) if best else None


def _window_address(reader: Reader, vendor: FieldValue | None) -> tuple[FieldValue | None, Block]:
    """A letter's address window: the line below the small sender line "Vendor · Street · City"."""
    if vendor is None:
        return None, {}
    key = fold_in_place(str(vendor.value))
    for index, line in enumerate(reader.lines[:40]):
        folded = " ".join(reader.folded[index])
        if key not in folded or not re.search(r"[·•|,-]", folded[len(key):]) or index + 1 >= len(reader.lines):
            continue
        lower = reader.lines[index + 1]
        if lower.page == line.page and lower.y0 - line.y1 < 4 * max(line.size, 1) and lower.size > line.size:
            text = re.sub(r"^(?:herrn?|frau|firma|mr\.?|mrs\.?|ms\.?|m\.|mme|dhr\.?|mevr\.?)\s+", "",
                          lower.cells[0].text, flags=re.I)
            name = Reader.words(text)
            if name and key not in fold_in_place(name):
                return reader.value(Found(name, 0.7, lower, lower.cells[0])), dict.fromkeys(
                    (index + 1, index + 2, index + 3), _WHOLE_LINE)
    return None, {}


def party_fields(reader: Reader) -> dict[str, FieldValue]:
    customer, block = _customer_block(reader)
    if customer is None:
        customer, window = _window_address(reader, _vendor(reader, block))
        block.update(window)
    result = {"customer": customer, "vendor": _vendor(reader, block), "vendor_vat_id": _vat_id(reader, block),
              "iban": _iban(reader, block)}
    if customer and result["vendor"] and fold_in_place(customer.value) == fold_in_place(result["vendor"].value):
        result["customer"] = None
    return {key: value for key, value in result.items() if value is not None}
