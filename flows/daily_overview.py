"""daily-overview: open, overdue and due-soon totals per currency and the aging buckets, and what
needs a person's look (invoices to review, documents not read), as an artifact."""

from __future__ import annotations

from datetime import date, datetime, timezone

from prefect import flow, get_run_logger

from db.session import session_scope
from tasks.invoices.needs_attention import Attention, needs_attention
from tasks.invoices.overview import build_overview
from tasks.operations.run_alerts import ALERT_HOOKS
from tasks.operations.run_reports import markdown_table, publish_markdown, publish_table
from tasks.settings import get_settings

DOCUMENT_DAYS = 7


def _attention_markdown(attention: Attention, desk_url: str) -> str:
    parts = [f"## To review ({attention.review_count})", ""]
    if attention.reviews:
        # the link texts are the invoices' ids: nothing a sender wrote becomes part of a link
        links = ", ".join(f"[invoice {int(r['invoice'])}]({desk_url}/invoices/{int(r['invoice'])})"
                          for r in attention.reviews[:50])
        parts += ["Open each at the desk to correct it beside its document (or run `review-invoice` with the "
                  "invoice id): " + links + ".", "",
                  markdown_table(attention.reviews, list(attention.reviews[0]))]
    else:
        parts.append("No invoice waits for review.")
    parts += ["", f"## Documents not read in the last {DOCUMENT_DAYS} days ({attention.document_count})", ""]
    if attention.documents:
        parts += ["Each is kept in the document store; `process-document` with `force` reads one again.", "",
                  markdown_table(attention.documents, list(attention.documents[0]))]
    else:
        parts.append("Every document was read.")
    return "\n".join(parts)


@flow(name="daily-overview", **ALERT_HOOKS)
def daily_overview(due_soon_days: int = 7, today: date | None = None) -> list[dict[str, str]]:
    """Summarise every invoice with an open balance, and list what needs a person's look.

    Args:
        due_soon_days: invoices due within this many days count as due soon.
        today: the day to compute for; empty for today in the business time zone.
    """
    settings = get_settings()
    day = today or datetime.now(settings.zone).date()
    with session_scope() as session:
        overview = build_overview(session, day, due_soon_days)
        attention = needs_attention(session, datetime.now(timezone.utc), DOCUMENT_DAYS)
    rows = [{key: str(value) for key, value in row.items()} for row in overview.rows()]
    get_run_logger().info("overview for %s: %d direction/currency groups", day, len(rows))
    if rows:
        publish_table("open-invoices-table", rows, f"Open invoices on {day.isoformat()}")
        body = markdown_table(rows, list(rows[0]))
    else:
        body = "No invoice has an open balance."
    attention_part = _attention_markdown(attention, settings.desk.public_url.rstrip("/"))
    publish_markdown("daily-overview", f"# Open invoices on {day.isoformat()}\n\n{body}\n\n{attention_part}",
                     f"{sum(int(r['open']) for r in rows)} open, {sum(int(r['overdue']) for r in rows)} overdue, "
                     f"{attention.review_count} to review, {attention.document_count} documents not read")
    return rows
