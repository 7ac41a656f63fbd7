"""Directives that render the documentation's tables from the code itself.

Each table here has one source in the package, so the pages cannot drift
from it:

- ``{acme-routes}``: the ACME server's route table (:data:`pytest_acme.web.routes.RULES`);
- ``{management-endpoints}``: the management port's routes (the ``url_map``
  of :class:`pytest_acme.standalone.management.ManagementApp`), each with its
  line of the index the port itself serves (``ENDPOINTS``); a route without
  one is a build warning, so an error under ``sphinx-build -W``;
- ``{challtestsrv-endpoints}``: pebble-challtestsrv's API paths with the
  example body each answers a bad request with;
- ``{restart-settings}``: the settings that need a new server
  (:data:`pytest_acme.config.RESTART_SETTINGS`), in the order of ``AcmeConfig``'s fields;
- ``{package-layout}``: every module of ``pytest_acme/`` with the first line
  of its docstring, its one-line responsibility;
- ``{examples}``: one section per tested file of ``examples/``, named one a
  line in the directive's body: its docstring, then the file itself.
"""

from __future__ import annotations

import ast
import pathlib
from typing import Dict, List, Sequence

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

ROOT = pathlib.Path(__file__).resolve().parents[2]
LOG = logging.getLogger(__name__)
LANGUAGES = {".py": "python", ".sh": "sh", ".ini": "ini", ".toml": "toml", ".cfg": "ini",
             ".txt": "text", ".md": "markdown", ".yml": "yaml", ".yaml": "yaml"}


def table(header: Sequence[str], rows: List[Sequence[str]], code_columns: Sequence[int] = ()
          ) -> nodes.table:
    """A docutils table; the cells of ``code_columns`` are set as literals."""
    group = nodes.tgroup(cols=len(header))
    for i, name in enumerate(header):  # relative widths: the longest cell, within reason
        group += nodes.colspec(colwidth=min(60, max([len(name)] + [len(r[i]) for r in rows])))

    def row(cells: Sequence[str], code: Sequence[int]) -> nodes.row:
        line = nodes.row()
        for i, text in enumerate(cells):
            entry = nodes.entry()
            para = nodes.paragraph()
            if i in code and text:
                para += nodes.literal(text, text)
            else:  # ``literal`` spans of a docstring's text stay literals
                for j, part in enumerate(text.split("``")):
                    para += nodes.literal(part, part) if j % 2 else nodes.Text(part)
            entry += para
            line += entry
        return line

    head = nodes.thead()
    head += row(header, ())
    body = nodes.tbody()
    for cells in rows:
        body += row(cells, code_columns)
    group += head
    group += body
    result = nodes.table()
    result += group
    return result


def _methods(rule) -> str:
    return ", ".join(m for m in ("GET", "HEAD", "POST", "DELETE") if m in (rule.methods or ()))


class AcmeRoutes(SphinxDirective):
    """The ACME server's routes: path, endpoint name (what faults target), methods."""

    def run(self) -> List[nodes.Node]:
        from pytest_acme.web.routes import RULES

        rows = [(rule.rule, str(rule.endpoint), _methods(rule)) for rule in RULES.iter_rules()]
        return [table(("path", "endpoint", "methods"), rows, code_columns=(0, 1))]


class ManagementEndpoints(SphinxDirective):
    """The management port's routes, described by the index it serves."""

    def run(self) -> List[nodes.Node]:
        from pytest_acme.standalone.management import ENDPOINTS, ManagementApp

        url_map = ManagementApp(server=None).url_map
        adapter = url_map.bind("localhost")
        described: Dict[str, List[str]] = {}
        for method, path, text in ENDPOINTS:
            concrete = path.split("?", 1)[0].replace("<hex serial>", "01")
            endpoint, _ = adapter.match(concrete, method=method)
            described.setdefault(endpoint, []).append(f"{path}: {text}" if "?" in path else text)
        rows = []
        for rule in url_map.iter_rules():
            text = "; ".join(described.get(str(rule.endpoint), []))
            if not text:
                LOG.warning("management route %s %s has no line in ENDPOINTS",
                            _methods(rule), rule.rule, location=self.get_location())
            rows.append((_methods(rule), rule.rule, text))
        return [table(("method", "path", "what it does"), rows, code_columns=(1,))]


class ChalltestsrvEndpoints(SphinxDirective):
    """pebble-challtestsrv's API as served here: path and an example body."""

    def run(self) -> List[nodes.Node]:
        from pytest_acme.standalone.challtestsrv import EXAMPLES

        rows = [(path, body) for path, body in EXAMPLES.items()]
        return [table(("POST path", "body"), rows, code_columns=(0, 1))]


