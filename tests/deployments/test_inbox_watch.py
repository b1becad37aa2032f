"""`invoices serve` watching the drop folder, against a real Prefect server: a dropped file is
read by a run of the ingest-folder deployment that the serving process executes itself, and a
run an earlier serve left unfinished is marked crashed when serve starts again."""

from __future__ import annotations

import json
import shutil
import socket
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import Document, Invoice
from db.session import session_scope
from tests.support.prefect_server import serve_env, start_serve, stop

ROOT = Path(__file__).resolve().parents[2]
PDF = ROOT / "tests" / "data" / "corpus" / "002-en-en_GB.pdf"


def _invoice_read(name: str) -> Invoice | None:
    with session_scope() as session:
        return session.scalars(select(Invoice).join(Document, Document.id == Invoice.document_id)
                               .where(Document.original_name == name)).first()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_dropped_file_is_read_by_a_run_of_the_deployment_and_unfinished_runs_are_crashed(
        live_prefect, settings, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.states import Running

    from deployments.serve import WATCH_TAG
    from flows.ingest_folder import ingest_folder

    with temporary_settings({PREFECT_API_URL: live_prefect["PREFECT_API_URL"]}), \
            get_client(sync_client=True) as client:
        # What a serve killed during a run leaves behind: a run of this machine's, still running.
        left = client.create_flow_run(ingest_folder, tags=[WATCH_TAG, f"served-by:{socket.gethostname()}"],
                                      state=Running())
        log = tmp_path / "serve.log"
        serve = start_serve(serve_env(live_prefect), log, ROOT)
        try:
            deadline = time.monotonic() + 240
            while not client.read_flow_run(left.id).state.is_crashed():
                assert time.monotonic() < deadline and serve.poll() is None, log.read_text()[-3000:]
                time.sleep(1)
            while "ingest-folder" not in {d.name for d in client.read_deployments()}:
                assert time.monotonic() < deadline and serve.poll() is None, log.read_text()[-3000:]
                time.sleep(1)

            inbox = settings.inbox_dir
            inbox.mkdir(parents=True, exist_ok=True)
            shutil.copy(PDF, inbox / "dropped invoice.pdf")
            deadline = time.monotonic() + 120
            while (invoice := _invoice_read("dropped invoice.pdf")) is None:
                assert time.monotonic() < deadline and serve.poll() is None, log.read_text()[-3000:]
                time.sleep(0.2)
            assert invoice.number == json.loads(PDF.with_suffix(".json").read_text())["invoice_number"]

            runs = client.read_flow_runs(deployment_filter=DeploymentFilter(
                name=DeploymentFilterName(any_=["ingest-folder"])))
            watched = [r for r in runs if WATCH_TAG in r.tags]
            assert len(watched) == 1, [(r.name, r.tags, r.state_name) for r in runs]
            deadline = time.monotonic() + 60
            while not (run := client.read_flow_run(watched[0].id)).state.is_final():
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.5)
            assert run.state.is_completed(), run.state
            assert not [r for r in runs if r.id != run.id and r.state and r.state.is_running()]
        finally:
            stop(serve)
    assert "marked crashed" in log.read_text()
    assert (inbox / "processed").is_dir() and not (inbox / "dropped invoice.pdf").exists()
