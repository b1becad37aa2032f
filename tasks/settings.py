"""The one settings object: read from the environment and `.env`.

Every variable is prefixed ``INVOICES_``; nested groups use a double underscore, for example
``INVOICES_DATABASE__URL`` or ``INVOICES_SMTP__PASSWORD``. `.env.example` documents each one
and a test keeps it in step with this module.
"""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")


class DatabaseSettings(BaseModel):
    """Where invoices, documents and the ledgers live."""

    url: str = Field(
        default="",
        description="SQLAlchemy URL. Empty: a SQLite file at <data_dir>/invoices.db. "
        "PostgreSQL: postgresql+psycopg://user:password@host:5432/invoices",
    )
    echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")


class StorageSettings(BaseModel):
    """The document store and the drop folder."""

    documents_dir: Path | None = Field(
        default=None, description="Content-addressed document store. Empty: <data_dir>/documents."
    )
    inbox_dir: Path | None = Field(
        default=None,
        description="Drop folder watched by ingest-folder; processed/ and quarantine/ live inside "
        "it. Empty: <data_dir>/inbox.",
    )
    max_file_mb: int = Field(default=50, ge=1, description="Larger files are quarantined unread.")
    settle_seconds: float = Field(
        default=2.0,
        ge=0,
        description="A dropped file is taken only once it has not changed for this long "
        "(so a file still being copied is left alone).",
    )
    watch_interval_seconds: float = Field(
        default=1.0, gt=0, description="How often `invoices serve` looks for new files in the inbox."
    )


class OcrSettings(BaseModel):
    """Reading scans and images with tesseract."""

    languages: str = Field(default="eng+deu+fra+nld", description="tesseract language packs, '+'-joined.")
    dpi: int = Field(default=300, ge=72, le=600, description="Resolution pages are rendered at for OCR.")
    max_pages: int = Field(default=50, ge=1, description="Pages read per document; the rest are skipped.")
    max_pixels: int = Field(default=60_000_000, ge=1, description="Images larger than this are refused.")
    page_timeout_seconds: int = Field(default=60, ge=1, description="tesseract time limit per page.")
    document_timeout_seconds: int = Field(
        default=600, ge=1, description="OCR time limit per document; pages not read by then are reported."
    )
    reread_after_minutes: int = Field(
        default=60, ge=1, description="A document whose read has not finished after this long (its run "
        "stopped) is read again by the next intake run; keep it above the OCR time limit per document."
    )
    workers: int = Field(default=0, ge=0, description="Parallel OCR processes; 0 = one per CPU core.")
    review_threshold: float = Field(
        default=0.8, ge=0, le=1, description="Invoices whose confidence is below this need review."
    )


class ImapAccount(BaseModel):
    """One mailbox that is polled for invoices."""

    name: str = Field(description="Short name used in logs, artifacts and the database.")
    host: str
    port: int = 993
    security: Literal["tls", "starttls", "plain"] = "tls"
    user: str
    password: SecretStr = SecretStr("")
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    failed_folder: str = "Failed"
    action: Literal["move", "flag", "seen"] = "move"
    allowed_senders: list[str] = Field(
        default_factory=list,
        description="Take mail only from these addresses or domains (e.g. billing@vendor.com, @vendor.com); "
        "empty: from anyone. Other mail is recorded as skipped and left in place.",
    )
    subject_filters: list[str] = Field(
        default_factory=list,
        description="Take mail only when the subject contains one of these words (case-insensitive); empty: any.",
    )
    ca_file: Path | None = Field(
        default=None,
        description="PEM file of an extra certificate authority to trust (a server with a private certificate). "
        "Certificates are always verified.",
    )


