"""send-reminders: the daily digest of due and overdue invoices, one email per user.

Orchestration only; the work is in `tasks.reminders.send` (see there for the exactly-once rules).
"""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run

from notifications.alerts import send_admin_alert
from tasks.operations.run_alerts import ALERT_HOOKS
from tasks.operations.run_reports import publish_markdown
from tasks.reminders import send as reminders
from tasks.reminders.plan import Envelope, Plan
from tasks.settings import get_settings


@task(name="expire-stale-reminder-claims")
def expire_stale_claims() -> int:
    return reminders.expire_stale_claims(get_settings())


@task(name="plan-reminders")
def plan(today: date) -> Plan:
    return reminders.make_plan(get_settings(), today)


@task(name="send-reminder-email", retries=0)
def send(envelope: Envelope, today: date, run_id: str | None) -> reminders.Outcome:
    # no task retries: a retry after an unknown failure could send twice; the transport retries
    # what is safe to retry and the ledger lets the next run try again
    return reminders.send_envelope(get_settings(), envelope, today, run_id)


@task(name="preview-reminder-email")
def preview(envelope: Envelope, today: date) -> dict[str, str]:
    return reminders.preview(get_settings(), envelope, today)


@task(name="reminders-needing-a-person")
def attention() -> list[dict]:
    return reminders.attention(get_settings())


@flow(name="send-reminders", log_prints=False, **ALERT_HOOKS)
def send_reminders(dry_run: bool = False, today: date | None = None) -> dict[str, int]:
    """Remind each user of the invoices that reached a reminder level, in one digest.

    Args:
        dry_run: only show who would get what (with one rendered example); nothing is sent or recorded.
        today: the business day to remind for (catching up or testing); empty for today.
    """
    settings = get_settings()
    logger = get_run_logger()
    day = today or reminders.business_today(settings)
    the_plan = plan(day)
    report = reminders.RunReport(day, dry_run, the_plan.quiet, the_plan.candidates, problems=the_plan.problems,
                                 planned=reminders.planned_rows(the_plan))
    if dry_run:
        if the_plan.envelopes:
            report.example = preview(the_plan.envelopes[0], day)
    else:
        report.expired_claims = expire_stale_claims()
        if the_plan.quiet:
            logger.info("%s is a quiet day: nothing is sent", day.isoformat())
        else:
            run_id = str(flow_run.id) if flow_run.id else None
            report.outcomes = [send(envelope, day, run_id) for envelope in the_plan.envelopes]
        report.attention = attention()
        text = reminders.alert_text(report)
        if text:
            send_admin_alert(settings, f"Reminders of {day.isoformat()} need attention", text)
    counts = report.counts()
    logger.info("send-reminders %s%s: %s", day.isoformat(), " (dry run)" if dry_run else "", counts)
    publish_markdown(
        "send-reminders",
        reminders.report_markdown(report),
        f"{counts['emails sent']} email(s) sent with {counts['reminders sent']} reminder(s); "
        f"{counts['need a person'] + counts['problems']} item(s) need attention",
    )
    return counts
