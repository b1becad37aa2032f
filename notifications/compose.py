"""Email composition: Jinja2 templates to a text and an HTML part, formatted for a locale.

Every email is three templates: ``<name>.subject.txt``, ``<name>.txt`` and ``<name>.html``.
A locale-specific variant (``<name>.de.html``, ``<name>.de_DE.html``) wins over the plain one,
and a file of the same name in ``settings.reminders.templates_dir`` wins over the built-in
templates in ``notifications/templates/``, so a business can reword any email without code.

HTML is autoescaped (a counterparty called ``<script>`` shows as text); a template that uses a
variable it was not given fails loudly (StrictUndefined) instead of sending a blank. Amounts and
dates go through the ``money``, ``number`` and ``day`` filters, formatted with babel for the
recipient's locale.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from email_validator import EmailNotValidError, validate_email
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

from tasks.errors import NotificationError

logger = logging.getLogger(__name__)

BUILTIN_TEMPLATES = Path(__file__).with_name("templates")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def parse_locale(value: str | None, fallback: str = "en") -> Locale:
    """A babel Locale for ``value`` ("de", "de_DE", "de-DE"); unknown or empty: ``fallback``."""
    try:
        return Locale.parse((value or fallback).replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        logger.warning("unknown locale %r; formatting for %r", value, fallback)
        return Locale.parse(fallback)


def _locale_of(context: Context) -> Locale:
    value = context.get("locale")
    return value if isinstance(value, Locale) else parse_locale(str(value or "en"))


@pass_context
def _money(context: Context, amount: Decimal | int | float | None, currency: str | None = None) -> str:
    if amount is None:
        return "–"
    code = (currency or "EUR").upper()
    try:
        return format_currency(Decimal(str(amount)), code, locale=_locale_of(context))
    except (ValueError, ArithmeticError):
        return f"{amount} {code}"


@pass_context
def _number(context: Context, value: Decimal | int | float | None) -> str:
    return "–" if value is None else format_decimal(value, locale=_locale_of(context))


@lru_cache(maxsize=4096)
def _format_day(value: date, form: str, locale: Locale) -> str:
    return format_date(value, format=form, locale=locale)


@pass_context
def _day(context: Context, value: date | datetime | None, form: str = "medium") -> str:
    if value is None:
        return "–"
    return _format_day(value.date() if isinstance(value, datetime) else value, form, _locale_of(context))


@lru_cache(maxsize=8)
def template_environment(override_dir: Path | None = None) -> Environment:
    """The Jinja2 environment: the business's folder first, then the built-in templates."""
    loaders = []
    if override_dir is not None:
        if Path(override_dir).is_dir():
            loaders.append(FileSystemLoader(str(override_dir)))
        else:
            logger.warning("templates folder %s does not exist; using the built-in templates", override_dir)
    loaders.append(FileSystemLoader(str(BUILTIN_TEMPLATES)))
    environment = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(enabled_extensions=("html", "htm"), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(money=_money, number=_number, day=_day)
    return environment


def _candidates(name: str, part: str, locale: Locale) -> list[str]:
    names = []
    if locale.territory:
        names.append(f"{name}.{locale.language}_{locale.territory}.{part}")
    names += [f"{name}.{locale.language}.{part}", f"{name}.{part}"]
    return names


def render_email(name: str, context: dict[str, Any], locale: str | Locale | None, override_dir: Path | None = None) -> RenderedEmail:
    """Render the three templates of email ``name``; raises NotificationError naming the template."""
    environment = template_environment(Path(override_dir) if override_dir else None)
    chosen = locale if isinstance(locale, Locale) else parse_locale(locale)
    values = {**context, "locale": chosen}
    parts = {}
    for part in ("subject.txt", "txt", "html"):
        try:
            template = environment.select_template(_candidates(name, part, chosen))
            parts[part] = template.render(values)
        except TemplateError as err:
            raise NotificationError(f"email template {name}.{part} cannot be rendered: {err}") from err
    return RenderedEmail(subject=clean_header(parts["subject.txt"]), text=parts["txt"], html=parts["html"])


def clean_header(text: str, limit: int = 250) -> str:
    """One line, no control characters (no header injection), at most ``limit`` characters."""
    line = " ".join(_CONTROL.sub(" ", text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def valid_address(address: str | None, who: str) -> str:
    """``address`` normalised, or NotificationError naming ``who`` and why it cannot be used."""
    if not address or not address.strip():
        raise NotificationError(f"{who} has no email address")
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError as err:
        raise NotificationError(f"{who} has an invalid email address {address!r}: {err}") from err


def mailbox(address: str, name: str | None = None) -> Address:
    """A To:/From: mailbox; non-ASCII display names are encoded by the email package."""
    local, _, domain = address.rpartition("@")
    return Address(display_name=clean_header(name or "", 100), username=local, domain=domain)


def build_message(
    sender: str,
    recipients: list[tuple[str, str | None]],
    rendered: RenderedEmail,
    *,
    sender_name: str | None = None,
    message_id: str | None = None,
    domain: str = "localhost",
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """A multipart/alternative email (text first, then HTML) ready for any transport."""
    message = EmailMessage(policy=SMTP)
    message["Subject"] = rendered.subject
    message["From"] = mailbox(sender, sender_name)
    message["To"] = [mailbox(address, name) for address, name in recipients]
    message["Date"] = format_datetime(datetime.now().astimezone())
    message["Message-ID"] = f"<{message_id or uuid.uuid4().hex}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    for key, value in (headers or {}).items():
        message[key] = clean_header(value, 900)
    message.set_content(rendered.text, subtype="plain", charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    return message