class ImapSettings(BaseModel):
    """Mailbox intake."""

    accounts: list[ImapAccount] = Field(
        default_factory=list,
        description='JSON list of accounts, e.g. [{"name":"billing","host":"imap.example.com",'
        '"user":"billing@example.com","password":"..."}]',
    )
    poll_interval_minutes: int = Field(default=5, ge=1, description="How often poll-mailbox runs.")
    timeout_seconds: int = Field(default=30, ge=1, description="IMAP connection timeout.")
    max_attachment_mb: int = Field(default=20, ge=1, description="Larger attachments are recorded, not stored.")
    min_inline_image_kb: int = Field(default=20, ge=0, description="Smaller inline images (logos) are skipped.")
    max_attempts: int = Field(default=5, ge=1, description="Tries before a message goes to the failed folder.")
    batch_size: int = Field(default=50, ge=1, description="Messages fetched per round trip.")
    retry_backoff_minutes: float = Field(
        default=5, ge=0, description="Wait before retrying a failed message; doubles with every attempt (max. one day)."
    )
    claim_timeout_minutes: int = Field(
        default=30, ge=1,
        description="A message claimed by a poll on another machine that did not finish within this time is taken over.",
    )
    reconnect_attempts: int = Field(
        default=3, ge=0, description="Reconnections after a dropped IMAP connection within one poll."
    )
    max_message_mb: int = Field(
        default=100, ge=1, description="Larger messages are not downloaded; they go to the failed folder."
    )
    max_zip_members: int = Field(default=200, ge=1, description="Zip attachments with more files are not unpacked.")
    max_zip_total_mb: int = Field(default=100, ge=1, description="Most bytes unpacked from one zip attachment.")
    max_zip_ratio: int = Field(
        default=100, ge=1, description="Zip members that expand more than this many times are refused (zip bombs)."
    )


class SmtpSettings(BaseModel):
    """Outgoing email (reminders and alerts)."""

    transport: Literal["outbox", "smtp"] = Field(
        default="outbox",
        description="outbox: write .eml files to <data_dir>/outbox for a person to open; smtp: send.",
    )
    host: str = "localhost"
    port: int = 587
    security: Literal["starttls", "tls", "plain"] = "starttls"
    user: str = ""
    password: SecretStr = SecretStr("")
    sender: str = Field(default="invoices@localhost", description="From: address of every email.")
    timeout_seconds: int = Field(default=30, ge=1, description="Connect and per-command time limit.")
    outbox_dir: Path | None = Field(default=None, description="Empty: <data_dir>/outbox.")
    max_attempts: int = Field(
        default=4, ge=1, description="Tries per email on temporary failures (4xx replies, connection errors)."
    )
    retry_backoff_seconds: float = Field(
        default=2.0, ge=0, description="Wait before the second try; doubled before each further try."
    )
    ca_file: Path | None = Field(
        default=None, description="Extra CA certificate (PEM) trusted for the server's TLS certificate."
    )


class ReminderSettings(BaseModel):
    """When and whom to remind about due and overdue invoices."""

    levels_days: list[int] = Field(
        default_factory=lambda: [-3, 1, 7, 14],
        description="Reminder levels in days relative to the due date (negative: before).",
    )
    repeat_every_days: int = Field(
        default=14, ge=0, description="After the last level, remind again every N days (0: never)."
    )
    quiet_weekdays: list[int] = Field(
        default_factory=lambda: [5, 6], description="Weekdays on which nothing is sent (0=Monday)."
    )
    send_at: time = Field(default=time(8, 0), description="Local time of the daily run.")
    email_customers: bool = Field(
        default=False, description="Also email the customer's contact for receivable invoices."
    )
    templates_dir: Path | None = Field(default=None, description="Folder whose templates override the built-in ones.")
    app_url: str = Field(
        default="http://127.0.0.1:4200", description="Base address used for links in emails."
    )
    document_url: str = Field(
        default="",
        description="Link to an invoice's document in emails; {document_id}, {sha256} and {path} are "
        "filled in, e.g. https://files.example.com/{path}. Empty: a file:// link into the document store.",
    )
    business_name: str = Field(default="", description="Name of the business, shown in customer emails.")
    customer_locale: str = Field(default="en", description="Locale of emails to customers' contacts.")
    claim_timeout_minutes: int = Field(
        default=60,
        ge=0,
        description="A reminder claimed but not marked sent for this long is from a crashed run: it is "
        "reported as uncertain and never resent.",
    )
    retry_failed_runs: int = Field(
        default=3, ge=0, description="Later runs that try again a reminder whose sending failed temporarily."
    )


