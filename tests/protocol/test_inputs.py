"""pytest_acme/protocol/inputs.py: whole numbers and RFC 3339 times, parsed strictly."""

from __future__ import annotations

import datetime as dt

import pytest

from pytest_acme.protocol.inputs import timestamp, whole_number

UTC = dt.timezone.utc


@pytest.mark.parametrize("text, value", [("0", 0), ("7", 7), ("007", 7), ("9" * 9, 10**9 - 1)])
def test_whole_numbers(text, value):
    assert whole_number(text, "n") == value


@pytest.mark.parametrize("text", ["", "9" * 10, "9" * 5000, "²", "１", "٣", "-1", "+1", "1e3",
                                  " 1", "1 ", "0x1", "1_000", "1.0"])
def test_what_is_not_a_whole_number(text):
    with pytest.raises(ValueError, match="'cursor' must be a whole number of at most 9 digits"):
        whole_number(text, "'cursor'")


def test_the_digit_limit_is_the_callers():
    assert whole_number("9" * 18, "n", digits=18) == 10**18 - 1
    with pytest.raises(ValueError, match="at most 2 digits"):
        whole_number("100", "n", digits=2)


@pytest.mark.parametrize("text, expected", [
    ("2026-04-11T12:00:00Z", dt.datetime(2026, 4, 11, 12, tzinfo=UTC)),
    ("2026-04-11t12:00:00z", dt.datetime(2026, 4, 11, 12, tzinfo=UTC)),
    ("2026-04-11T14:00:00+02:00", dt.datetime(2026, 4, 11, 12, tzinfo=UTC)),
    ("2026-04-11T12:00:00.5Z", dt.datetime(2026, 4, 11, 12, 0, 0, 500000, tzinfo=UTC)),
    ("2026-04-11T12:00:00.123456789Z", dt.datetime(2026, 4, 11, 12, 0, 0, 123456, tzinfo=UTC)),
    ("9999-12-31T23:59:59Z", dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ("9999-12-31T23:59:59+14:00", dt.datetime(9999, 12, 31, 9, 59, 59, tzinfo=UTC)),
    ("0001-01-01T00:00:00Z", dt.datetime(1, 1, 1, tzinfo=UTC)),
    ("0001-01-01T00:00:00-01:00", dt.datetime(1, 1, 1, 1, tzinfo=UTC)),
])
def test_rfc3339_times_are_utc(text, expected):
    when = timestamp(text, "t")
    assert when == expected and when.tzinfo is UTC


@pytest.mark.parametrize("text, words", [
    ("9999-12-31T23:59:59-14:00", "outside years 1 to 9999 in UTC"),
    ("0001-01-01T00:00:00+00:01", "outside years 1 to 9999 in UTC"),
    ("0000-01-01T00:00:00Z", "not a date and time"),
    ("2026-02-29T00:00:00Z", "not a date and time"),
    ("2026-01-01T24:00:00Z", "not a date and time"),
    ("2026-01-01T23:59:60Z", "not a date and time"),
    ("2026-01-01T00:00:00+24:00", "offset out of range"),
    ("2026-01-01T00:00:00+01:60", "offset out of range"),
    ("2026-01-01T00:00:00", "needs a time zone"),
    ("2026-01-01 00:00:00", "needs a time zone"),
    ("2026-01-01 00:00:00Z", "is not an RFC 3339 timestamp"),
    ("2026-01-01", "is not an RFC 3339 timestamp"),
    ("2026-W01-1T00:00:00Z", "is not an RFC 3339 timestamp"),
    ("20260101T000000Z", "is not an RFC 3339 timestamp"),
    ("２０２６-01-01T00:00:00Z", "is not an RFC 3339 timestamp"),
    ("2026-01-01T00:00:00.Z", "is not an RFC 3339 timestamp"),
    ("2026-01-01T00:00:00.1234567890Z", "is not an RFC 3339 timestamp"),
    ("2026-01-01T00:00:00+0100", "is not an RFC 3339 timestamp"),
    ("x" * 5000, "is not an RFC 3339 timestamp"),
])
def test_what_is_not_an_rfc3339_time(text, words):
    with pytest.raises(ValueError, match="^'when' ") as err:
        timestamp(text, "'when'")
    assert words in str(err.value) and len(str(err.value)) < 200
