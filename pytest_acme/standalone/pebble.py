"""Pebble compatibility: its JSON config file and its environment variables.

:func:`from_pebble` turns them into pytest-acme settings, the management
address, faults to arm, and a list of warnings for every option that cannot be
honoured (printed at start-up: nothing is ignored silently).
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


def from_pebble(config: Optional[Mapping[str, Any]], env: Mapping[str, str]) -> PebbleSettings:
    """Translate Pebble's config file (the ``pebble`` object) and environment."""
    out = PebbleSettings()
    s, warn = out.settings, out.warnings
    for key, value in (config or {}).items():
        if key == "listenAddress":
            s["host"], s["port"] = _address(value, key)
        elif key == "managementListenAddress":
            out.management = _address(value, key)
        elif key == "certificate":
            s["tls_certificate"] = value
        elif key == "privateKey":
            s["tls_private_key"] = value
        elif key == "httpPort":
            s["http01_port"] = int(value)
        elif key == "tlsPort":
            s["tlsalpn01_port"] = int(value)
        elif key == "retryAfter" and isinstance(value, dict):
            values = [int(v) for v in value.values() if isinstance(v, (int, float))]
            if values:
                s["retry_after"] = max(values)
                if len(set(values)) > 1:
                    warn.append(f"retryAfter {value}: one Retry-After value serves "
                                f"authorizations and orders here; using {s['retry_after']}")
        elif key == "keyAlgorithm":
            s["ca_key_type"] = "rsa" if str(value).lower().startswith("rsa") else "ecdsa"
        elif key == "ocspResponderURL":
            if value:  # Pebble names it in every leaf's Authority Information Access
                s["ocsp_responder_url"] = str(value)
        elif key == "externalAccountBindingRequired":
            s["eab_required"] = bool(value)
        elif key == "externalAccountMACKeys":
            if not isinstance(value, dict):
                raise ValueError("externalAccountMACKeys must map key ids to base64url MAC keys")
            s["eab_keys"] = dict(value)
        elif key == "caaIdentities" and value:
            s["caa_identities"] = tuple(value)
        elif key == "profiles":
            s["profiles"], s["default_profile"] = _profiles(value, warn)
        elif key in ("domainBlocklist", "caaIdentities"):
            if value:
                warn.append(f"{key} is not supported yet and is ignored")
        else:
            warn.append(f"unknown Pebble option {key!r} ignored")

    if env.get("PEBBLE_VA_ALWAYS_VALID", "0") not in ("", "0", "false"):
        s["validation"] = "always_valid"
    # PEBBLE_VA_NOSLEEP needs nothing: pytest-acme never sleeps before validating.
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