class BackupSettings(BaseModel):
    """Database and document-store backups."""

    backup_dir: Path | None = Field(default=None, description="Empty: <data_dir>/backups.")
    keep_daily: int = Field(default=7, ge=1, description="Verified backups kept: the newest of each of the last N days.")
    keep_weekly: int = Field(default=4, ge=0, description="... and the newest of each of the last N weeks.")
    keep_monthly: int = Field(default=12, ge=0, description="... and the newest of each of the last N months.")
    pg_dump: str = Field(default="pg_dump", description="pg_dump program (path or name on PATH).")
    pg_restore: str = Field(default="pg_restore", description="pg_restore program (path or name on PATH).")
    run_at: time = Field(default=time(2, 0), description="Local time of the daily backup.")
    scratch_url: str = Field(
        default="",
        description="PostgreSQL database from which verification creates and drops its scratch database "
        "(the user needs CREATEDB). Empty: the `postgres` database of the backed-up server, same user.",
    )
    tool_timeout_minutes: int = Field(default=120, ge=1, description="Time limit of one pg_dump or pg_restore run.")


class WorkbookSettings(BaseModel):
    """Workbook consolidation (import-workbook, consolidate-workbook, export-workbook)."""

    mapping_file: Path | None = Field(
        default=None,
        description="YAML/JSON file with extra header names, status words and per-tab settings "
        "(used when a run names none).",
    )
    max_uncompressed_mb: int = Field(
        default=1024, ge=1, description="Workbooks that expand to more than this are refused (zip bombs)."
    )
    max_compression_ratio: int = Field(
        default=200, ge=10, description="A workbook part that expands more than this many times is refused."
    )
    max_rows: int = Field(
        default=1_048_576, ge=1, description="A tab with a row beyond this (Excel's last row) is refused."
    )
    max_columns: int = Field(
        default=16_384, ge=1, description="A tab with a cell right of this column (Excel's last, XFD) is refused."
    )
    max_cell_characters: int = Field(
        default=32_767, ge=100, description="Longest text a cell may hold (Excel's own limit); a longer one is "
        "refused (a shared string) or rejects its row (a cell in a tab).",
    )
    max_merged_ranges: int = Field(
        default=100_000, ge=1, description="A tab with more merged ranges than this is refused.",
    )
    max_merged_cells: int = Field(
        default=10_000_000, ge=1, description="A tab whose merged ranges would fill more cells than this (counted "
        "in the rows the tab holds) is refused.",
    )
    max_shared_strings: int = Field(
        default=2_000_000, ge=1, description="A workbook with more distinct texts (shared strings) is refused.",
    )
    max_shared_text_mb: int = Field(
        default=128, ge=1, description="A workbook whose distinct texts hold more than this many MB is refused.",
    )


class WorkerSettings(BaseModel):
    """Reading documents in parallel: in the intake's process, or on the work pool's task workers."""

    task_workers: bool = Field(
        default=False,
        description="Intake hands each document to the work pool's task workers (`invoices read-worker`, "
        "compose's worker service) instead of reading it in its own process.",
    )
    documents_at_once: int = Field(
        default=0, ge=0, description="Documents one process reads at the same time; 0 = one per CPU core.",
    )
    claim_lease_seconds: int = Field(
        default=60, ge=3, description="A document being read renews its claim every third of this; one not "
        "renewed for this long (its worker was killed) is handed to another worker.",
    )
    ocr_processes: int = Field(
        default=0, ge=0, description="Prefect global concurrency limit `invoices-ocr`: OCR processes at once "
        "across every worker; 0 = no such limit.",
    )


