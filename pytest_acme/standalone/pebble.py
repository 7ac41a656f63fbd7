"""Pebble compatibility: its JSON config file and its environment variables.

:func:`from_pebble` turns them into pytest-acme settings, the management
address, faults to arm, and a list of warnings (printed at start-up: nothing is
ignored silently).  A config file (or ``-strict``, ``-dnsserver``) also turns on
``pebble`` mode (:data:`pytest_acme.config.PEBBLE_PARTS`): Pebble's terms of
service, issuer names, leaves without a CN, RSA key rules and problem wording.

Every key of Pebble's config file (``cmd/pebble/main.go``; Go matches the names
without regard to case, and so does this) and how it is honoured:

=================================  ==================================================
``listenAddress``                  ``host`` and ``port``
``managementListenAddress``        the management API's address (``""`` or null,
                                   which switch Pebble's off, leave it on its default
                                   port: it changes nothing an ACME client sees)
``certificate``, ``privateKey``    ``tls_certificate``, ``tls_private_key``
``httpPort``, ``tlsPort``          ``http01_port``, ``tlsalpn01_port``
``ocspResponderURL``               see its branch below
``externalAccountBindingRequired`` ``eab_required``
``externalAccountMACKeys``         ``eab_keys``
``domainBlocklist``                ``domain_blocklist``: each name and every name
                                   below it get ``rejectedIdentifier``
``certificateValidityPeriod``      ``certificate_validity`` (seconds); Pebble's
                                   default, 5 years, when 0 or absent
``retryAfter.authz``, ``.order``   ``retry_after_authz``, ``retry_after_order``
``keyAlgorithm``                   ``ca_key_type`` (``rsa``, Pebble's default, or
                                   ``ecdsa``)
``profiles``                       ``profiles``: ``description`` and
                                   ``validityPeriod`` of each; orders naming none get
                                   ``default`` (else the first) where Pebble draws one
``caaIdentities``                  ``caa_identities``
=================================  ==================================================

A key Pebble does not know is reported and left out, as Go's decoder leaves it.

Pebble's environment variables:

================================  ===================================================
``PEBBLE_VA_NOSLEEP``             nothing to do: validation never sleeps here
``PEBBLE_VA_SLEEPTIME``           nothing to do, for the same reason
``PEBBLE_VA_ALWAYS_VALID``        ``validation="always_valid"``
``PEBBLE_WFE_NONCEREJECT``        a :func:`~pytest_acme.faults.bad_nonce` fault at
                                  that percentage (Pebble's default of 5 % is not
                                  applied unless the variable is set)
``PEBBLE_WFE_ORDERS_PER_PAGE``    ``orders_per_page``
``PEBBLE_AUTHZREUSE``             ``authz_reuse_valid`` (drawn from the seeded
                                  generator; Pebble's default of 50 % is not applied
                                  unless the variable is set)
``PEBBLE_CHAIN_LENGTH``           ``chain_length``
``PEBBLE_ALTERNATE_ROOTS``        ``alternate_roots``
================================  ===================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..faults import Fault, bad_nonce


@dataclass
class PebbleSettings:
    settings: Dict[str, Any] = field(default_factory=dict)
    management: Optional[Tuple[str, int]] = None
    faults: List[Fault] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)


def _address(value: str, what: str) -> Tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{what} must be 'host:port', got {value!r}")
    return (host.strip("[]") or "0.0.0.0"), int(port)


def read_config(path: str) -> Mapping[str, Any]:
    """The ``pebble`` object of a Pebble JSON config file."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read Pebble config {path}: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("pebble"), dict):
        raise ValueError(f"{path} is not a Pebble config: expected {{\"pebble\": {{...}}}}")
    return doc["pebble"]


#: Pebble's config keys by their lower-case form (Go decodes JSON names without
#: regard to case).
PEBBLE_KEYS = {k.lower(): k for k in (
    "listenAddress", "managementListenAddress", "certificate", "privateKey", "httpPort",
    "tlsPort", "ocspResponderURL", "externalAccountBindingRequired",
    "externalAccountMACKeys", "domainBlocklist", "certificateValidityPeriod", "retryAfter",
    "keyAlgorithm", "profiles", "caaIdentities")}
#: Pebble's certificate lifetime when ``certificateValidityPeriod`` is 0 or absent.
PEBBLE_VALIDITY = 157766400


