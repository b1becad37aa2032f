"""Folding words for matching: the languages read, and text without accents or case.
"""

from __future__ import annotations

import unicodedata


LANGUAGES = ("en", "de", "fr", "nl")


def fold(text: str) -> str:
    """Lowercase without accents ("Fällig" -> "fallig"), for matching labels and month names."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").casefold()
