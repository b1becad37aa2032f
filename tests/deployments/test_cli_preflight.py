"""Every command finds the system's Prefect server by itself and never starts one of its own;
a command that cannot work says why and how to fix it before it starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKBOOK = ROOT / "tests" / "data" / "workbooks" / "invoices-2024.xlsx"


def _invoices(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`invoices ...` from a user's shell in ``tmp_path``: nothing of Prefect's exported."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("INVOICES_", "PREFECT_"))}
    environment.update({"INVOICES_DATA_DIR": str(tmp_path / "data"), "PREFECT_HOME": str(tmp_path / "prefect"),
                        "COLUMNS": "250", **env})
    return subprocess.run([str(Path(sys.executable).with_name("invoices")), *args], cwd=tmp_path,
                          env=environment, capture_output=True, text=True, timeout=120)


def test_with_nothing_set_the_local_server_of_make_run_is_the_one_looked_for(tmp_path):
    result = _invoices(tmp_path, {"INVOICES_PREFECT__API_URL": "http://127.0.0.1:1/api"}, "doctor", "--only", "prefect")
    assert "no Prefect server answers at http://127.0.0.1:1/api" in result.stdout
    default = _invoices(tmp_path, {}, "doctor", "--only", "prefect")
    assert "http://127.0.0.1:4200/api" in default.stdout
    assert "PREFECT_API_URL is not set" not in default.stdout


def test_a_prefect_api_url_in_dotenv_is_used(tmp_path):
    (tmp_path / ".env").write_text("PREFECT_API_URL=http://127.0.0.1:2/api\n")
    result = _invoices(tmp_path, {}, "doctor", "--only", "prefect")
    assert "no Prefect server answers at http://127.0.0.1:2/api" in result.stdout


def test_a_flow_command_without_a_server_says_so_and_starts_none(tmp_path):
    assert _invoices(tmp_path, {}, "db", "upgrade").returncode == 0
    result = _invoices(tmp_path, {"INVOICES_PREFECT__API_URL": "http://127.0.0.1:1/api"},
                       "import-workbook", str(WORKBOOK))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no Prefect server answers at http://127.0.0.1:1/api" in result.stderr
    assert "make run" in result.stderr
    assert "temporary server" not in (result.stdout + result.stderr).lower()
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "prefect" / "prefect.db").exists()  # no throw-away server's database


def test_a_command_on_a_database_that_is_not_migrated_says_how_to_fix_it(tmp_path):
    for command in (["import-workbook", str(WORKBOOK)], ["user", "list"], ["export-workbook", "out.xlsx"]):
        result = _invoices(tmp_path, {}, *command)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert "invoices db upgrade" in result.stderr, command
        assert "no such table" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "invoices.db").exists()  # nothing created by asking
