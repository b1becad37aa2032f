"""Reminders: the work of the send-reminders flow, as plain functions.

A run: (1) claims left by a run that died between sending and recording become ``uncertain``;
(2) `tasks.reminders.plan` selects what is due; (3) each email is sent by `send_envelope`:
claim its ledger rows (committed), render, send, record the outcome; (4) a summary lists what
was sent and what needs a person. `run_reminders` does all of it without Prefect; the
send-reminders flow calls the same steps as tasks.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from db.models import utcnow
from db.session import engine_for, session_scope
from notifications.transports import (
    PermanentDeliveryError,
    TemporaryDeliveryError,
    make_transport,
)
from tasks.operations.run_reports import fenced, markdown_table, plain, summary_markdown
from tasks.reminders import ledger
from tasks.reminders.digest import (
    Addressee,
    render_customer_email,
    render_digest,
    to_message,
)
from tasks.reminders.plan import Envelope, Plan, plan_reminders
from tasks.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What happened to one email."""

    kind: str
    address: str
    status: str  # sent, failed (tried again by a later run), refused, uncertain, not_rendered, taken
    reminders: int = 0
    detail: str = ""
    digest_id: str = ""


@dataclass
class RunReport:
    today: date
    dry_run: bool
    quiet: bool
    candidates: int = 0
    expired_claims: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)
    attention: list[dict[str, Any]] = field(default_factory=list)
    planned: list[dict[str, Any]] = field(default_factory=list)
    example: dict[str, str] | None = None

    def counts(self) -> dict[str, int]:
        counts = {"candidates": self.candidates, "emails planned": len(self.planned)}
        for status in ("sent", "failed", "refused", "uncertain", "not_rendered"):
            counts[f"emails {status}"] = sum(1 for o in self.outcomes if o.status == status)
        counts["reminders sent"] = sum(o.reminders for o in self.outcomes if o.status == "sent")
        counts["problems"] = len(self.problems)
        counts["need a person"] = len(self.attention)
        return counts


def business_today(settings: Settings) -> date:
    return datetime.now(settings.zone).date()


def expire_stale_claims(settings: Settings) -> int:
    timeout = timedelta(minutes=settings.reminders.claim_timeout_minutes)
    with session_scope(engine_for(settings.database.url)) as session:
        count = ledger.expire_stale_claims(session, timeout)
    if count:
        logger.warning("%d reminder(s) were claimed by a run that stopped before recording them: marked uncertain", count)
    return count


def make_plan(settings: Settings, today: date) -> Plan:
    with session_scope(engine_for(settings.database.url)) as session:
        return plan_reminders(session, settings, today, utcnow())


def _addressee(envelope: Envelope) -> Addressee:
    return Addressee(envelope.address, envelope.name, envelope.locale)


def _render(settings: Settings, envelope: Envelope, items: list[tuple[int, int]], today: date, digest_id: str):  # type: ignore[no-untyped-def]
    with session_scope(engine_for(settings.database.url)) as session:
        if envelope.kind == "customer":
            [(invoice_id, level)] = items
            rendered = render_customer_email(settings, session, _addressee(envelope), invoice_id, level, today)
        else:
            rendered = render_digest(settings, session, _addressee(envelope), items, today)
    return rendered, to_message(settings, _addressee(envelope), rendered, digest_id)


def send_envelope(settings: Settings, envelope: Envelope, today: date, run_id: str | None = None) -> Outcome:
    """Claim, render, send and record one email; never raises for a delivery problem."""
    engine = engine_for(settings.database.url)
    digest_id = uuid.uuid4().hex
    outcome = Outcome(envelope.kind, envelope.address, "taken", digest_id=digest_id)
    with session_scope(engine) as session:  # committed before anything is sent
        claims = ledger.claim(session, envelope.address, envelope.items, envelope.retry_row_ids, digest_id, run_id)
    if not claims:
        outcome.detail = "every reminder was already taken by another run"
        return outcome
    outcome.reminders = len(claims)
    try:
        _, message = _render(settings, envelope, [(c.invoice_id, c.level) for c in claims], today, digest_id)
    except Exception as err:  # nothing was sent: give the claims back for the next run
        with session_scope(engine) as session:
            ledger.release(session, claims, f"not rendered: {err}")
        outcome.status, outcome.detail = "not_rendered", f"{type(err).__name__}: {err}"
        logger.error("reminder email to %s not rendered: %s", envelope.address, outcome.detail)
        return outcome
    ids = [c.row_id for c in claims]
    try:
        with make_transport(settings) as transport:
            delivery = transport.send(message)
    except TemporaryDeliveryError as err:
        with session_scope(engine) as session:
            ledger.mark_failed(session, claims, str(err), settings.reminders.retry_failed_runs)
        outcome.status, outcome.detail = "failed", f"{err} (a later run tries again)"
    except PermanentDeliveryError as err:
        with session_scope(engine) as session:
            ledger.mark_failed(session, claims, str(err), None)
        outcome.status, outcome.detail = "refused", str(err)
    except Exception as err:  # UncertainDeliveryError, or a failure of unknown kind: never send again
        with session_scope(engine) as session:
            ledger.mark_uncertain(session, ids, f"{type(err).__name__}: {err}")
        outcome.status, outcome.detail = "uncertain", str(err)
    else:
        with session_scope(engine) as session:
            ledger.mark_sent(session, ids)
        outcome.status = "sent"
        outcome.detail = delivery.location or f"accepted after {delivery.attempts} try(s)"
    log = logger.info if outcome.status == "sent" else logger.error
    log("reminder %s to %s (%d reminder(s)): %s %s", envelope.kind, envelope.address, len(claims), outcome.status, outcome.detail)
    return outcome


