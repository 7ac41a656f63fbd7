"""The console's HTML building blocks: page layout, tables, fields, forms, links, times.

Every template is a :class:`markupsafe.Markup` string filled with
``Markup.format``, which escapes each value it is given: identifiers,
contacts, problem details and request paths come from clients and tests, so
none of them is ever put into a page unescaped.  A value that is already HTML
(another rendered fragment) is a ``Markup`` itself and goes in as it is.

The parts of a page marked ``data-live`` (with an ``id``) are what
``static/console.js`` replaces when it polls the page; forms stay outside them,
so polling never wipes what a person is typing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Dict, Iterable, Optional, Sequence, Tuple

from markupsafe import Markup

from ..protocol.resources import rfc3339
from . import view

M = Markup
Html = Markup
#: Builds a console URL from an endpoint name and its arguments.
UrlFor = Callable[..., str]

NAV = (("overview", "Overview"), ("orders", "Orders"), ("accounts", "Accounts"),
       ("authorizations", "Authorizations"), ("certificates", "Certificates"),
       ("requests", "Requests"), ("faults", "Faults"), ("dns", "DNS"))


def join(parts: Iterable[Any]) -> Html:
    return M("").join(parts)


def layout(url_for: UrlFor, title: str, current: str, body: Html, *, refresh_ms: int,
           status: int = 200) -> Html:
    """A whole page: head, navigation, ``body`` in ``<main>``."""
    links = join(
        M('<li><a href="{}"{}>{}</a></li>').format(
            url_for(name), M(' aria-current="page"') if name == current else M(""), label)
        for name, label in NAV)
    return M(
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>{title} - pytest-acme console</title>'
        '<link rel="icon" href="data:,"><link rel="stylesheet" href="{css}"></head>'
        '<body data-refresh="{refresh}">'
        '<header><p class="brand"><a href="{home}">pytest-acme console</a></p>'
        '<nav aria-label="Sections"><ul>{links}</ul></nav>'
        '<p id="live-status" class="live-status" role="status" aria-live="polite"></p></header>'
        '<main><h1>{title}</h1>{body}</main>'
        '<script src="{js}"></script></body></html>\n'
    ).format(title=title, css=url_for("static", name="console.css"), refresh=refresh_ms,
             home=url_for("overview"), links=links, body=body,
             js=url_for("static", name="console.js"))


def live(id: str, content: Html) -> Html:
    """A part of the page that console.js keeps up to date."""
    return M('<div id="{}" data-live>{}</div>').format(id, content)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], empty: str) -> Html:
    """A table that scrolls sideways on a narrow screen; cells may be Markup."""
    body = join(M("<tr>{}</tr>").format(join(M("<td>{}</td>").format(c) for c in row))
                for row in rows)
    if not body:
        return M('<p class="empty">{}</p>').format(empty)
    head = join(M('<th scope="col">{}</th>').format(h) for h in header)
    return M('<div class="scroll"><table><thead><tr>{}</tr></thead><tbody>{}</tbody>'
             '</table></div>').format(head, body)


def fields(pairs: Iterable[Tuple[str, Any]]) -> Html:
    """A definition list of name/value pairs."""
    return M('<dl class="fields">{}</dl>').format(
        join(M("<dt>{}</dt><dd>{}</dd>").format(k, v) for k, v in pairs))


def status(value: Any) -> Html:
    text = getattr(value, "value", value)
    return M('<span class="status status-{}">{}</span>').format(text, text)


def link(href: str, text: Any) -> Html:
    return M('<a href="{}">{}</a>').format(href, text)


def when(at: Optional[dt.datetime], now: dt.datetime) -> Html:
    if at is None:
        return M("-")
    return M('<time datetime="{}">{}</time> <span class="age">({})</span>').format(
        rfc3339(at), rfc3339(at), view.countdown(at, now))


def form(url_for: UrlFor, token: str, endpoint: str, inner: Html, *, label: str,
         next_url: str = "", css: str = "", says: str = "", **args: Any) -> Html:
    """A POST form carrying the CSRF token and where to go afterwards; ``says`` is
    what its button does, for a screen reader, where ``label`` is only a verb in a
    table row ("Disarm", "Clear")."""
    aria = M(' aria-label="{}"').format(says) if says else M("")
    return M('<form method="post" action="{}" class="{}">'
             '<input type="hidden" name="csrf" value="{}">'
             '<input type="hidden" name="next" value="{}">{}'
             '<button type="submit"{}>{}</button></form>').format(
        url_for(endpoint, **args), css, token, next_url, inner, aria, label)


def field(name: str, label: str, *, kind: str = "text", value: str = "", hint: str = "",
          id_prefix: str = "", extra: Html = Markup(""), required: bool = False) -> Html:
    fid = f"{id_prefix}{name}"
    hint_html = M('<small id="{}-hint">{}</small>').format(fid, hint) if hint else M("")
    described = M(' aria-describedby="{}-hint"').format(fid) if hint else M("")
    step = M(' step="any"') if kind == "number" else M("")
    req = M(" required") if required else M("")
    return M('<p class="field"><label for="{fid}">{label}</label>'
             '<input id="{fid}" name="{name}" type="{kind}" value="{value}"'
             '{step}{req}{desc}{extra}>'
             '{hint}</p>').format(fid=fid, label=label, name=name, kind=kind, value=value,
                                  step=step, req=req, desc=described, extra=extra, hint=hint_html)


def select(name: str, label: str, options: Sequence[Tuple[str, str]], *, selected: str = "",
           id_prefix: str = "") -> Html:
    fid = f"{id_prefix}{name}"
    opts = join(M('<option value="{}"{}>{}</option>').format(
        v, M(" selected") if v == selected else M(""), text) for v, text in options)
    return M('<p class="field"><label for="{}">{}</label><select id="{}" name="{}">{}</select>'
             '</p>').format(fid, label, fid, name, opts)


def problem_html(problem: Optional[Dict[str, Any]]) -> Html:
    if not problem:
        return M("")
    return M('<span class="problem">{}</span>').format(view.problem_text(problem))


def error(message: str, back: str) -> Html:
    return M('<p class="error" role="alert">{}</p><p><a href="{}">Back</a></p>').format(
        message, back)


class Context:
    """What a page needs: the server, URL building, the CSRF token, its own URL."""

    def __init__(self, server: Any, url_for: UrlFor, token: str, here: str) -> None:
        self.server, self.url_for, self.token, self.here = server, url_for, token, here
