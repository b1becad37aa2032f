"""Reminder e-mails link to the invoice's page at the desk (its public address from the settings)."""

from __future__ import annotations

from datetime import date

from db.session import session_scope
from tasks.reminders.digest import Addressee, render_digest
from tests.support.desk import add_invoice


def test_the_reminder_digest_links_to_the_invoices_page_at_the_desk(settings, monkeypatch):
    settings.desk.public_url = "https://desk.example.com/"
    invoice = add_invoice("L-1", "Linked GmbH", due_date=date(2026, 3, 1))
    with session_scope() as session:
        email = render_digest(settings, session, Addressee("ann@example.com", "Ann", "de_DE"), [(invoice, 1)],
                              date(2026, 3, 2))
    assert f"https://desk.example.com/invoices/{invoice}" in email.text
    assert f'href="https://desk.example.com/invoices/{invoice}"' in email.html


def test_the_daily_overview_links_the_invoices_to_review_to_their_pages(settings, prefect_server):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.daily_overview import daily_overview

    settings.desk.public_url = "https://desk.example.com"
    invoice = add_invoice("R-1", "[evil](https://evil.example)", status="needs_review", needs_review=True)
    state = daily_overview(today=date(2026, 11, 21), return_state=True)
    with get_client(sync_client=True) as client:
        [artifact] = [a for a in client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]))) if a.type == "markdown"]
    assert f"[invoice {invoice}](https://desk.example.com/invoices/{invoice})" in artifact.data
    assert "](https://evil.example)" not in artifact.data
