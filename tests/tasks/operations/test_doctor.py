import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _doctor(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("INVOICES_", "PREFECT_API"))}
    environment.update({"INVOICES_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200", **env})
    return subprocess.run(
        [str(Path(sys.executable).with_name("invoices")), "doctor", *args],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120,
    )


def test_a_wrong_database_url_is_named_with_the_fix(tmp_path):
    result = _doctor(
        tmp_path,
        {"INVOICES_DATABASE__URL": "postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:1/nope"},
        "--only", "database",
    )
    assert result.returncode == 1
    assert "FAIL database: cannot connect to postgresql+psycopg://postgres:***@127.0.0.1:1/nope" in result.stdout
    assert "INVOICES_DATABASE__URL" in result.stdout
    assert "s3cret-pw" not in result.stdout + result.stderr


def test_an_unmigrated_database_asks_for_db_upgrade(tmp_path):
    result = _doctor(tmp_path, {}, "--only", "database,storage")
    assert result.returncode == 1
    assert "invoices db upgrade" in result.stdout
    assert "ok   storage" in result.stdout


def test_a_machine_without_tesseract_is_told_so(tmp_path):
    bare_path = tmp_path / "bin"
    bare_path.mkdir()
    result = _doctor(tmp_path, {"PATH": str(bare_path)}, "--only", "tesseract")
    assert result.returncode == 1
    assert "tesseract is not installed" in result.stdout


def test_tesseract_and_its_language_packs_are_found(tmp_path):
    result = _doctor(tmp_path, {}, "--only", "tesseract")
    assert result.returncode == 0, result.stdout
    assert "eng+deu+fra+nld" in result.stdout


def test_an_unreachable_prefect_api_is_reported(tmp_path):
    result = _doctor(tmp_path, {"PREFECT_API_URL": "http://127.0.0.1:1/api"}, "--only", "prefect")
    assert result.returncode == 1
    assert "no Prefect server answers at http://127.0.0.1:1/api" in result.stdout and "make run" in result.stdout
