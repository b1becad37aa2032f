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


def _built_here(compose: dict) -> dict[str, dict]:
    return {name: s for name, s in compose["services"].items() if s.get("build") == "."}


def test_compose_publishes_the_prefect_server_on_this_machine_only():
    services = _compose()["services"]
    assert "127.0.0.1:${PREFECT_PORT:-4200}:4200" in services["prefect-server"]["ports"]
    for name, service in services.items():
        if "proxy" in service.get("profiles", []):
            continue
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_the_optional_proxy_serves_the_prefect_server_with_tls_for_its_site_address():
    proxy = _compose()["services"]["proxy"]
    assert proxy["profiles"] == ["proxy"] and proxy["image"].startswith("caddy:")
    assert {"443:443", "80:80"} <= set(proxy["ports"])  # 80: the certificate challenge and the redirect
    assert proxy["environment"]["PROXY_SITE_ADDRESS"].startswith("${PROXY_SITE_ADDRESS")
    mounts = {v.split(":")[0]: v.split(":")[1] for v in proxy["volumes"]}
    assert mounts["./deployments/compose/Caddyfile"] == "/etc/caddy/Caddyfile"
    assert mounts["caddy_data"] == "/data"  # the certificates and ACME account survive a restart
    caddyfile = (ROOT / "deployments/compose/Caddyfile").read_text()
    lines = [line.strip() for line in caddyfile.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert lines[0].startswith("{$PROXY_SITE_ADDRESS") and lines[0].endswith("{")
    assert "reverse_proxy prefect-server:4200" in lines
    assert not any(line.startswith(("http://", ":80")) for line in lines)  # never served over plain HTTP
    assert "{$PROXY_TLS" in caddyfile


def _database_url(value: str) -> tuple[str, str, str]:
    match = re.fullmatch(r"postgresql\+\w+://([^:@]+):(\$\{[^}]+\})@postgres:5432/(\w+)", value)
    assert match, f"not a URL with its password from .env: {value}"
    return match.group(1), match.group(2), match.group(3)


def test_the_application_and_prefect_connect_with_their_own_non_superuser_roles():
    services = _compose()["services"]
    postgres = services["postgres"]["environment"]
    superuser = postgres["POSTGRES_USER"]
    app_user, app_password, app_db = _database_url(services["worker"]["environment"]["INVOICES_DATABASE__URL"])
    prefect_user, prefect_password, prefect_db = _database_url(
        services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"])
    assert (app_user, app_db) == ("invoices", "invoices") and (prefect_user, prefect_db) == ("prefect", "prefect")
    assert superuser not in (app_user, prefect_user)
    for password in (app_password, prefect_password):
        assert "POSTGRES_PASSWORD" not in password
    assert app_password != prefect_password
    text = (ROOT / "docker-compose.yml").read_text()
    assert "POSTGRES_PASSWORD}@" not in text and "POSTGRES_PASSWORD:" not in text.replace(
        "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?", "")
    for variable in ("APP_DB_PASSWORD", "PREFECT_DB_PASSWORD"):  # the init script reads them
        assert postgres[variable].startswith("${" + variable + ":?")


def test_the_init_script_creates_each_role_with_only_the_rights_it_needs():
    script = (ROOT / "deployments/compose/postgres-init.sh").read_text()
    mounted = _compose()["services"]["postgres"]["volumes"]
    assert any(v.startswith("./deployments/compose/postgres-init.sh:/docker-entrypoint-initdb.d/") for v in mounted)
    roles = {m.group(1): m.group(2).split() for m in re.finditer(r"CREATE ROLE (\w+) (.*?);", script)}
    assert set(roles) == {"invoices", "prefect"}
    for name, options in roles.items():
        assert {"LOGIN", "NOSUPERUSER", "NOCREATEROLE", "NOREPLICATION"} <= set(options), name
        assert options[-2:] == ["PASSWORD", f":'{'app' if name == 'invoices' else 'prefect'}_password'"], name
    assert "CREATEDB" in roles["invoices"]  # backup verification creates and drops its scratch database
    assert "NOCREATEDB" in roles["prefect"]
    assert "CREATE DATABASE invoices OWNER invoices;" in script
    assert "CREATE DATABASE prefect OWNER prefect;" in script
    assert '-v app_password="$APP_DB_PASSWORD"' in script and '-v prefect_password="$PREFECT_DB_PASSWORD"' in script
    assert "<<'SQL'" in script  # the shell expands nothing inside: psql quotes the passwords itself
    assert "SUPERUSER" not in script.replace("NOSUPERUSER", "")
    assert "GRANT" not in script


def test_every_volume_path_exists_in_the_image_and_belongs_to_the_worker():
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    assert re.search(r"useradd [^&]*--uid 1000 app", dockerfile)
    assert re.search(r"^USER app$", dockerfile, re.MULTILINE)
    made = {p for m in re.finditer(r"mkdir -p ((?:/\S+ ?)+)", dockerfile) for p in m.group(1).split()}
    owned = {p for m in re.finditer(r"chown (?:-R )?app:app ((?:/\S+ ?)+)", dockerfile) for p in m.group(1).split()}
    for name, service in _built_here(_compose()).items():
        for volume in service.get("volumes", []):
            path = volume.split(":")[1]
            assert path in made, f"{name} mounts {path}, which the image does not create"
            assert path in owned, f"{name} mounts {path}, which does not belong to uid 1000 in the image"
    worker = _compose()["services"]["worker"]
    for key in ("INVOICES_STORAGE__DOCUMENTS_DIR", "INVOICES_STORAGE__INBOX_DIR", "INVOICES_BACKUP__BACKUP_DIR"):
        assert worker["environment"][key] in made
