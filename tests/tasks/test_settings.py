from pathlib import Path

import pytest
from pydantic import ValidationError

from deployments.envdoc import env_example, variables
from tasks.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_env_example_documents_every_setting():
    assert (ROOT / ".env.example").read_text() == env_example(), "run: python -m deployments.envdoc > .env.example"


def test_defaults_need_no_set_up(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None)
    assert settings.database.url == "sqlite:///data/invoices.db"
    assert settings.documents_dir == Path("data/documents")
    assert settings.inbox_dir == Path("data/inbox")
    assert settings.smtp.transport == "outbox"


def test_environment_and_dotenv_are_read_and_secrets_stay_hidden(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("INVOICES_SMTP__PASSWORD=hunter2-from-dotenv\nINVOICES_TIME_ZONE=Europe/Berlin\n")
    monkeypatch.setenv("INVOICES_DATABASE__URL", "postgresql+psycopg://app@db:5432/invoices")
    monkeypatch.setenv(
        "INVOICES_IMAP__ACCOUNTS",
        '[{"name": "billing", "host": "imap.example.com", "user": "b@example.com", "password": "pw-123456"}]',
    )
    settings = Settings()
    assert settings.database.url.startswith("postgresql+psycopg://")
    assert settings.time_zone == "Europe/Berlin"
    assert settings.smtp.password.get_secret_value() == "hunter2-from-dotenv"
    assert settings.imap.accounts[0].password.get_secret_value() == "pw-123456"
    shown = repr(settings) + str(settings.model_dump())
    assert "hunter2" not in shown and "pw-123456" not in shown


def test_a_wrong_time_zone_is_named(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INVOICES_TIME_ZONE", "Mars/Olympus")
    with pytest.raises(ValidationError, match="Mars/Olympus"):
        Settings()


def test_every_secret_is_a_secret_str():
    names = {v.name for v in variables() if v.secret}
    assert {"INVOICES_SMTP__PASSWORD"} <= names


def test_readme_configuration_reference_is_current():
    from deployments.readme import README, with_reference

    text = README.read_text()
    assert with_reference(text) == text, "run: python -m deployments.readme"
