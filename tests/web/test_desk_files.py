"""The desk's files agree with the rest: compose's web service, `make run` starting it, every
asset served from the project (htmx vendored with its licence, nothing from a CDN)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tasks.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"


def test_compose_runs_the_desk_on_this_machine_with_a_health_check():
    web = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]
    assert web["command"] == ["invoices", "desk"] and web["build"] == "."
    assert web["ports"] == ["127.0.0.1:${WEB_PORT:-8080}:8080"]
    assert web["environment"]["INVOICES_DESK__PORT"] == "8080" and "/health" in " ".join(web["healthcheck"]["test"])
    assert web["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_make_run_starts_the_desk_and_says_where_to_log_in():
    script = (ROOT / "deployments" / "run-local.sh").read_text()
    assert 'setsid "$BIN/invoices" desk &' in script and 'stop_group "$desk_pid"' in script
    assert "create the first admin" in script
    assert Settings().desk.port == 8080


def test_every_asset_is_served_by_the_desk_itself():
    assert (WEB / "static" / "htmx.min.js").stat().st_size > 10_000
    assert "Zero-Clause BSD" in (WEB / "static" / "htmx.LICENSE").read_text()
    for template in (WEB / "templates").glob("*.html"):
        text = template.read_text()
        for match in re.finditer(r'(?:src|href)="([^"]+)"', text):
            assert not re.match(r"(https?:)?//", match.group(1)), f"{template.name} loads {match.group(1)}"
