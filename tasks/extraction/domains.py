"""The vendor's name as its own web and e-mail addresses spell it.

An invoice prints its issuer's website or e-mail ("contact@akretion.com", "edf.fr",
"bouyguestelecom.fr") far more often than the customer's. A name on the page that the domain
spells ("Akretion France", "EDF", "Bouygues Telecom") is the vendor's; the customer's address
block, free mail providers and placeholder domains say nothing about who issued the invoice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from tasks.language.words import fold

_EMAIL_DOMAIN = re.compile(r"[\w.+-]+@((?:[\w-]+\.)+[a-z]{2,})\b", re.I)
_WEB_DOMAIN = re.compile(
    r"(?:https?://|www\.)((?:[\w-]+\.)+[a-z]{2,})\b"
    r"|\b((?:[a-z][\w-]+\.)+(?:com|net|org|io|eu|fr|de|ch|at|nl|be|lu|uk|es|it|cz|pl|dk|se|no|fi|ie|pt|us|ca|au|in|my|sg))\b",
    re.I,
)
# Domains that name no issuer: free mail, the web's big platforms, documentation's examples.
_NOBODY = frozenset({
    "gmail", "googlemail", "yahoo", "outlook", "hotmail", "live", "icloud", "me", "aol", "gmx", "web", "t-online",
    "freenet", "posteo", "mailbox", "protonmail", "proton", "orange", "free", "sfr", "laposte", "wanadoo", "bluewin",
    "hetnet", "ziggo", "kpnmail", "example", "test", "domain", "email", "mail", "paypal", "google", "facebook",
    "instagram", "linkedin", "twitter", "youtube", "apple", "microsoft", "amazonaws", "github",
})
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "gov", "ac"})  # "acme.co.uk": the name is "acme"
_NAME_WORD = re.compile(r"[^\W_]+")


def is_address(text: str) -> bool:
    """Whether ``text`` holds an e-mail or web address."""
    return bool(_EMAIL_DOMAIN.search(text) or _WEB_DOMAIN.search(text))


def compact(text: str) -> str:
    """Letters and digits only, folded ("Bouygues Telecom" -> "bouyguestelecom")."""
    return re.sub(r"[^a-z0-9]", "", fold(text))


_RESERVED_TOP = frozenset({"example", "test", "invalid", "localhost", "local"})


def _name_label(domain: str) -> str | None:
    parts = domain.lower().split(".")
    if len(parts) < 2 or parts[-1] in _RESERVED_TOP:
        return None
    label = parts[-3] if len(parts) >= 3 and parts[-2] in _SECOND_LEVEL else parts[-2]
    key = compact(label)
    return key if len(key) >= 3 and key not in _NOBODY and not key.isdigit() else None


def domain_keys(texts: Iterable[str]) -> list[str]:
    """The compact names of the web and e-mail domains in ``texts``, most printed first."""
    counts: dict[str, int] = {}
    for text in texts:
        domains = [m.group(1) for m in _EMAIL_DOMAIN.finditer(text)]
        domains += [m.group(1) or m.group(2) for m in _WEB_DOMAIN.finditer(_EMAIL_DOMAIN.sub(" ", text))]
        for domain in domains:
            key = _name_label(domain)
            if key:
                counts[key] = counts.get(key, 0) + 1
    return sorted(counts, key=lambda key: -counts[key])


def spelled_by(name: str, keys: list[str]) -> bool:
    """Whether a domain of ``keys`` spells words of ``name`` in a row ("akretion" spells
    "Akretion France", "bouyguestelecom" "Bouygues Telecom", "smaakvol" "Cateringbedrijf Smaakvol B.V.")."""
    words = [compact(w) for w in _NAME_WORD.findall(name)]
    words = [w for w in words if w]
    for key in keys:
        for start in range(len(words)):
            joined = ""
            for word in words[start : start + 4]:
                joined += word
                if joined == key:
                    return True
                if not key.startswith(joined):
                    break
    return False


def name_spelled_by(lines: Iterable[str], keys: list[str], allowed: Callable[[str], bool]) -> str | None:
    """The words of ``lines`` a domain of ``keys`` spells exactly, as printed ("EDF" in "EDF &
    MOI" for edf.fr), the first found of the most printed domain; only words ``allowed`` says
    may be a name."""
    texts = list(lines)
    for key in keys:
        for text in texts:
            words = list(_NAME_WORD.finditer(text))
            for start in range(len(words)):
                joined = ""
                for end in range(start, min(start + 4, len(words))):
                    joined += compact(words[end].group())
                    if joined == key:
                        first, last = words[start].start(), words[end].end()
                        in_address = text[first - 1 : first] in {".", "@", "/"} or re.match(r"[.@][^\W_]", text[last:])
                        if not in_address and allowed(text[first:last]):
                            return text[first:last]
                    if not key.startswith(joined):
                        break
    return None
