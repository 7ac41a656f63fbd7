"""The console's pages: one function per page, each rendering what :mod:`.view` reads.

The pages are built from the blocks of :mod:`.blocks`, whose templates escape
every value put into them.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, List, Optional, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ..faults import ENDPOINTS
from ..protocol import problems
from ..protocol.resources import CHALLENGE_TYPES, rfc3339
from . import actions, view
from .blocks import (
    Context,
    Html,
    M,
    field,
    fields,
    form,
    join,
    link,
    live,
    problem_html,
    select,
    status,
    table,
    when,
)

# -- overview ------------------------------------------------------------------------


def overview(ctx: "Context") -> Html:
    o = view.overview(ctx.server)
    by_status = join(M("<li>{}: <strong>{}</strong></li>").format(
        status(s), n) for s, n in o.orders_by_status.items())
    offset = o.offset.total_seconds()
    info = fields([
        ("Directory", link(o.directory_url, o.directory_url)),
        ("Seed", o.seed),
        ("Server clock", M("{} <span class=\"age\">(wall time + {})</span>").format(
            rfc3339(o.now), f"{offset:g} s" if offset < 120 else view.human_duration(o.offset))),
        ("Validation", o.validation),
        ("Accounts", link(ctx.url_for("accounts"), o.accounts)),
        ("Orders", M('<ul class="counts">{}</ul>').format(by_status)),
        ("Certificates", link(ctx.url_for("certificates"), o.certificates)),
        ("Faults", link(ctx.url_for("faults"), f"{o.faults_armed} armed, {o.faults_fired} fired")),
        ("Requests", link(ctx.url_for("requests"), o.requests)),
    ])
    return join([live("overview-data", info), clock_forms(ctx), reset_form(ctx)])


def clock_forms(ctx: "Context") -> Html:
    units = [(u, u) for u in actions.UNITS]
    parts = [M("<h2>Clock</h2>"), form(
        ctx.url_for, ctx.token, "clock_advance",
        join([field("amount", "Advance by", kind="number", value="", required=True,
                     id_prefix="advance-", extra=M(' min="0"')),
              select("unit", "Unit", units, selected="hours", id_prefix="advance-")]),
        label="Advance the clock", next_url=ctx.here, css="inline")]
    if view.clock_can_set(ctx.server):
        parts.append(form(ctx.url_for, ctx.token, "clock_set",
                          field("when", "Set to (UTC)", kind="datetime-local", required=True,
                                id_prefix="set-", extra=M(' step="1"')),
                          label="Set the clock", next_url=ctx.here, css="inline"))
    return join(parts)


def reset_form(ctx: "Context") -> Html:
    return M("<h2>Reset</h2><p>Forget every account, order, certificate, fault, DNS record "
             "and log entry, and put the clock back to wall time. The CA stays.</p>{}").format(
        form(ctx.url_for, ctx.token, "reset", M(""), label="Reset the server",
             next_url=ctx.url_for("overview"), css="danger"))


# -- orders ---------------------------------------------------------------------------


def orders(ctx: "Context", status_filter: str, identifier: str) -> Html:
    infos = view.orders(ctx.server, status_filter, identifier)
    now = ctx.server.clock.now()
    rows = [(link(ctx.url_for("order", id=o.id), o.id), status(o.status),
             ", ".join(str(i) for i in o.identifiers), link(ctx.url_for("account",
             id=o.account_url.rsplit("/", 1)[-1]), o.account_url.rsplit("/", 1)[-1]),
             o.profile or "-", when(o.expires, now)) for o in infos]
    choices = [("", "any")] + [(s, s) for s in view.ORDER_STATUSES]
    filters = M('<form method="get" action="{}" class="inline filters" role="search">{}{}'
                '<button type="submit">Filter</button></form>').format(
        ctx.url_for("orders"), select("status", "Status", choices, selected=status_filter),
        field("identifier", "Identifier contains", value=identifier))
    return join([filters, live("orders-table", table(
        ("Order", "Status", "Identifiers", "Account", "Profile", "Expires"), rows,
        "No orders" + (" match." if status_filter or identifier else " yet.")))])


def order(ctx: "Context", info: Any) -> Html:
    now = ctx.server.clock.now()
    summary = fields([
        ("URL", info.url),
        ("Status", M("{}{}").format(status(info.status), M(" (stored {})").format(
            info.stored_status.value) if info.stored_status != info.status else M(""))),
        ("Identifiers", ", ".join(str(i) for i in info.identifiers)),
        ("Account", link(ctx.url_for("account", id=_last(info.account_url)), info.account_url)),
        ("Created", when(info.created, now)),
        ("Expires", when(info.expires, now)),
        ("Profile", info.profile or "-"),
        ("Replaces", info.replaces or "-"),
        ("Error", problem_html(info.error) or "-"),
        ("Certificate", link(ctx.url_for("certificate", id=_last(info.certificate_url)),
                             info.certificate_url) if info.certificate_url else "-"),
    ])
    authzs = join(authorization_block(ctx, a, now) for a in info.authorizations)
    cert = M("")
    if info.certificate_url:
        c = view.certificate(ctx.server, _last(info.certificate_url))
        if c is not None:
            cert = M("<h2>Certificate</h2>{}").format(certificate_fields(ctx, c, now))
    body = join([
        summary, M("<h2>Authorizations</h2>"), authzs or M('<p class="empty">None.</p>'), cert,
        M("<h2>Events</h2>"), events_table(info.events, now),
    ])
    # The <details> stays outside the live part, so polling never closes it.
    describe = M('<details class="describe"><summary>describe() text</summary>'
                 '<pre id="order-describe" data-live>{}</pre></details>').format(
        view.describe_text(ctx.server, info))
    return join([live("order-detail", body), describe, clock_forms(ctx)])


def authorization_block(ctx: "Context", a: Any, now: dt.datetime) -> Html:
    challenges = table(
        ("Type", "Status", "Validated", "Error", "Validation record"),
        [(c.type, status(c.status), when(c.validated, now) if c.validated else "-",
          problem_html(c.error) or "-",
          M("<pre>{}</pre>").format(json.dumps(c.validation_record, indent=1, default=str))
          if c.validation_record else "-") for c in a.challenges], "No challenges.")
    return M('<section class="authz"><h3>{} {} <a href="{}">{}</a></h3>'
             '<p>Expires {}</p>{}</section>').format(
        str(a.identifier) + (" (wildcard)" if a.wildcard else ""), status(a.status),
        ctx.url_for("authorization", id=a.id), a.id, when(a.expires, now), challenges)


def events_table(events: Sequence[Any], now: dt.datetime) -> Html:
    rows = [(when(e.time, now), e.reason, e.message) for e in reversed(list(events))]
    return table(("Time", "Reason", "Message"), rows, "No events.")


def _last(url: Optional[str]) -> str:
    return (url or "").rstrip("/").rsplit("/", 1)[-1]


# -- accounts, authorizations -------------------------------------------------------


def accounts(ctx: "Context") -> Html:
    now = ctx.server.clock.now()
    rows = [(link(ctx.url_for("account", id=a.id), a.id), status(a.status),
             ", ".join(a.contact) or "-", len(a.order_urls), when(a.created, now))
            for a in view.accounts(ctx.server)]
    return live("accounts-table", table(("Account", "Status", "Contact", "Orders", "Created"),
                                        rows, "No accounts yet."))


def account(ctx: "Context", info: Any) -> Html:
    now = ctx.server.clock.now()
    orders_list = join(M("<li>{}</li>").format(link(ctx.url_for("order", id=_last(u)), u))
                       for u in info.order_urls)
    return live("account-detail", join([
        fields([("URL", info.url), ("Status", status(info.status)),
                ("Contact", ", ".join(info.contact) or "-"),
                ("EAB key id", info.external_account or "-"),
                ("Created", when(info.created, now))]),
        M("<h2>Orders</h2>"),
        M("<ul>{}</ul>").format(orders_list) if orders_list else M('<p class="empty">None.</p>'),
        M("<h2>Events</h2>"), events_table(info.events, now)]))


def authorizations(ctx: "Context") -> Html:
    now = ctx.server.clock.now()
    rows = [(link(ctx.url_for("authorization", id=a.id), a.id), status(a.status),
             str(a.identifier) + (" (wildcard)" if a.wildcard else ""),
             ", ".join(f"{c.type} {c.status.value}" for c in a.challenges),
             when(a.expires, now)) for a in view.authorizations(ctx.server)]
    return live("authorizations-table", table(
        ("Authorization", "Status", "Identifier", "Challenges", "Expires"), rows,
        "No authorizations yet."))


def authorization(ctx: "Context", info: Any) -> Html:
    now = ctx.server.clock.now()
    orders_list = join(M("<li>{}</li>").format(link(ctx.url_for("order", id=_last(u)), u))
                       for u in info.order_urls)
    return live("authorization-detail", join([
        fields([("URL", info.url),
                ("Account", link(ctx.url_for("account", id=_last(info.account_url)),
                                 info.account_url)),
                ("Made by", "newAuthz" if info.preauthorized else "newOrder")]),
        authorization_block(ctx, info, now),
        M("<h2>Orders</h2><ul>{}</ul>").format(orders_list)]))


# -- certificates ---------------------------------------------------------------------


def revocation(c: Any, now: dt.datetime) -> Html:
    if c.revoked_at is not None:
        return M("{} {} (reason {})").format(status("revoked"), when(c.revoked_at, now),
                                             c.revocation_reason)
    return status("expired") if c.expired else status("valid")


def certificates(ctx: "Context") -> Html:
    now = ctx.server.clock.now()
    rows = [(link(ctx.url_for("certificate", id=c.id), f"{c.serial:x}"),
             revocation(c, now), ", ".join(sorted(_names(c))), when(c.not_after, now),
             link(ctx.url_for("order", id=_last(c.order_url)), _last(c.order_url)))
            for c in view.certificates(ctx.server)]
    return live("certificates-table", table(
        ("Serial", "Revocation", "Names", "Not after", "Order"), rows,
        "No certificates yet."))


def _names(c: Any) -> List[str]:
    try:
        san = c.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [str(v) for v in san.value.get_values_for_type(x509.DNSName)] + [
        str(v) for v in san.value.get_values_for_type(x509.IPAddress)]


def certificate_fields(ctx: "Context", c: Any, now: dt.datetime) -> Html:
    chain = [c.certificate] + _chain_rest(c)
    issuers = join(M("<li>{}</li>").format(x.subject.rfc4514_string()) for x in chain)
    return fields([
        ("Serial", f"{c.serial:x}"),
        ("Names", ", ".join(_names(c))),
        ("Not before", when(c.not_before, now)),
        ("Not after", when(c.not_after, now)),
        ("Revocation", revocation(c, now)),
        ("CertID", c.cert_id),
        ("Chain", M("<ol>{}</ol>").format(issuers)),
        ("PEM", link(ctx.url_for("certificate_pem", id=c.id), "download the chain")),
        ("Certificate page", link(ctx.url_for("certificate", id=c.id), c.id)),
    ])


def _chain_rest(c: Any) -> List[Any]:
    return list(x509.load_pem_x509_certificates(c.chain_pem))[1:]


def certificate(ctx: "Context", c: Any) -> Html:
    now = ctx.server.clock.now()
    renewal = form(ctx.url_for, ctx.token, "renewal", join([
        field("start", "Window start (UTC)", kind="datetime-local", id_prefix="ari-",
              extra=M(' step="1"')),
        field("end", "Window end (UTC)", kind="datetime-local", id_prefix="ari-",
              extra=M(' step="1"'), hint="the same as start means: renew now"),
        field("explanation_url", "Explanation URL", kind="url", id_prefix="ari-"),
    ]), label="Set the renewal window", next_url=ctx.here, id=c.id)
    default = form(ctx.url_for, ctx.token, "renewal",
                   M('<input type="hidden" name="default" value="1">'),
                   label="Back to the default window", next_url=ctx.here, id=c.id)
    return join([
        live("certificate-detail", join([
            fields([("Order", link(ctx.url_for("order", id=_last(c.order_url)), c.order_url)),
                    ("Account", c.account_url),
                    ("Replaced by", ", ".join(c.replaced_by) or "-")]),
            certificate_fields(ctx, c, now)])),
        M("<h2>Renewal window (ARI)</h2>"), renewal, default])


def certificate_pem(c: Any) -> bytes:
    return c.chain_pem or c.certificate.public_bytes(serialization.Encoding.PEM)


# -- requests ---------------------------------------------------------------------------


def requests(ctx: "Context") -> Html:
    now = ctx.server.clock.now()
    rows = [(link(ctx.url_for("request", number=n), n), when(r.time, now), r.method, r.path,
             r.status, r.account or "-", r.problem or "-")
            for n, r in view.requests(ctx.server)]
    return live("requests-table", table(
        ("#", "Time", "Method", "Path", "Status", "Account", "Problem"), rows,
        "No requests yet."))


def request(ctx: "Context", number: int, record: Any) -> Html:
    now = ctx.server.clock.now()
    doc = None
    if record.problem:
        doc = {"type": f"urn:ietf:params:acme:error:{record.problem}",
               "detail": record.detail or "", "status": record.status}
    return join([
        fields([("Time", when(record.time, now)), ("Method", record.method),
                ("Path", record.path), ("Status", record.status),
                ("Account", record.account or "-")]),
        M("<h2>Problem document</h2>"),
        M("<pre>{}</pre>").format(json.dumps(doc, indent=2)) if doc
        else M('<p class="empty">No problem: the request succeeded.</p>')])


# -- faults --------------------------------------------------------------------------------


def faults(ctx: "Context") -> Html:
    now = ctx.server.clock.now()
    armed = [(f.describe(), form(ctx.url_for, ctx.token, "fault_disarm",
                                 M('<input type="hidden" name="fault_id" value="{}">').format(
                                     actions.fault_id(f)),
                                 label="Disarm", says=f"Disarm {f.describe()}",
                                 next_url=ctx.here, css="inline"))
             for f in view.armed_faults(ctx.server)]
    fired = [(when(f.time, now), f.fault.describe(), f.where,
              link(ctx.url_for("order", id=f.order_id), f.order_id) if f.order_id else "-")
             for f in view.fired_faults(ctx.server)]
    clear = form(ctx.url_for, ctx.token, "faults_clear", M(""),
                 label="Disarm all and forget firings", next_url=ctx.here)
    return join([
        M("<h2>Armed</h2>"), live("faults-armed", table(("Fault", ""), armed, "None armed.")),
        clear,
        M("<h2>Fired</h2>"), live("faults-fired", table(("Time", "Fault", "Where", "Order"),
                                                        fired, "None fired.")),
        M("<h2>Arm a fault</h2>"), fault_forms(ctx)])


def fault_forms(ctx: "Context") -> Html:
    """One form per fault constructor, its fields taken from the constructor."""
    lists = {"problem": sorted(problems.BY_TYPE), "endpoint": list(ENDPOINTS),
             "type": list(CHALLENGE_TYPES)}
    datalists = join(M('<datalist id="list-{}">{}</datalist>').format(
        name, join(M('<option value="{}">').format(v) for v in values))
        for name, values in lists.items())
    parts = [datalists]
    for name, fn in actions.FAULTS.items():
        doc = (fn.__doc__ or "").strip().split("\n\n")[0]
        inputs = []
        for f in actions.fault_fields(name):
            prefix = f"{name}-"
            if f.kind == "checkbox":
                inputs.append(M('<p class="field check"><input id="{}{}" name="{}" '
                                'type="checkbox" value="1"><label for="{}{}">{}</label></p>'
                                ).format(prefix, f.name, f.name, prefix, f.name, f.name))
                continue
            hint = ("required" if f.required else f"default {f.default!r}") + (
                "; type None for None" if f.optional else "")
            extra = (M(' list="list-{}"').format(f.name) if f.name in lists else M(""))
            inputs.append(field(f.name, f.name, kind=f.kind, hint=hint, id_prefix=prefix,
                                extra=extra, required=f.required))
        inputs.append(M('<input type="hidden" name="fault" value="{}">').format(name))
        parts.append(M('<details class="fault" id="fault-{}"><summary>{}</summary>'
                       '<p class="doc">{}</p>{}</details>').format(
            name, name, " ".join(doc.split()),
            form(ctx.url_for, ctx.token, "fault_arm", join(inputs), label=f"Arm {name}",
                 next_url=ctx.here)))
    return join(parts)


# -- DNS -------------------------------------------------------------------------------------


def dns(ctx: "Context") -> Html:
    rows = [(name, rtype, value or "-", form(
        ctx.url_for, ctx.token, "dns", M(
            '<input type="hidden" name="op" value="clear"><input type="hidden" name="type" '
            'value="{}"><input type="hidden" name="name" value="{}">').format(rtype, name),
        label="Clear", says=f"Clear {rtype} {value} at {name}".replace("  ", " "),
        next_url=ctx.here, css="inline"))
        for name, rtype, value in view.zone_records(ctx.server)]
    edit = form(ctx.url_for, ctx.token, "dns", join([
        select("type", "Type", [(t, t) for t in actions.DNS_TYPES], id_prefix="dns-"),
        field("name", "Name", id_prefix="dns-", required=True,
              hint="e.g. _acme-challenge.example.test"),
        field("value", "Value", id_prefix="dns-",
              hint='TXT text, an address, a CNAME target, or CAA as: 0 issue "ca.example"; '
                   "none for SERVFAIL"),
        select("op", "Action", [("set", "add"), ("clear", "clear every record of the type")],
               id_prefix="dns-"),
    ]), label="Apply", next_url=ctx.here)
    return join([
        M("<p>Every name without records resolves to the default address "
          "(127.0.0.1 unless changed).</p>"),
        live("dns-records", table(("Name", "Type", "Value", ""), rows, "No records set.")),
        M("<h2>Edit</h2>"), edit])
