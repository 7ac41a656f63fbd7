"""The console's actions: a submitted form in, one call of the server's API out.

Each function reads the fields of a form (strings, as browsers send them),
checks them, and calls what a test would call from Python:
``server.clock.advance``, ``server.faults.add(fail_challenge(...))``,
``server.faults.remove``, ``server.dns.set_txt``, ``server.set_renewal_info``,
``server.reset``.  A field a person got wrong raises :class:`BadForm`, whose
message says what to type instead; the page shows it with a 400.
"""

from __future__ import annotations

import datetime as dt
import inspect
import math
import typing
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Tuple

from .. import faults as _faults
from . import view

if TYPE_CHECKING:  # pragma: no cover
    from ..server import AcmeServer

__all__ = ["BadForm", "FAULTS", "FaultField", "fault_fields", "advance_clock", "set_clock",
           "arm_fault", "disarm_fault", "clear_faults", "edit_dns", "set_renewal",
           "reset", "DNS_TYPES", "UNITS"]


class BadForm(ValueError):
    """A form field that cannot be used; the message tells the person what to fix."""


#: Fault constructors by name: the same list the management API arms from.
FAULTS: Dict[str, Callable[..., _faults.Fault]] = {f.__name__: f for f in _faults.CONSTRUCTORS}

#: Units of the "advance the clock" form, in seconds.
UNITS: Dict[str, int] = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}

#: Record types of the DNS form, each with the Zone methods that set and clear it.
DNS_TYPES: Dict[str, Tuple[str, str]] = {
    "TXT": ("set_txt", "clear_txt"),
    "A": ("add_a", "clear_a"),
    "AAAA": ("add_aaaa", "clear_aaaa"),
    "CNAME": ("set_cname", "clear_cname"),
    "CAA": ("add_caa", "clear_caa"),
    "SERVFAIL": ("set_servfail", "clear_servfail"),
}


# -- the clock ---------------------------------------------------------------------


def advance_clock(server: "AcmeServer", form: Mapping[str, str]) -> dt.datetime:
    """``amount`` of ``unit`` (seconds, minutes, hours, days) forward."""
    unit = form.get("unit", "seconds")
    if unit not in UNITS:
        raise BadForm(f"unit must be one of {', '.join(UNITS)}, not {unit!r}")
    text = form.get("amount", "").strip()
    try:
        amount = float(text)
    except ValueError:
        raise BadForm(f"amount must be a number of {unit}, not {text!r}") from None
    if not math.isfinite(amount) or amount < 0:
        raise BadForm(f"amount must be a finite number >= 0 (the clock only moves forward), "
                      f"not {text!r}")
    clock = server.clock
    try:  # refuse what would push the clock past year 9999 (every read would fail)
        delta = dt.timedelta(seconds=amount * UNITS[unit])
        clock.now() + delta + dt.timedelta(days=3650)
    except OverflowError:
        raise BadForm(f"{text} {unit} is too far ahead for the server clock") from None
    return clock.advance(delta)


def _instant(text: str, what: str) -> dt.datetime:
    """A UTC instant from a ``datetime-local`` field (``2026-12-06T07:00``, seconds
    optional) or an RFC 3339 string."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BadForm(f"{what} must be a date and time like 2026-12-06T07:00 (UTC), "
                      f"not {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc)


def set_clock(server: "AcmeServer", form: Mapping[str, str]) -> dt.datetime:
    """Set the clock to ``when`` (UTC), where the clock can be set."""
    if not view.clock_can_set(server):
        raise BadForm("this server's clock can only be advanced")
    when = _instant(form.get("when", ""), "when")
    try:
        server.clock.set(when)
    except (ValueError, OverflowError) as e:
        raise BadForm(str(e)) from None
    return server.clock.now()


# -- faults ------------------------------------------------------------------------


class FaultField(typing.NamedTuple):
    """One argument of a fault constructor, as a form field."""

    name: str
    kind: str  # "text", "number", "checkbox"
    default: Any
    optional: bool  # the argument takes None (typed as "None")
    required: bool


def fault_fields(name: str) -> List[FaultField]:
    """The form fields of fault constructor ``name``, from its signature: the form
    offers exactly the arguments the Python API takes."""
    fn = FAULTS[name]
    hints = typing.get_type_hints(fn)
    fields = []
    for p in inspect.signature(fn).parameters.values():
        hint = hints.get(p.name, str)
        args = typing.get_args(hint)
        optional = type(None) in args
        base = next((a for a in args if a is not type(None)), hint) if args else hint
        kind = ("checkbox" if base is bool else
                "number" if base in (int, float) else "text")
        required = p.default is inspect.Parameter.empty
        fields.append(FaultField(p.name, kind, None if required else p.default, optional,
                                 required))
    return fields


def _convert(field: FaultField, hint: Any, text: str) -> Any:
    if field.optional and text.lower() in ("none", "always"):
        return None
    base = next((a for a in typing.get_args(hint) if a is not type(None)), hint)
    if base is int:
        try:
            return int(text)
        except ValueError:
            raise BadForm(f"{field.name} must be a whole number, not {text!r}") from None
    if base is float:
        try:
            value = float(text)
        except ValueError:
            raise BadForm(f"{field.name} must be a number, not {text!r}") from None
        if not math.isfinite(value):
            raise BadForm(f"{field.name} must be a finite number, not {text!r}")
        return value
    return text


def arm_fault(server: "AcmeServer", form: Mapping[str, str]) -> _faults.Fault:
    """Make fault ``fault`` from the form's fields and arm it.  An empty field keeps
    the argument's default; ``None`` (or ``always``, for ``times``) passes None."""
    name = form.get("fault", "")
    if name not in FAULTS:
        raise BadForm(f"unknown fault {name!r}; choose one of {', '.join(sorted(FAULTS))}")
    hints = typing.get_type_hints(FAULTS[name])
    kwargs: Dict[str, Any] = {}
    for field in fault_fields(name):
        if field.kind == "checkbox":
            if form.get(field.name):
                kwargs[field.name] = True
            continue
        text = form.get(field.name, "").strip()
        if not text:
            if field.required:
                raise BadForm(f"{name} needs {field.name}")
            continue
        kwargs[field.name] = _convert(field, hints.get(field.name, str), text)
    try:
        fault = FAULTS[name](**kwargs)
    except (TypeError, ValueError) as e:
        raise BadForm(f"{name}: {e}") from None
    server.faults.add(fault)
    return fault


