"""Currencies found in text: only codes a country tenders today."""

from tasks.language.currencies import currencies_in


def test_a_historic_code_in_an_ordinary_word_is_no_currency():
    # "PLZ" (a German postcode label) was the Polish zloty's code before 1995; "DEM" and "FRF" are gone too.
    assert currencies_in("PLZ / Ort: 10115 Berlin") == []
    assert currencies_in("DEM Kunden, FRF") == []


def test_codes_and_symbols_in_use_are_found_in_order():
    assert currencies_in("Total 12,00 € (CHF 11.50, USD 13.20)") == ["EUR", "CHF", "USD"]
