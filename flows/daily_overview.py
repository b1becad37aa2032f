"""daily-overview: open, overdue and due-soon totals per currency and the aging buckets, as an artifact."""

from __future__ import annotations

from datetime import date, datetime

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from db.session import session_scope
from tasks.overview import build_overview
from tasks.reporting import artifact_key, markdown_table, publish_markdown
from tasks.run_alerts import ALERT_HOOKS
from tasks.settings import get_settings


@flow(name="daily-overview", **ALERT_HOOKS)
def daily_overview(due_soon_days: int = 7, today: date | None = None) -> list[dict[str, str]]:
    """Summarise every invoice with an open balance.

    Args:
        due_soon_days: invoices due within this many days count as due soon.
        today: the day to compute for; empty for today in the business time zone.
    """
    settings = get_settings()
    day = today or datetime.now(settings.zone).date()
    with session_scope() as session:
        overview = build_overview(session, day, due_soon_days)
    rows = [{key: str(value) for key, value in row.items()} for row in overview.rows()]
    get_run_logger().info("overview for %s: %d direction/currency groups", day, len(rows))
    if rows:
        create_table_artifact(key=artifact_key("open-invoices-table"), table=rows,
                              description=f"Open invoices on {day.isoformat()}")
        body = markdown_table(rows, list(rows[0]))
    else:
        body = "No invoice has an open balance."
    publish_markdown("daily-overview", f"# Open invoices on {day.isoformat()}\n\n{body}",
                     f"{sum(int(r['open']) for r in rows)} open, {sum(int(r['overdue']) for r in rows)} overdue")
    return rows
