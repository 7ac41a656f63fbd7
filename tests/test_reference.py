"""The reference is the docstrings: every public name of pytest_acme (and of the
modules users reach into: inspection, faults, clock, describe), every method and
property of its classes, every field of its dataclasses and every fixture has
one, which an autodoc (Sphinx, MkDocs) renders."""

from __future__ import annotations

import dataclasses
import inspect
import re
from typing import Any, Iterator, List, Tuple

import pytest

import pytest_acme
from pytest_acme import clock, describe, faults, plugin
from pytest_acme import inspection as snapshots
from pytest_acme.web.routes import ENDPOINT_NAMES


def public_names() -> Iterator[Tuple[str, Any]]:
    for name in pytest_acme.__all__:
        yield f"pytest_acme.{name}", getattr(pytest_acme, name)
    for module in (snapshots, faults, faults.kinds, faults.constructors, faults.plan, clock,
                   describe):
        for name, value in vars(module).items():
            if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
                continue
            if inspect.isclass(value) or inspect.isfunction(value):
                yield f"{module.__name__}.{name}", value


def own_doc(obj: Any) -> str:
    return (obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__) or ""


def commented_fields(cls: type) -> set:
    """Fields with a ``#:`` comment on the line above them (autodoc renders those)."""
    lines = inspect.getsource(cls).splitlines()
    found = set()
    for above, line in zip(lines, lines[1:]):
        match = re.match(r"\s+(\w+):", line)
        if match and above.strip().startswith("#:"):
            found.add(match.group(1))
    return found


def undocumented(where: str, obj: Any) -> List[str]:
    if inspect.ismodule(obj):
        return [] if (obj.__doc__ or "").strip() else [where]
    missing = [] if own_doc(obj).strip() else [where]
    if not inspect.isclass(obj):
        return missing
    for name, member in vars(obj).items():
        if name.startswith("_"):
            continue
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        if (isinstance(member, property) or inspect.isfunction(member)) and not (
                member.__doc__ or "").strip():
            missing.append(f"{where}.{name}")
    if dataclasses.is_dataclass(obj):
        own = obj.__dict__.get("__annotations__", {})
        # cleandoc: Python 3.13 strips docstrings' indentation itself, older ones do not.
        attributes = set(re.findall(r"^\s{4}(\w+):", inspect.cleandoc(own_doc(obj)), re.M))
        documented = attributes | commented_fields(obj)
        missing += [f"{where}.{f.name} (field)" for f in dataclasses.fields(obj)
                    if f.name in own and f.name not in documented]
    return missing


def test_every_public_name_has_a_docstring():
    missing = [m for where, obj in public_names() for m in undocumented(where, obj)]
    assert missing == []


def test_the_snapshots_and_the_timeline_are_public_names():
    for name in ("OrderInfo", "AuthorizationInfo", "ChallengeInfo", "AccountInfo",
                 "CertificateInfo", "TimelineEvent", "RequestRecord", "Clock"):
        assert name in pytest_acme.__all__


def test_every_fixture_has_a_docstring():
    fixtures = [value for name, value in vars(plugin).items()
                if hasattr(value, "_fixture_function_marker") or hasattr(value, "_pytestfixturefunction")
                or type(value).__name__ == "FixtureFunctionDefinition"]
    assert len(fixtures) >= 9
    assert [f for f in fixtures if not (f.__doc__ or "").strip()] == []


@pytest.mark.parametrize("constructor", [c for c in faults.CONSTRUCTORS
                                         if "endpoint" in inspect.signature(c).parameters],
                         ids=lambda c: c.__name__)
def test_endpoint_faults_list_every_endpoint_name(constructor):
    """Taken from the route table: a new route is listed the moment it is added."""
    doc = constructor.__doc__
    for name in ENDPOINT_NAMES:
        assert f"``{name}``" in doc
    armed = getattr(faults.FaultPlan, constructor.__name__).__doc__
    assert armed.startswith(f"Arm :func:`{constructor.__name__}`") and "``finalize``" in armed


def test_the_clock_methods_say_what_they_do():
    for name in ("now", "advance", "set", "freeze", "resume", "frozen", "wait_until",
                 "interrupt", "reset", "offset", "is_frozen"):
        assert (getattr(clock.Clock, name).__doc__ or "").strip(), name