class PrefectSettings(BaseModel):
    """The Prefect server that schedules, starts and shows every run."""

    api_url: str = Field(
        default="http://127.0.0.1:4200/api",
        description="API of the Prefect server every `invoices` command and `invoices serve` use (`make run` "
        "starts one here); PREFECT_API_URL, in the environment or .env, wins.",
    )
    runner_poll_seconds: int = Field(
        default=1, ge=1, description="How often `invoices serve` asks the server for runs that are due.",
    )


class DeskSettings(BaseModel):
    """The desk: the office's web app for finding, opening, paying and correcting invoices."""

    host: str = Field(default="127.0.0.1", description="Address the desk listens on (0.0.0.0 in a container).")
    port: int = Field(default=8080, ge=1, le=65535, description="Port of the desk (http://127.0.0.1:8080).")
    public_url: str = Field(
        default="http://127.0.0.1:8080",
        description="Address people open the desk at; links in reminder emails and the daily overview start with it.",
    )
    session_hours: float = Field(default=12, gt=0, description="A login lasts this long.")
    secure_cookies: bool = Field(
        default=False,
        description="Always mark the session cookie Secure (it is whenever the desk is reached over HTTPS).",
    )
    trusted_proxies: str = Field(
        default="127.0.0.1",
        description="Comma-separated addresses of proxies whose X-Forwarded-For/-Proto headers are believed.",
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Wrong passwords for one email (or 4x this from one address) before logins wait.",
    )
    login_window_minutes: int = Field(
        default=15, ge=1, description="How long wrong passwords count against logging in.",
    )
    page_size: int = Field(default=50, ge=5, le=500, description="Invoices per page of the list.")
    prefect_ui_url: str = Field(
        default="", description="Prefect UI the desk links runs to. Empty: the Prefect API address without /api.",
    )


class Settings(BaseSettings):
    """Everything the system can be told, with defaults that run on a laptop."""

    model_config = SettingsConfigDict(
        env_prefix="INVOICES_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    data_dir: Path = Field(default=DEFAULT_DATA_DIR, description="Root of every default path.")
    time_zone: str = Field(default="UTC", description="Business time zone (IANA name) for schedules and due dates.")
    admin_emails: list[str] = Field(
        default_factory=list, description="JSON list of addresses that receive failure alerts."
    )
    templates_dir: Path = Field(
        default=Path("templates"), description="Folder of vendor extraction templates (YAML)."
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    ocr: OcrSettings = Field(default_factory=OcrSettings)
    imap: ImapSettings = Field(default_factory=ImapSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    reminders: ReminderSettings = Field(default_factory=ReminderSettings)
    backup: BackupSettings = Field(default_factory=BackupSettings)
    workbook: WorkbookSettings = Field(default_factory=WorkbookSettings)
    workers: WorkerSettings = Field(default_factory=WorkerSettings)
    prefect: PrefectSettings = Field(default_factory=PrefectSettings)
    desk: DeskSettings = Field(default_factory=DeskSettings)

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin") from err
        return value

    @model_validator(mode="after")
    def _fill_paths(self) -> Settings:
        data = self.data_dir
        if not self.database.url:
            self.database.url = f"sqlite:///{(data / 'invoices.db').as_posix()}"
        self.storage.documents_dir = self.storage.documents_dir or data / "documents"
        self.storage.inbox_dir = self.storage.inbox_dir or data / "inbox"
        self.smtp.outbox_dir = self.smtp.outbox_dir or data / "outbox"
        self.backup.backup_dir = self.backup.backup_dir or data / "backups"
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def documents_dir(self) -> Path:
        return Path(self.storage.documents_dir or self.data_dir / "documents")

    @property
    def inbox_dir(self) -> Path:
        return Path(self.storage.inbox_dir or self.data_dir / "inbox")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process (read once; tests call ``get_settings.cache_clear()``)."""
    return Settings()
