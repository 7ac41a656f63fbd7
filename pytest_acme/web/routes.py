"""The one route table.  Every URL the server hands out is built from it."""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

from werkzeug.routing import Map, MapAdapter, Rule

#: Endpoints reached with a plain GET (or HEAD); every other resource is POST-as-GET.
#: Orders, authorizations, challenges and certificates also route GET, which is
#: answered only when ``plain_get`` is on (Boulder) and refused with 405 otherwise.
RULES = Map(
    [
        Rule("/directory", endpoint="directory", methods=["GET"]),
        Rule("/dir", endpoint="directory", methods=["GET"]),  # Pebble's path
        Rule("/terms", endpoint="terms", methods=["GET"]),
        Rule("/acme/new-nonce", endpoint="new_nonce", methods=["GET", "HEAD"]),
        Rule("/acme/new-account", endpoint="new_account", methods=["POST"]),
        Rule("/acme/new-order", endpoint="new_order", methods=["POST"]),
        Rule("/acme/acct/<id>", endpoint="account", methods=["POST"]),
        Rule("/acme/acct/<id>/orders", endpoint="account_orders", methods=["POST"]),
        Rule("/acme/order/<id>", endpoint="order", methods=["POST", "GET"]),
        Rule("/acme/order/<id>/finalize", endpoint="finalize", methods=["POST"]),
        Rule("/acme/authz/<id>", endpoint="authz", methods=["POST", "GET"]),
        Rule("/acme/chall/<id>", endpoint="challenge", methods=["POST", "GET"]),
        Rule("/acme/cert/<id>", endpoint="certificate", methods=["POST", "GET"]),
        Rule("/acme/revoke-cert", endpoint="revoke_cert", methods=["POST"]),
        Rule("/acme/key-change", endpoint="key_change", methods=["POST"]),
        Rule("/acme/new-authz", endpoint="new_authz", methods=["POST"]),
        Rule("/acme/cert/<id>/alternate/<int:n>", endpoint="certificate_alternate",
             methods=["POST"]),
        Rule("/acme/renewal-info", endpoint="renewal_info_base", methods=["GET"]),
        Rule("/acme/renewal-info/<path:cert_id>", endpoint="renewal_info", methods=["GET"]),
        Rule("/crl/<index>", endpoint="crl", methods=["GET"]),
        # OCSP (RFC 6960 Appendix A.1): POST the request, or GET it as base64 in
        # the path, where '/' is one of its letters: so no slash merging, and a
        # doubled slash after /ocsp (a naive join) is accepted, as Boulder did.
        Rule("/ocsp", endpoint="ocsp", methods=["GET", "POST"]),
        Rule("/ocsp/<path:request>", endpoint="ocsp", methods=["GET"], merge_slashes=False),
        Rule("/ocsp//<path:request>", endpoint="ocsp", methods=["GET"], merge_slashes=False),
    ],
    strict_slashes=False,
)

#: Every endpoint name of :data:`RULES`, once each, in table order: what faults
#: may target, so a new route can be targeted the moment it is added.
ENDPOINT_NAMES: Tuple[str, ...] = tuple(dict.fromkeys(str(rule.endpoint)
                                                      for rule in RULES.iter_rules()))


class FastRoutes:
    """The rules of a :class:`Map` whose parts are fixed text or plain ``<name>``
    segments, matched by a dict lookup and a comparison of segments.

    :meth:`match` answers only a request that such a rule accepts, with the
    endpoint and arguments Werkzeug's matcher would give; anything else (a
    wrong method, a trailing or doubled slash, an ``<int:...>`` or
    ``<path:...>`` rule, no rule at all) gets None, and the caller asks
    Werkzeug, which also makes the 404, 405 or redirect.  Werkzeug's matcher
    costs tens of microseconds per request; this costs one or two.
    """

    def __init__(self, rules: Map) -> None:
        #: path -> (endpoint, methods)
        self._fixed: Dict[str, Tuple[str, frozenset]] = {}
        #: segment count -> [(segments, None where a <name> goes; names; endpoint; methods)]
        self._shaped: Dict[int, List[Tuple[Tuple[Optional[str], ...], Tuple[str, ...], str,
                                            frozenset]]] = {}
        for rule in rules.iter_rules():
            methods = frozenset(rule.methods or ())
            segments = rule.rule.split("/")
            if "<" not in rule.rule:
                self._fixed[rule.rule] = (str(rule.endpoint), methods)
                continue
            shape: List[Optional[str]] = []
            names: List[str] = []
            for segment in segments:
                plain = _PLAIN_ARGUMENT.fullmatch(segment)
                if plain:
                    shape.append(None)
                    names.append(plain.group(1))
                elif "<" in segment or ">" in segment:
                    break  # a converter: Werkzeug matches this rule
                else:
                    shape.append(segment)
            else:
                self._shaped.setdefault(len(shape), []).append(
                    (tuple(shape), tuple(names), str(rule.endpoint), methods))

    def match(self, path: str, method: str) -> Optional[Tuple[str, Dict[str, str]]]:
        fixed = self._fixed.get(path)
        if fixed is not None:
            return (fixed[0], {}) if method in fixed[1] else None
        segments = path.split("/")
        for shape, names, endpoint, methods in self._shaped.get(len(segments), ()):
            values = []
            for want, got in zip(shape, segments):
                if want is None:
                    if not got:
                        break
                    values.append(got)
                elif want != got:
                    break
            else:
                if method not in methods:
                    return None
                return endpoint, dict(zip(names, values))
        return None


