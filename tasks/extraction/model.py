"""What extraction finds: a field's value with its confidence and source, and a value found on a
line of the page (with its score, before it becomes a field).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tasks.reading.positioned_text import Cell, Line


@dataclass
class FieldValue:
    value: Any
    confidence: float
    source: str  # xml, template, text, ocr
    note: str | None = None


@dataclass
class Found:
    value: Any
    score: float
    line: Line
    cell: Cell
