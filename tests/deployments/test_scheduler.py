"""Runs that start by themselves: a real `prefect server start` (on its SQLite database as
`make run` starts it, and on PostgreSQL as compose runs it), the deployments registered by
`invoices serve`, and the server's own scheduler creating the runs. Nothing here creates a run:
the test only shortens the scheduler's loop with the server's settings and waits."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import make_url

from tests.support.prefect_server import prefect_server_process, start_serve, stop

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# UTC+05:45: a cron read in any other zone starts a quarter of an hour (or hours) off.
ZONE = "Asia/Kathmandu"
SCHEDULER_ERRORS = ("prefect.server.services.scheduler", "Can't evaluate bulk DML")


def _server_env(request: pytest.FixtureRequest, backend: str, scheduler: bool) -> dict[str, str]:
    env = {
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "true" if scheduler else "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
        "PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS": "1",
    }
    if backend == "postgresql":
        url = request.getfixturevalue("postgres").create(migrated=False)
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = (
            make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
        )
    return env


def _app_env(tmp_path: Path, prefect_env: dict[str, str], **settings: str) -> dict[str, str]:
    """The environment of a user's shell: no PREFECT_API_URL exported, the settings in .env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "INVOICES_"))}
    env["PREFECT_HOME"] = str(tmp_path / "client-home")
    lines = [f"INVOICES_PREFECT__API_URL={prefect_env['PREFECT_API_URL']}",
             f"INVOICES_DATA_DIR={tmp_path / 'data'}", f"INVOICES_TIME_ZONE={ZONE}",
             *[f"INVOICES_{k.upper()}={v}" for k, v in settings.items()]]
    (tmp_path / ".env").write_text("\n".join(lines) + "\n")
    return env


def _invoices(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "invoices"), *args], cwd=tmp_path, env={**env, "COLUMNS": "250"},
                          capture_output=True, text=True, timeout=300)


def _client(prefect_env: dict[str, str]):  # type: ignore[no-untyped-def]
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    class _Client:
        def __enter__(self):  # type: ignore[no-untyped-def]
            self.settings = temporary_settings({PREFECT_API_URL: prefect_env["PREFECT_API_URL"]})
            self.settings.__enter__()
            self.client = get_client(sync_client=True).__enter__()
            return self.client

        def __exit__(self, *exc):  # type: ignore[no-untyped-def]
            self.client.__exit__(*exc)
            self.settings.__exit__(*exc)

    return _Client()


def _runs_of(client, name: str) -> list:  # type: ignore[no-untyped-def]
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    return client.read_flow_runs(deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[name])))


def _wait(what: str, found, seconds: float, server_log: Path, serve_log: Path):  # type: ignore[no-untyped-def]
    """Poll ``found()`` until it returns something; fail at once on a scheduler error in the log."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        log = server_log.read_text(errors="replace")
        broken = [line for line in log.splitlines() if any(e in line for e in SCHEDULER_ERRORS)]
        assert not broken, f"the scheduler fails while waiting for {what}: {broken[:3]}\n{log[-3000:]}"
        result = found()
        if result:
            return result
        time.sleep(1)
    raise AssertionError(f"{what}: not within {seconds} s\nserve:\n{serve_log.read_text()[-3000:]}\n"
                         f"server:\n{server_log.read_text()[-2000:]}")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_servers_scheduler_starts_a_cron_and_an_interval_run_by_itself(request, backend, tmp_path):
    home = tmp_path / "prefect"
    home.mkdir()
    with prefect_server_process(home, _server_env(request, backend, scheduler=True)) as prefect_env:
        # The daily reminder run two minutes from now, in the business time zone, and the
        # mailbox poll every minute.
        now = datetime.now(ZoneInfo(ZONE))
        send_at = (now + timedelta(seconds=75)).replace(second=0, microsecond=0) + timedelta(minutes=1)
        env = _app_env(tmp_path, prefect_env, reminders__send_at=send_at.strftime("%H:%M"),
                       imap__poll_interval_minutes="1")
        migrated = _invoices(tmp_path, env, "db", "upgrade")
        assert migrated.returncode == 0, migrated.stderr
        serve_log = tmp_path / "serve.log"
        serve = start_serve(env, serve_log, tmp_path)
        server_log = home / "server.log"
        try:
            with _client(prefect_env) as client:
                cron_run = _wait(
                    "the scheduler's send-reminders run at the business time",
                    lambda: [r for r in _runs_of(client, "send-reminders") if r.auto_scheduled
                             and r.expected_start_time == send_at.astimezone(timezone.utc)],
                    240, server_log, serve_log)[0]
                assert cron_run.parameters == {"dry_run": False}  # the schedule's own parameters

                doctor = _invoices(tmp_path, env, "doctor", "--only", "prefect,scheduler")
                assert doctor.returncode == 0, doctor.stdout + doctor.stderr
                assert "ok   scheduler: every active schedule has upcoming runs" in doctor.stdout
                assert f"send-reminders {send_at:%Y-%m-%d %H:%M} {ZONE}" in doctor.stdout

                def finished(name: str, run_id=None):  # type: ignore[no-untyped-def]
                    return [r for r in _runs_of(client, name) if r.auto_scheduled and r.state.is_final()
                            and (run_id is None or r.id == run_id)]

                interval_run = _wait("a scheduled poll-mailbox run that finished",
                                     lambda: finished("poll-mailbox"), 180, server_log, serve_log)[0]
                assert interval_run.state.is_completed(), interval_run.state
                cron_done = _wait("the scheduled send-reminders run, finished",
                                  lambda: finished("send-reminders", cron_run.id), 240, server_log, serve_log)[0]
                assert cron_done.state.is_completed(), cron_done.state
                for run in (interval_run, cron_done):
                    started = (run.start_time - run.expected_start_time).total_seconds()
                    print(f"{backend}: {run.name} started {started:.1f} s after its scheduled time")
        finally:
            stop(serve)
        log = server_log.read_text(errors="replace")
        assert not [line for line in log.splitlines() if any(e in line for e in SCHEDULER_ERRORS)], log[-3000:]


def test_doctor_names_the_deployments_whose_schedules_get_no_runs(request, tmp_path):
    """A server whose scheduler creates nothing looks healthy; the scheduler check says which
    deployments will never run by themselves."""
    from tasks.operations.schedule_health import JUST_REGISTERED, schedule_health

    home = tmp_path / "prefect"
    home.mkdir()
    with prefect_server_process(home, _server_env(request, "sqlite", scheduler=False)) as prefect_env:
        env = _app_env(tmp_path, prefect_env)
        assert _invoices(tmp_path, env, "db", "upgrade").returncode == 0
        serve_log = tmp_path / "serve.log"
        serve = start_serve(env, serve_log, tmp_path)
        try:
            with _client(prefect_env) as client:
                _wait("the served deployments", lambda: len(client.read_deployments()) >= 9, 240,
                      home / "server.log", serve_log)
                now = datetime.now(timezone.utc)
                assert schedule_health(now).ok  # just registered: the scheduler may not have had its turn
                later = schedule_health(now + JUST_REGISTERED + timedelta(seconds=1))
            doctor = _invoices(tmp_path, env, "doctor", "--only", "prefect")
        finally:
            stop(serve)
    assert not later.ok
    for name in ("send-reminders", "backup", "poll-mailbox", "daily-overview", "ingest-folder"):
        assert name in later.detail
    assert "mark-paid" not in later.detail  # no schedule, nothing expected
    assert "server's log" in later.fix
    assert doctor.returncode == 0 and "is healthy" in doctor.stdout  # which is why the scheduler check exists
