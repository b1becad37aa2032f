"""File names as the drop folder records them: names that are not valid UTF-8 are kept with their
bytes escaped, losslessly, in text that any log, artifact or database column takes."""

import os

import pytest

from tasks.documents.intake import original_of, shown_name


@pytest.mark.parametrize("raw", [
    b"rechnung-\xff.pdf",
    b"sub/\xc3(\xa0.pdf",
    b"a\\xff.pdf",
    b"a\\\xff.pdf",
    b"\\\\x41\xe4.pdf",
    "Rechnung März.pdf".encode(),
    b"plain.pdf",
])
def test_a_name_is_shown_as_text_and_its_bytes_come_back_from_it(raw):
    name = os.fsdecode(raw)  # what os.walk gives for these bytes

    shown = shown_name(name)

    shown.encode("utf-8")  # never raises
    assert original_of(shown) == name
    assert os.fsencode(original_of(shown)) == raw


def test_a_valid_name_without_a_backslash_is_shown_as_it_is():
    assert shown_name("Rechnung März (2).pdf") == "Rechnung März (2).pdf"
    assert shown_name(os.fsdecode(b"rechnung-\xff.pdf")) == "rechnung-\\xff.pdf"
    assert shown_name("a\\b.pdf") == "a\\\\b.pdf"


def test_two_different_names_are_never_shown_the_same():
    names = [os.fsdecode(b"x\xff"), "x\\xff", "x\\\\xff", os.fsdecode(b"x\\\xff")]
    assert len({shown_name(n) for n in names}) == len(set(names))
