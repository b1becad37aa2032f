"""The e-invoice part of a document's run summary: what it claims, whether it is valid, every
finding (warnings too), its lines and its readable rendering. Every value is shown as text."""

from __future__ import annotations

from typing import Any

from tasks.operations.run_reports import markdown_table, plain

LINE_COLUMNS = ["position", "description", "quantity", "unit", "unit_price", "net_amount", "tax_category", "tax_rate"]


def einvoice_report(summary: dict[str, Any] | None) -> list[str]:
    """Markdown paragraphs for the ``einvoice`` summary of a processed document (none without one)."""
    if not summary:
        return []
    if summary.get("refused"):
        verdict = f"E-invoice: not checked ({plain(summary['refused'])})"
    else:
        verdict = (f"E-invoice: {plain(summary['syntax'])}, {plain(summary['profile'])}: "
                   f"{'valid' if summary['valid'] else 'not valid'} (checked: {plain(', '.join(summary['checked']))})")
    parts = ["", verdict]
    if summary.get("findings"):
        parts += ["", f"Findings ({_count(summary, 'findings')}):", "",
                  markdown_table(summary["findings"], ["rule", "severity", "message", "location"])]
    if summary.get("lines"):
        parts += ["", f"Invoice lines ({_count(summary, 'lines')}):", "", markdown_table(summary["lines"], LINE_COLUMNS)]
    if summary.get("rendering_document_id"):
        parts += ["", f"Readable rendering: document {plain(summary['rendering_document_id'])} (PDF, made from the XML)"]
    return parts


def _count(summary: dict[str, Any], key: str) -> str:
    """How many there are, and how many are shown when not all."""
    total, shown = summary.get(f"{key[:-1]}_count", len(summary[key])), len(summary[key])
    return str(total) if total == shown else f"{total}, the first {shown} shown"