_PLAIN_ARGUMENT = re.compile(r"<([A-Za-z_][A-Za-z0-9_]*)>")
FAST_ROUTES = FastRoutes(RULES)

#: Ids that URL building leaves as they are (every id the store makes is one).
_PLAIN_ID = re.compile(r"[A-Za-z0-9_-]+")
_SLOT = "--id--"


class Urls:
    """External URLs of the server's resources, for one host name.

    Built from :data:`RULES` bound to a request (so a client that reached the
    server as ``localhost`` gets ``localhost`` URLs) or to the server's own base URL.
    Each endpoint's URL is built by the map once; later URLs fill in its one
    argument (an id, a CRL index).
    """

    def __init__(self, adapter: MapAdapter) -> None:
        self._adapter = adapter
        self.base = f"{adapter.url_scheme}://{adapter.server_name}{adapter.script_name.rstrip('/')}"
        self._templates: Dict[Tuple[str, Optional[str]], Tuple[str, str]] = {}
        self._account_prefix = self.build("account", id="_")[:-1]

    @classmethod
    def for_base(cls, base_url: str) -> "Urls":
        scheme, _, host = base_url.partition("://")
        return cls(RULES.bind(host, url_scheme=scheme))

    def build(self, endpoint: str, **values: str) -> str:
        if len(values) == 1:
            (name, value), = values.items()
            if isinstance(value, str) and _PLAIN_ID.fullmatch(value):
                head, tail = self._template(endpoint, name)
                if head:
                    return head + value + tail
        elif not values:
            return self._template(endpoint, None)[0]
        return self._adapter.build(endpoint, values, force_external=True)

    def _template(self, endpoint: str, name: Optional[str]) -> Tuple[str, str]:
        """The endpoint's URL around its one argument ``name`` (the whole URL when it
        takes none), built by the map once; ``("", "")`` when the argument's
        converter does not take plain text."""
        key = (endpoint, name)
        template = self._templates.get(key)
        if template is None:
            if name is None:
                template = (self._adapter.build(endpoint, {}, force_external=True), "")
            else:
                try:
                    built = self._adapter.build(endpoint, {name: _SLOT}, force_external=True)
                except ValueError:  # a converter that is not plain text
                    built = ""
                head, slot, tail = built.partition(_SLOT)
                template = (head, tail) if slot else ("", "")
            self._templates[key] = template
        return template

    def directory(self) -> str:
        return self.build("directory")

    def account(self, id: str) -> str:
        return self.build("account", id=id)

    def account_orders(self, id: str, cursor: Optional[int] = None) -> str:
        url = self.build("account_orders", id=id)
        return url if not cursor else f"{url}?cursor={cursor}"

    def order(self, id: str) -> str:
        return self.build("order", id=id)

    def finalize(self, id: str) -> str:
        return self.build("finalize", id=id)

    def authz(self, id: str) -> str:
        return self.build("authz", id=id)

    def challenge(self, id: str) -> str:
        return self.build("challenge", id=id)

    def certificate(self, id: str) -> str:
        return self.build("certificate", id=id)

    def account_id_from_kid(self, kid: str) -> Optional[str]:
        """The account id in a JWS ``kid``, if it is one of this server's account URLs."""
        if not kid.startswith(self._account_prefix):
            return None
        rest = kid[len(self._account_prefix):]
        return rest if rest and "/" not in rest and "?" not in rest else None
