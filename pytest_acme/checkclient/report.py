"""The reports of ``pytest-acme check-client``: a table, JSON and JUnit XML.

The JSON report is ``{"client": [...], "scenarios": [{"name", "passed",
"seconds", "summary", "events", ...}]}``; each event is a request the server
answered or a fault that fired, with ``t`` in seconds from the command's start.
The JUnit XML has one test case per scenario, so CI systems show each one.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any, Dict, List, Sequence

from .runner import Result

PASS, FAIL = "PASS", "FAIL"


def table(results: Sequence[Result]) -> str:
    """Scenario, result, seconds and what the server saw, one row each."""
    rows = [("scenario", "result", "seconds", "what the server saw")]
    rows += [(r.scenario.name, PASS if r.passed else FAIL, f"{r.observation.seconds:.1f}",
              r.verdict.summary) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}  {d}" for a, b, c, d in rows]
    passed = sum(r.passed for r in results)
    lines.append(f"{passed} of {len(results)} scenario(s) passed")
    return "\n".join(lines)


def progress_line(done: int, total: int, result: Result) -> str:
    return (f"[{done}/{total}] {result.scenario.name}: {PASS if result.passed else FAIL} "
            f"({result.observation.seconds:.1f} s) {result.verdict.summary}")


def events(result: Result) -> List[Dict[str, Any]]:
    """The requests and fault firings of one run, in time order."""
    seen = result.observation
    items: List[Dict[str, Any]] = [
        {"t": r.t, "method": r.method, "path": r.path, "endpoint": r.endpoint,
         "status": r.status, "problem": r.problem} for r in seen.requests]
    items += [{"t": f.t, "fault": f.kind, "where": f.where} for f in seen.faults]
    return sorted(items, key=lambda e: e["t"])


def as_json(cmd: Sequence[str], results: Sequence[Result]) -> str:
    return json.dumps({
        "client": list(cmd),
        "scenarios": [{
            "name": r.scenario.name,
            "passed": r.passed,
            "seconds": r.observation.seconds,
            "summary": r.verdict.summary,
            "events": events(r),
            "exit_code": r.observation.exit_code,
            "timed_out": r.observation.timed_out,
            "output": r.output,
        } for r in results],
    }, indent=2)


def as_junit(cmd: Sequence[str], results: Sequence[Result]) -> bytes:
    suite = ET.Element("testsuite", {
        "name": "pytest-acme check-client",
        "tests": str(len(results)),
        "failures": str(sum(not r.passed for r in results)),
        "errors": "0",
        "time": f"{sum(r.observation.seconds for r in results):.3f}",
    })
    ET.SubElement(ET.SubElement(suite, "properties"), "property",
                  {"name": "client", "value": " ".join(cmd)})
    for r in results:
        case = ET.SubElement(suite, "testcase", {
            "classname": "check-client", "name": r.scenario.name,
            "time": f"{r.observation.seconds:.3f}"})
        if not r.passed:
            failure = ET.SubElement(case, "failure", {"message": r.verdict.summary})
            failure.text = r.output
        out = ET.SubElement(case, "system-out")
        out.text = f"{r.scenario.what}\n{r.verdict.summary}\n\n{r.output}"
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)