class RestartSettings(SphinxDirective):
    """The settings that take effect only in a new server, as one paragraph of names."""

    def run(self) -> List[nodes.Node]:
        from pytest_acme.config import FIELD_NAMES, RESTART_SETTINGS

        para = nodes.paragraph()
        names = [name for name in FIELD_NAMES if name in RESTART_SETTINGS]
        for i, name in enumerate(names):
            if i:
                para += nodes.Text(", ")
            para += nodes.literal(name, name)
        para += nodes.Text(".")
        return [para]


class Examples(SphinxDirective):
    """One section per file named in the body (paths under ``examples/``)."""

    has_content = True

    def run(self) -> List[nodes.Node]:
        result: List[nodes.Node] = []
        for name in (line.strip() for line in self.content):
            if not name:
                continue
            path = ROOT / "examples" / name
            if not path.is_file():
                LOG.warning("no example file examples/%s", name, location=self.get_location())
                continue
            self.env.note_dependency(str(path))
            text = path.read_text()
            doc = ast.get_docstring(ast.parse(text)) if path.suffix == ".py" else None
            title, _, rest = (doc or f"examples/{name}").partition("\n")
            section = nodes.section(ids=[nodes.make_id("example-" + name)])
            section += nodes.title(title, title)
            where = nodes.paragraph()
            where += nodes.Text("File ")
            where += nodes.literal(f"examples/{name}", f"examples/{name}")
            where += nodes.Text(", run by the test suite as it is:")
            if rest.strip():
                self.state.nested_parse(StringList(rest.strip().splitlines(), str(path)),
                                        self.content_offset, section)
            section += where
            block = nodes.literal_block(text, text, language=LANGUAGES.get(path.suffix, "text"))
            block["source"] = str(path)
            section += block
            result.append(section)
        return result


class PackageLayout(SphinxDirective):
    """Every module and subpackage of ``pytest_acme/``, with its docstring's first line."""

    def run(self) -> List[nodes.Node]:
        package = ROOT / "pytest_acme"
        rows = []
        for path in sorted(package.rglob("*.py")):
            relative = path.relative_to(package)
            if "__pycache__" in relative.parts or len(relative.parts) > 3:
                continue
            self.env.note_dependency(str(path))
            doc = ast.get_docstring(ast.parse(path.read_text())) or ""
            if path.name == "__main__.py" and not doc:
                doc = "``python -m pytest_acme``: runs the command."
            if not doc:
                LOG.warning("pytest_acme/%s has no module docstring", relative,
                            location=self.get_location())
            shown = str(relative.parent) + "/" if path.name == "__init__.py" else str(relative)
            rows.append((shown.replace("./", "") if shown != "./" else "__init__.py",
                         doc.split("\n\n")[0].replace("\n", " ")))
        # each (sub)package right before its modules
        rows.sort(key=lambda row: tuple(row[0].split("/")))
        return [table(("module", "what it is for"), rows, code_columns=(0,))]


_ATTRIBUTE_TEXT: Dict[str, List[str]] = {}


def remember_attribute_text(app, what, name, obj, options, lines) -> None:
    """Before napoleon: keep an attribute's or property's docstring as written."""
    if what in ("attribute", "property"):
        _ATTRIBUTE_TEXT[name] = list(lines)


def restore_attribute_text(app, what, name, obj, options, lines) -> None:
    """After napoleon: put it back.  Napoleon reads an attribute docstring's first
    line as ``type: description`` when it has a colon, but the settings' ``#:``
    comments are prose (``"sync"``: finalize answers ...), never Google fields."""
    if what in ("attribute", "property") and name in _ATTRIBUTE_TEXT:
        lines[:] = _ATTRIBUTE_TEXT.pop(name)


def setup(app):
    app.connect("autodoc-process-docstring", remember_attribute_text, priority=400)
    app.connect("autodoc-process-docstring", restore_attribute_text, priority=600)
    app.add_directive("package-layout", PackageLayout)
    app.add_directive("acme-routes", AcmeRoutes)
    app.add_directive("management-endpoints", ManagementEndpoints)
    app.add_directive("challtestsrv-endpoints", ChalltestsrvEndpoints)
    app.add_directive("restart-settings", RestartSettings)
    app.add_directive("examples", Examples)
    return {"parallel_read_safe": True, "version": "1"}
