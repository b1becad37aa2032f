"""End to end, as a user runs it: a real Prefect server, the deployments served by
`invoices serve` and declared by `prefect deploy --all`, a run triggered through the API
exactly as the UI does, and its effect in the database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from db.models import Invoice
from db.session import session_scope
from deployments.registry import deployment_specs
from tasks.invoices.records import upsert_invoice
from tests.support.prefect_server import serve_env, start_serve, stop

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _with_env(env: dict[str, str]):
    """Run the Prefect client in this process against the live server."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    return temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]})


async def _deployments() -> dict[str, object]:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return {d.name: d for d in await client.read_deployments()}


def _wait_for_deployments(names: set[str], serve: subprocess.Popen, log: Path, seconds: float = 300) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if serve.poll() is not None:
            raise RuntimeError(f"invoices serve exited: {log.read_text()[-3000:]}")
        found = asyncio.run(_deployments())
        if names <= set(found):
            return found
        time.sleep(1)
    raise RuntimeError(f"deployments not served in time: {log.read_text()[-3000:]}")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_serve_then_trigger_mark_paid_through_the_api(live_prefect, settings, tmp_path):
    with session_scope() as session:
        invoice_id = upsert_invoice(
            session, "ACME GmbH", "E2E-1",
            {"total": Decimal("100.00"), "currency": "EUR", "due_date": date(2026, 11, 1), "source": "manual"},
            actor="test",
        ).invoice_id
    log = tmp_path / "serve.log"
    serve = start_serve(serve_env(live_prefect), log, ROOT)
    try:
        with _with_env(live_prefect):
            names = {spec.name for spec in deployment_specs(settings)}
            found = _wait_for_deployments(names, serve, log)
            scheduled = [n for n, d in found.items() if d.schedules]
            assert {"ingest-folder", "daily-overview"} <= set(scheduled)

            from prefect.client.orchestration import get_client
            from prefect.deployments import run_deployment

            run = run_deployment(
                "mark-paid/mark-paid",
                parameters={"invoice_number": "E2E-1", "amount": "40.00", "recorded_by": "e2e"},
                timeout=300,
            )
            assert run.state is not None and run.state.is_completed(), (run.state, log.read_text()[-3000:])

            async def artifacts():
                from prefect.client.schemas.filters import (
                    ArtifactFilter,
                    ArtifactFilterFlowRunId,
                )

                async with get_client() as client:
                    return await client.read_artifacts(
                        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
                    )

            made = asyncio.run(artifacts())
            assert [a.key for a in made] == ["mark-paid"]
            assert "partially_paid" in str(made[0].data)
    finally:
        stop(serve)
    with session_scope() as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice.status == "partially_paid" and invoice.paid_amount == Decimal("40.00")


def test_prefect_deploy_all_registers_every_deployment_with_its_schedule(live_prefect, tmp_path):
    env = {**live_prefect, "INVOICES_APP_DIR": str(ROOT), "INVOICES_TIME_ZONE": "Europe/Berlin",
           "INVOICES_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run([str(BIN / "invoices"), "deploy"],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with _with_env(live_prefect):
        found = asyncio.run(_deployments())
    from tasks.settings import Settings

    specs = deployment_specs(Settings(_env_file=None))
    for spec in specs:
        deployment = found[spec.name]
        assert deployment.work_pool_name == "invoices"
        if spec.cron:
            crons = [s.schedule.cron for s in deployment.schedules]
            assert spec.cron in crons, (spec.name, crons)
            assert {s.schedule.timezone for s in deployment.schedules} == {"Europe/Berlin"}
        for schedule in deployment.schedules:
            assert (schedule.parameters or {}) == spec.schedule_parameters, spec.name
        if spec.concurrency:
            assert deployment.global_concurrency_limit is not None, spec.name
            assert deployment.global_concurrency_limit.limit == spec.concurrency


def _processes_with(variable: str) -> list[int]:
    """Pids of the processes whose environment holds ``variable`` (``NAME=value``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if variable.encode() in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_ctrl_c_stops_everything_make_run_started_even_when_its_output_goes_through_tee(tmp_path):
    """Ctrl-C reaches the whole foreground group, `tee` included: the script must still stop the
    Prefect server and `invoices serve` (its farewell line went to the closed pipe and killed it)."""
    import signal

    from tests.support.prefect_server import free_port

    marker = f"INVOICES_RUN_TEST={tmp_path.name}"
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "INVOICES_"))},
           "INVOICES_RUN_TEST": tmp_path.name, "INVOICES_DATA_DIR": str(tmp_path / "data"),
           "PREFECT_HOME": str(tmp_path / "prefect"),
           "INVOICES_PREFECT__API_URL": f"http://127.0.0.1:{port}/api"}
    log = tmp_path / "run.log"
    # A terminal's foreground group, where Ctrl-C is not ignored (a test run started in the
    # background inherits SIGINT ignored, and a shell cannot trap a signal ignored at its start).
    shell = subprocess.Popen(["bash", "-c", f"deployments/run-local.sh 2>&1 | tee {log}"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, start_new_session=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 300
        while "deployments" not in (log.read_text() if log.exists() else "").split("Prefect UI:")[-1]:
            assert shell.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(1)
        started = _processes_with(marker)
        assert len(started) >= 4, started  # the shell, the script, the Prefect server, invoices serve
        os.killpg(shell.pid, signal.SIGINT)
        shell.wait(timeout=60)
        deadline = time.monotonic() + 60
        while _processes_with(marker) and time.monotonic() < deadline:
            time.sleep(1)
        assert _processes_with(marker) == [], log.read_text()[-2000:]
    finally:
        for pid in _processes_with(marker):
            os.kill(pid, signal.SIGKILL)
