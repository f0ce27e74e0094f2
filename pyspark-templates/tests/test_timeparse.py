"""Time strings parse to the same instants on pandas 1.5 and 2.x: ISO as ISO, other values
with one explicit format for the whole column (timeparse.py), used by the input's parse_times."""
from __future__ import annotations

import pandas as pd
import pytest

import model_helpers  # noqa: F401 - puts the runtime on sys.path
from manymodels_runtime.errors import InputError
from manymodels_runtime.input_data.columns import parse_times


def iso(ns):
    return [str(t) for t in pd.to_datetime(ns)]


def test_iso_dates_times_and_offsets_parse_as_iso():
    got = parse_times(["2024-01-05", "2024-01-06 08:00", "2024-01-07T09:30:15.5", "2024-02"], "d")
    assert iso(got) == ["2024-01-05 00:00:00", "2024-01-06 08:00:00", "2024-01-07 09:30:15.500000",
                        "2024-02-01 00:00:00"]
    assert iso(parse_times(["2024-01-05T10:00:00+02:00", "2024-01-05T10:00:00Z"], "d")) == \
        ["2024-01-05 08:00:00", "2024-01-05 10:00:00"]


def test_one_format_for_the_whole_column_day_first_when_a_value_says_so():
    # pandas 1.5 alone read 01/02 as 2 January and 13/01 as 13 January (two calendars)
    assert iso(parse_times(["01/02/2024", "13/01/2024"], "d")) == ["2024-02-01 00:00:00", "2024-01-13 00:00:00"]
    assert iso(parse_times(["01/02/2024", "03/04/2024"], "d")) == ["2024-01-02 00:00:00", "2024-03-04 00:00:00"]
    assert iso(parse_times(["31.12.2024", "01.01.2025"], "d")) == ["2024-12-31 00:00:00", "2025-01-01 00:00:00"]


def test_values_in_no_shared_format_are_MM412():
    with pytest.raises(InputError) as e:
        parse_times(["01/02/2024", "2024.13.45"], "d")
    assert e.value.code == "MM412" and "2024.13.45" in e.value.message
