"""The production files agree with the code: docker-compose.yml with the settings, prefect.yaml
with the deployments that `invoices serve` serves."""

import re
from pathlib import Path

import yaml

from deployments.envdoc import variables
from deployments.registry import deployment_specs
from tasks.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_services_with_health_checks():
    services = _compose()["services"]
    assert {"postgres", "prefect-server", "worker"} <= set(services)
    for name in ("postgres", "prefect-server", "worker"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert services["worker"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["worker"]["depends_on"]["prefect-server"]["condition"] == "service_healthy"
    assert services["worker"]["build"] == "."


def test_the_compose_prefect_server_runs_the_locked_versions_the_scheduler_test_ran():
    """A stock Prefect image carries whatever SQLAlchemy was newest when it was built; Prefect 3.8's
    scheduler fails on every tick with 2.1. The server is built from the project's image."""
    services = _compose()["services"]
    assert services["prefect-server"].get("build") == "."
    assert services["prefect-server"]["image"] == services["worker"]["image"]
    assert services["prefect-server"]["command"][:3] == ["prefect", "server", "start"]


def test_compose_volumes_are_named_and_hold_database_documents_and_backups():
    compose = _compose()
    declared = set(compose["volumes"])
    assert {"pgdata", "documents", "backups"} <= declared
    used = set()
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                used.add(source)
    assert used == declared
    worker = compose["services"]["worker"]
    env = worker["environment"]
    mounts = {v.split(":")[1] for v in worker["volumes"]}
    assert env["INVOICES_STORAGE__DOCUMENTS_DIR"] in mounts
    assert env["INVOICES_BACKUP__BACKUP_DIR"] in mounts


def test_compose_environment_names_real_settings_and_holds_no_literal_secret():
    known = {v.name for v in variables()}
    text = (ROOT / "docker-compose.yml").read_text()
    for service in _compose()["services"].values():
        for name in service.get("environment", {}):
            if name.startswith("INVOICES_"):
                assert name in known, f"{name} is not a setting"
    assert "postgresql+psycopg://" in _compose()["services"]["worker"]["environment"]["INVOICES_DATABASE__URL"]
    for match in re.finditer(r"(PASSWORD|AUTH_STRING)\w*:\s*(\S+)", text):
        assert match.group(2).startswith("${"), f"literal secret in compose: {match.group(0)}"


def test_dockerfile_installs_tesseract_with_every_configured_language():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "tesseract-ocr " in dockerfile
    for language in Settings(_env_file=None).ocr.languages.split("+"):
        assert f"tesseract-ocr-{language}" in dockerfile
    assert "pg_dump" in dockerfile or "postgresql-client" in dockerfile


def test_prefect_yaml_declares_what_invoices_serve_serves():
    declared = {d["name"]: d for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]}
    specs = {s.name: s for s in deployment_specs(Settings(_env_file=None))}
    assert set(declared) == set(specs)
    for name, spec in specs.items():
        deployment = declared[name]
        assert deployment["entrypoint"] == spec.entrypoint
        crons = [s["cron"] for s in deployment.get("schedules", []) if "cron" in s]
        assert crons == ([spec.cron] if spec.cron else []), name
        intervals = [s["interval"] for s in deployment.get("schedules", []) if "interval" in s]
        assert intervals == ([spec.interval_seconds] if spec.interval_seconds else []), name
        for schedule in deployment.get("schedules", []):
            assert schedule.get("timezone") == "{{ $INVOICES_TIME_ZONE }}", f"{name}: not in the business time zone"
            assert schedule.get("parameters", {}) == spec.schedule_parameters, name
        assert deployment.get("parameters", {}) == spec.parameters, name
        limit = deployment.get("concurrency_limit")
        assert (limit["limit"] if limit else None) == spec.concurrency, name
        assert deployment["work_pool"]["name"] == "invoices"
        spec.load_flow()  # the entrypoint imports


def test_prefect_yaml_holds_no_secret():
    text = (ROOT / "prefect.yaml").read_text().lower()
    assert "password" not in text and "secret" not in text.replace("no secret", "")
