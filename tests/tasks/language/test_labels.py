"""Words that name a document or a table column are never taken as a party's name."""

import pytest

from tasks.language.labels import TITLE_WORDS
from tasks.language.words import fold


@pytest.mark.parametrize("text", ["Tax Invoice", "Simplified Tax Invoice", "FACTURA", "Quittung", "Désignation",
                                  "Item", "Cash", "Cash Sales", "Slip", "Reçu", "Kassenbon:", "Rechnung Nr. 12"])
def test_titles_headings_and_payment_words_are_no_names(text):
    assert TITLE_WORDS.match(fold(text))


@pytest.mark.parametrize("text", ["Cash & Carry Nord GmbH", "Ticketmaster GmbH", "Itemis AG", "Bonn Consulting",
                                  "Kassel Druck GmbH", "Acme Ltd"])
def test_names_that_begin_like_one_are_still_names(text):
    assert not TITLE_WORDS.match(fold(text))


@pytest.mark.parametrize("text", ["Invoice: No. 001", "INVOICE NO. 17", "Receipt # No.: 9876", "Bon-Nr. 3226",
                                  "Booking ID: X7", "Kassenbon Nr 12", "Rechnungsnummer 5"])
def test_the_labels_of_a_documents_number(text):
    from tasks.language.labels import INVOICE_NUMBER

    assert INVOICE_NUMBER.search(fold(text))


@pytest.mark.parametrize("text", ["Bonn", "Invoice address", "Booking", "Receipt of goods"])
def test_words_that_are_no_number_label(text):
    from tasks.language.labels import INVOICE_NUMBER

    assert not INVOICE_NUMBER.search(fold(text))