def preview(settings: Settings, envelope: Envelope, today: date) -> dict[str, str]:
    """The email ``envelope`` would be, rendered but neither claimed nor sent."""
    rendered, message = _render(settings, envelope, envelope.items, today, "preview")
    return {"to": str(message["To"]), "subject": rendered.subject, "text": rendered.text}


def attention(settings: Settings, days: int = 14) -> list[dict[str, Any]]:
    with session_scope(engine_for(settings.database.url)) as session:
        return ledger.needs_attention(session, utcnow() - timedelta(days=days))


def planned_rows(plan: Plan) -> list[dict[str, Any]]:
    return [{"to": e.address, "kind": e.kind, "reminders": e.count, "name": e.name} for e in plan.envelopes]


def report_markdown(report: RunReport) -> str:
    title = f"Reminders for {report.today.isoformat()}" + (" (dry run: nothing sent or recorded)" if report.dry_run else "")
    note = None
    if report.quiet:
        note = "Today is a quiet day (reminders.quiet_weekdays): a real run sends nothing; the next run catches up."
    attention_rows = report.problems + [
        {"item": f"{a['invoice']} (level {a['level']}) to {a['recipient']}", "problem": f"{a['status']}: {a['reason']}"}
        for a in report.attention
    ] + [
        {"item": f"{o.kind} to {o.address}", "problem": f"{o.status}: {o.detail}"}
        for o in report.outcomes if o.status not in {"sent", "taken"} and o.status != "uncertain"
    ]
    parts = [summary_markdown(title, report.counts(), attention_rows, ["item", "problem"], note)]
    if report.outcomes:
        rows = [asdict(o) for o in report.outcomes]
        parts += ["", "## Emails", "", markdown_table(rows, ["kind", "address", "status", "reminders", "detail"])]
    elif report.planned:
        parts += ["", "## Would be sent", "", markdown_table(report.planned, ["to", "name", "kind", "reminders"])]
    if report.example:
        parts += ["", f"## Example: the email to {plain(report.example['to'])}", "",
                  f"**Subject:** {plain(report.example['subject'])}", "", fenced(report.example["text"].strip())]
    return "\n".join(parts)


def alert_text(report: RunReport) -> str | None:
    """Text of an admin alert when this run left something for a person, else None."""
    bad = [o for o in report.outcomes if o.status in {"refused", "uncertain", "not_rendered"}]
    if not bad and not report.expired_claims:
        return None
    lines = [f"The reminders run of {report.today.isoformat()} needs a person:"]
    if report.expired_claims:
        lines.append(f"- {report.expired_claims} reminder(s) may or may not have been delivered (a run stopped "
                     "between sending and recording); they are not sent again. Check with the recipients.")
    lines += [f"- {o.kind} to {o.address}: {o.status}: {o.detail}" for o in bad]
    return "\n".join(lines)


def run_reminders(settings: Settings, today: date | None = None, dry_run: bool = False, run_id: str | None = None) -> RunReport:
    """One whole run without Prefect (the flow runs the same steps as tasks)."""
    today = today or business_today(settings)
    plan = make_plan(settings, today)
    report = RunReport(today, dry_run, plan.quiet, plan.candidates, problems=plan.problems, planned=planned_rows(plan))
    if dry_run:
        if plan.envelopes:
            report.example = preview(settings, plan.envelopes[0], today)
        return report
    report.expired_claims = expire_stale_claims(settings)
    if not plan.quiet:
        report.outcomes = [send_envelope(settings, e, today, run_id) for e in plan.envelopes]
    report.attention = attention(settings)
    return report
