"""Home: what needs a person today, and the flows' last runs from the Prefect server."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from db.models import Document
from db.session import session_scope
from tests.support.desk import add_invoice


def test_home_lists_reviews_overdue_sums_due_soon_and_unread_documents(desk):
    desk.person("ann@example.com")
    today = date.today()
    add_invoice("R-1", "Review Me", status="needs_review", needs_review=True, review_reasons=["total unclear"],
                due_date=today + timedelta(days=60))
    add_invoice("O-1", "Late Ltd", total=Decimal("100.00"), due_date=today - timedelta(days=3))
    add_invoice("O-2", "Later Ltd", total=Decimal("50.25"), due_date=today - timedelta(days=30))
    add_invoice("O-3", "Dollar Inc", total=Decimal("70.00"), currency="USD", due_date=today - timedelta(days=1))
    add_invoice("S-1", "Soon GmbH", total=Decimal("9.99"), due_date=today + timedelta(days=4))
    add_invoice("F-1", "Far GmbH", total=Decimal("9.99"), due_date=today + timedelta(days=40))
    with session_scope() as session:
        session.add(Document(sha256="d" * 64, size_bytes=3, kind="pdf", mime_type="application/pdf",
                             storage_path="dd/" + "d" * 64, original_name="broken.pdf", status="failed",
                             error="the PDF is damaged: no pages"))
    client = desk.login("ann@example.com")
    page = client.get("/").text
    assert "Review Me" in page and "total unclear" in page
    assert "€150.25" in page and "$70.00" in page  # overdue, per currency
    assert "Soon GmbH" in page and "Far GmbH" not in page
    assert "broken.pdf" in page and "the PDF is damaged" in page and "/retry" in page


def test_the_runs_part_says_so_when_the_prefect_server_is_away(desk, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    desk.person("ann@example.com")
    client = desk.login("ann@example.com")
    part = client.get("/home/runs", headers={"HX-Request": "true"})
    assert part.status_code == 200 and "did not answer" in part.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_last_run_of_each_flow_links_to_the_prefect_ui(desk, live_prefect, monkeypatch):
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.states import Completed, Scheduled

    from deployments.registry import deployment_specs
    from deployments.serve import build_deployments

    api = live_prefect["PREFECT_API_URL"]
    monkeypatch.setenv("PREFECT_API_URL", api)
    desk.person("ann@example.com")
    with temporary_settings({PREFECT_API_URL: api}), SyncPrefectClient(api) as client:
        for deployment in build_deployments(desk.settings, deployment_specs(desk.settings)):
            if deployment.name == "daily-overview":
                deployment_id = deployment.apply()
        run = client.create_flow_run_from_deployment(deployment_id)
        client.set_flow_run_state(run.id, Completed(), force=True)
        upcoming = client.create_flow_run_from_deployment(  # the schedule's next run is no last run
            deployment_id, state=Scheduled(scheduled_time=datetime.now(timezone.utc) + timedelta(hours=3)))
    part = desk.login("ann@example.com").get("/home/runs", headers={"HX-Request": "true"}).text
    assert "daily-overview" in part and "Completed" in part
    assert f"{api.removesuffix('/api')}/runs/flow-run/{run.id}" in part and str(upcoming.id) not in part
