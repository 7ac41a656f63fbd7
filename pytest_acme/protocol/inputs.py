"""Numbers and times as clients write them: parsed strictly, refused with a reason.

Every place that reads a number or a time out of a request (a query parameter,
a path segment, a JSON field) goes through these two functions, so that no
input can reach ``int()`` or ``datetime`` arithmetic in a form that raises
something other than :class:`ValueError` with a message a person can act on.

Two traps they close:

* ``str.isdigit()`` is true for ``"²"`` and ``"٣"``, which ``int()`` refuses;
  and ``int()`` refuses more than 4300 digits (CPython's guard against slow
  conversions).  :func:`whole_number` takes ASCII digits only, and few of them.
* ``datetime.fromisoformat`` reads ``9999-12-31T23:59:59-14:00``, whose UTC
  instant is past ``datetime.max``: converting or comparing it raises
  ``OverflowError``.  :func:`timestamp` returns UTC, and refuses what has none.

Pure functions: no clock, no store.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["whole_number", "timestamp"]

_DIGITS = re.compile(r"[0-9]+")

#: RFC 3339 §5.6 ``date-time``: full-date "T" full-time, with a time zone.  The
#: "T" and "Z" may be lower case (§5.6, NOTE); a space for "T" is not accepted,
#: as Go's ``time.Parse(time.RFC3339, ...)`` (Boulder, Pebble) does not accept it.
_RFC3339 = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]{1,9}))?"
    r"(?:(?P<z>[Zz])|(?P<sign>[+-])(?P<off_hour>[0-9]{2}):(?P<off_minute>[0-9]{2}))")

_UTC = dt.timezone.utc


def whole_number(text: str, what: str, digits: int = 9) -> int:
    """The value of ``text`` if it is 1 to ``digits`` ASCII digits, else ValueError.

    Args:
        text: the input, as the client sent it.
        what: how the message names it (``"'cursor'"``).
        digits: the most digits accepted (9: below a billion).

    >>> whole_number("12", "'cursor'")
    12
    """
    if not (len(text) <= digits and text.isascii() and _DIGITS.fullmatch(text)):
        raise ValueError(f"{what} must be a whole number of at most {digits} digits (0-9), "
                         f"got {text[:20]!r}{'...' if len(text) > 20 else ''}")
    return int(text)


def timestamp(text: str, what: str) -> dt.datetime:
    """The UTC instant of an RFC 3339 ``date-time`` (``2026-04-11T12:00:00Z``,
    ``2026-04-11T14:00:00.5+02:00``), or ValueError saying what is wrong.

    The result is aware and in UTC, so comparing it with the server clock never
    overflows; an instant outside years 1..9999 in UTC is refused.  Fractions of
    a second beyond microseconds are cut, as Python cannot hold them.
    """
    example = "an RFC 3339 timestamp like 2026-04-11T12:00:00Z"
    if not isinstance(text, str):
        raise ValueError(f"{what} must be {example}")
    match = _RFC3339.fullmatch(text)
    shown = f"{text[:40]!r}{'...' if len(text) > 40 else ''}"
    if match is None:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9:.]+", text):
            raise ValueError(f"{what} {shown} needs a time zone ('Z' or '+00:00')")
        raise ValueError(f"{what} {shown} is not {example}")
    g = match.groupdict()
    offset = dt.timedelta(0)
    if g["sign"]:
        hours, minutes = int(g["off_hour"]), int(g["off_minute"])
        if hours > 23 or minutes > 59:
            raise ValueError(f"{what} {shown} has a time zone offset out of range")
        offset = dt.timedelta(hours=hours, minutes=minutes) * (1 if g["sign"] == "+" else -1)
    try:
        when = dt.datetime(int(g["year"]), int(g["month"]), int(g["day"]), int(g["hour"]),
                           int(g["minute"]), int(g["second"]),
                           int((g["fraction"] or "0").ljust(6, "0")[:6]),
                           tzinfo=dt.timezone(offset))
    except ValueError as e:  # month 13, day 32, hour 24, second 60, year 0
        raise ValueError(f"{what} {shown} is not a date and time: {e}") from None
    try:
        return when.astimezone(_UTC)
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is in year 10000 in UTC
        raise ValueError(f"{what} {shown} is outside years 1 to 9999 in UTC") from None
