"""Folding words for matching: the languages read, and text without accents or case.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

LANGUAGES = ("en", "de", "fr", "nl")


# Typographic apostrophes read as the plain one ("Date d’émission" is "date d'emission").
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'"})


def fold(text: str) -> str:
    """Lowercase without accents ("Fällig" -> "fallig"), for matching labels and month names."""
    return unicodedata.normalize("NFKD", text.translate(_APOSTROPHES)).encode("ascii", "ignore").decode("ascii").casefold()


def fold_in_place(text: str) -> str:
    """``fold`` that keeps every character's position, so spans found in the folded text fit ``text``
    (a dash or a "£" stays one character)."""
    if text.isascii():
        return text.lower()  # what ``fold`` does to every ASCII character
    return "".join(_fold_character(ch) for ch in text)


@lru_cache(maxsize=4096)
def _fold_character(ch: str) -> str:
    return (fold(ch) or ch.lower())[:1]