def from_pebble(config: Optional[Mapping[str, Any]], env: Mapping[str, str]) -> PebbleSettings:
    """Translate Pebble's config file (the ``pebble`` object) and environment."""
    out = PebbleSettings()
    s, warn = out.settings, out.warnings
    if config is not None:
        # Pebble's defaults for two keys a config may leave out.
        s["certificate_validity"] = PEBBLE_VALIDITY
        s["ca_key_type"] = "rsa"
    for given, value in (config or {}).items():
        key = PEBBLE_KEYS.get(str(given).lower(), given)
        if key == "listenAddress":
            s["host"], s["port"] = _address(value, key)
        elif key == "managementListenAddress":
            if value:  # "" or null switches Pebble's management interface off
                out.management = _address(value, key)
        elif key == "certificate":
            s["tls_certificate"] = value
        elif key == "privateKey":
            s["tls_private_key"] = value
        elif key == "httpPort":
            s["http01_port"] = int(value)
        elif key == "tlsPort":
            s["tlsalpn01_port"] = int(value)
        elif key == "retryAfter":
            if not isinstance(value, dict):
                raise ValueError('retryAfter must be {"authz": N, "order": N}, '
                                 f"got {value!r}")
            for name, seconds in value.items():
                setting = {"authz": "retry_after_authz", "order": "retry_after_order"}.get(
                    str(name).lower())
                if setting is None:
                    warn.append(f"retryAfter.{name} is not one of Pebble's (authz, order); "
                                "left out")
                elif isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
                    raise ValueError(f"retryAfter.{name} must be whole seconds, got {seconds!r}")
                else:
                    s[setting] = seconds
        elif key == "keyAlgorithm":
            algorithm = str(value).lower()
            if algorithm not in ("rsa", "ecdsa"):
                raise ValueError(f"keyAlgorithm must be 'rsa' or 'ecdsa', got {value!r}")
            s["ca_key_type"] = algorithm
        elif key == "ocspResponderURL":
            if value:  # Pebble names it in every leaf's Authority Information Access
                s["ocsp_responder_url"] = str(value)
        elif key == "externalAccountBindingRequired":
            s["eab_required"] = bool(value)
        elif key == "externalAccountMACKeys":
            if not isinstance(value, dict):
                raise ValueError("externalAccountMACKeys must map key ids to base64url MAC keys")
            s["eab_keys"] = dict(value)
        elif key == "caaIdentities":
            if value:
                s["caa_identities"] = tuple(value)
        elif key == "profiles":
            s["profiles"], s["default_profile"] = _profiles(value, warn)
        elif key == "domainBlocklist":
            if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
                raise ValueError(f"domainBlocklist must be a list of domain names, got {value!r}")
            s["domain_blocklist"] = tuple(value)
        elif key == "certificateValidityPeriod":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"certificateValidityPeriod must be whole seconds, got {value!r}")
            s["certificate_validity"] = value or PEBBLE_VALIDITY
        else:
            warn.append(f"unknown Pebble option {given!r} left out (Pebble ignores it too)")

    if env.get("PEBBLE_VA_ALWAYS_VALID", "0") not in ("", "0", "false"):
        s["validation"] = "always_valid"
    # PEBBLE_VA_NOSLEEP and PEBBLE_VA_SLEEPTIME need nothing: pytest-acme never sleeps
    # before validating.
    reject = env.get("PEBBLE_WFE_NONCEREJECT")
    if reject not in (None, "", "0"):
        try:
            rate = int(reject) / 100
        except ValueError:
            raise ValueError(f"PEBBLE_WFE_NONCEREJECT must be a percentage, got {reject!r}") \
                from None
        if rate > 0:
            out.faults.append(bad_nonce(rate=min(rate, 1.0), times=None))
    per_page = env.get("PEBBLE_WFE_ORDERS_PER_PAGE")
    if per_page:
        s["orders_per_page"] = int(per_page)
    reuse = env.get("PEBBLE_AUTHZREUSE")
    if reuse not in (None, ""):
        # Pebble reuses that percentage of valid authorizations; here the draws come
        # from the seeded generator, so a run replays with the same --seed.
        try:
            percent = int(reuse)
        except ValueError:
            raise ValueError(f"PEBBLE_AUTHZREUSE must be a percentage, got {reuse!r}") from None
        s["authz_reuse_valid"] = min(max(percent, 0), 100) / 100
    # Pebble: the number of intermediates (default and minimum 1), and extra roots.
    for name, setting, low in (("PEBBLE_CHAIN_LENGTH", "chain_length", 1),
                               ("PEBBLE_ALTERNATE_ROOTS", "alternate_roots", 0)):
        value = env.get(name)
        if value in (None, ""):
            continue
        if not value.strip().isdigit() or not low <= int(value) <= 10:
            raise ValueError(f"{name} must be a whole number {low}..10, got {value!r}")
        s[setting] = int(value)
    return out


def _profiles(value: Any, warn: List[str]) -> Tuple[Dict[str, Any], Optional[str]]:
    """Pebble's ``profiles``: {name: {"description", "validityPeriod"}}.  Pebble picks a
    random profile for orders that name none; here it is ``default`` if there is one,
    else the first."""
    if not isinstance(value, dict):
        raise ValueError(f"profiles must be an object of name -> profile, got {value!r}")
    out: Dict[str, Any] = {}
    for name, spec in value.items():
        if not isinstance(spec, dict):
            raise ValueError(f"profiles.{name} must be an object, got {spec!r}")
        profile: Dict[str, Any] = {"description": str(spec.get("description", name))}
        if spec.get("validityPeriod"):
            profile["validity"] = int(spec["validityPeriod"])
        if "commonName" in spec:  # pytest-acme's addition; Pebble always sets a CN
            profile["common_name"] = bool(spec["commonName"])
        unknown = set(spec) - {"description", "validityPeriod", "commonName"}
        if unknown:
            warn.append(f"profiles.{name}: {', '.join(sorted(unknown))} ignored")
        out[name] = profile
    default = "default" if "default" in out else next(iter(out), None)
    if len(out) > 1:
        warn.append(f"profiles: orders that name no profile get {default!r} (Pebble picks "
                    "one at random)")
    return out, default
