"""Dates as printed: a space before the comma of a written date, a year first with slashes or dots."""

from datetime import date

import pytest

from tasks.language.dates import find_dates


@pytest.mark.parametrize(("text", "day"), [
    ("August 3 , 2014", date(2014, 8, 3)), ("3 Aug , 2014", date(2014, 8, 3)), ("2024/07/05", date(2024, 7, 5)),
    ("2024.07.05", date(2024, 7, 5)), ("2024-07-05", date(2024, 7, 5))])
def test_dates_with_a_space_before_the_comma_or_year_first_with_slashes(text, day):
    assert [found for found, _, _ in find_dates(text)] == [day]