def disarm_fault(server: "AcmeServer", form: Mapping[str, str]) -> None:
    """Disarm the armed fault whose ``fault_id`` the page showed."""
    wanted = form.get("fault_id", "")
    for fault in list(server.faults.faults):
        if fault_id(fault) == wanted:
            server.faults.remove(fault)
            return
    raise BadForm("that fault is no longer armed (it was disarmed, or the server was reset)")


def clear_faults(server: "AcmeServer", form: Mapping[str, str]) -> None:
    server.faults.clear()


def fault_id(fault: _faults.Fault) -> str:
    """How a page names one armed fault (unique among the faults alive)."""
    return f"{id(fault):x}"


# -- DNS ---------------------------------------------------------------------------


def edit_dns(server: "AcmeServer", form: Mapping[str, str]) -> str:
    """Add (``op=set``) or clear (``op=clear``) records of ``type`` at ``name``.

    CAA values are written as in a zone file, ``0 issue "ca.example"``.
    """
    rtype = form.get("type", "").upper()
    if rtype not in DNS_TYPES:
        raise BadForm(f"type must be one of {', '.join(DNS_TYPES)}, not {rtype!r}")
    op = form.get("op", "set")
    if op not in ("set", "clear"):
        raise BadForm(f"op must be set or clear, not {op!r}")
    name = form.get("name", "").strip()
    if not name.strip("."):
        raise BadForm("name must be a DNS name, such as _acme-challenge.example.test")
    setter, clearer = DNS_TYPES[rtype]
    zone = server.dns
    try:
        if op == "clear":
            getattr(zone, clearer)(name)
            return f"cleared {rtype} at {name}"
        value = form.get("value", "").strip()
        if rtype == "SERVFAIL":
            zone.set_servfail(name)
        elif not value:
            raise BadForm(f"a {rtype} record needs a value")
        elif rtype == "CAA":
            parts = value.split(None, 2)
            if len(parts) != 3 or not parts[0].isdigit():
                raise BadForm(f'a CAA value is "flags tag value", like 0 issue "ca.example", '
                              f"not {value!r}")
            zone.add_caa(name, int(parts[0]), parts[1], parts[2].strip('"'))
        else:
            getattr(zone, setter)(name, value)
    except BadForm:
        raise
    except ValueError as e:
        raise BadForm(f"{rtype} {name}: {e}") from None
    return f"set {rtype} at {name}"


# -- certificates, reset ----------------------------------------------------------


def set_renewal(server: "AcmeServer", serial: int, form: Mapping[str, str]) -> str:
    """The renewal window (RFC 9773) of the certificate with ``serial``: ``start`` and
    ``end`` (UTC), or neither to go back to the default window."""
    start_text, end_text = form.get("start", "").strip(), form.get("end", "").strip()
    url = form.get("explanation_url", "").strip() or None
    if form.get("default") or not (start_text or end_text):
        return server.set_renewal_info(serial)
    if not (start_text and end_text):
        raise BadForm("give both start and end of the window (or neither, for the default)")
    start, end = _instant(start_text, "start"), _instant(end_text, "end")
    try:
        return server.set_renewal_info(serial, start, end, url, allow_instant=True)
    except KeyError:
        raise BadForm("no such certificate on this server (was it reset?)") from None
    except ValueError as e:
        raise BadForm(str(e)) from None


def reset(server: "AcmeServer", form: Mapping[str, str]) -> None:
    server.reset()

