"""Template-free field extraction from a document's positioned lines, in English, German, French and
Dutch: every field looked for next to its labels (tasks.language.labels), each value with a
confidence and its source ("text" for a text layer, "ocr" for a scan).
"""

from __future__ import annotations

from typing import Any

from tasks.extraction.amounts import amount_fields
from tasks.extraction.label_lookup import Reader
from tasks.extraction.model import FieldValue
from tasks.extraction.parties import party_fields
from tasks.extraction.references import (
    credit_note_field,
    currency_field,
    date_fields,
    number_field,
)
from tasks.language import labels
from tasks.reading.positioned_text import DocumentText


def extract_fields(document: DocumentText, options: dict[str, Any] | None = None) -> tuple[dict[str, FieldValue], Reader]:
    """Every field found in ``document`` (absent keys: not found), and the reader that found them."""
    reader = Reader(document, options)
    fields: dict[str, FieldValue] = {}
    number = number_field(reader)
    if number:
        fields["invoice_number"] = number
    fields.update(date_fields(reader))
    amounts = amount_fields(reader)
    fields.update(amounts)
    parties = party_fields(reader)
    fields.update(parties)
    currency = currency_field(reader, amounts, parties)
    if currency:
        fields["currency"] = currency
    references = [f for f in reader.labelled(labels.REFERENCE, reader.reference, below=1)
                  if "invoice_number" not in fields or f.value != fields["invoice_number"].value]
    if references:
        fields["reference"] = reader.value(references[0])  # type: ignore[assignment]
    fields["is_credit_note"] = credit_note_field(reader, amounts)
    return fields, reader
