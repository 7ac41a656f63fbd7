"""The parts of behaviour that ``boulder`` and ``pebble`` switch, and their defaults.

Each part is a setting of :class:`~pytest_acme.AcmeConfig` left at None unless
set; :meth:`~pytest_acme.AcmeConfig.effective` reads it from here: what
``pebble=True`` gives it (:data:`PEBBLE_PARTS`), else what ``boulder=True``
gives it (:data:`BOULDER_PARTS`), else RFC 8555 as written with Let's
Encrypt's keys and names (:data:`RFC_DEFAULTS`).
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

from ..protocol.lifecycle import SHUFFLES

#: What ``boulder=True`` sets, for every part left at None.
BOULDER_PARTS: Dict[str, Any] = {
    "new_authz": False,
    "authz_reuse_valid": 1.0,
    "authz_reuse_pending": 1.0,
    "plain_get": True,
    "reuse_identical_orders": True,
    "account_orders_field": False,
    "order_validity_fields": False,
    "refused_csr_fails_order": False,
    "require_terms_agreement": True,  # Boulder's "must agree to terms of service"
    "contact_rules": "letsencrypt",
}
#: Pebble's terms of service, the value of its directory's ``meta.termsOfService``.
PEBBLE_TERMS = "data:text/plain,Do%20what%20thou%20wilt"
#: What ``pebble=True`` sets, for every part left at None: what Pebble's users see
#: where it differs from Let's Encrypt.
PEBBLE_PARTS: Dict[str, Any] = {
    "require_terms_agreement": True,
    "leaf_common_name": False,
    "ca_names": "pebble",
    "rsa_keys": "pebble",
    "name_rules": "pebble",
    "refuse_must_staple": False,
    "csr_signatures": "pebble",
    "shuffle": "all",
    "revocation_rules": "rfc",
    "problem_details": "pebble",
    "refused_csr_fails_order": False,
    "new_authz": False,  # Pebble has no pre-authorization
    "ca_key_type": "rsa",
}
#: The choices of the parts that are names.
PART_CHOICES: Dict[str, Tuple[str, ...]] = {
    "ca_names": ("pytest-acme", "pebble"),
    "rsa_keys": ("letsencrypt", "pebble"),
    "name_rules": ("letsencrypt", "pebble"),
    "csr_signatures": ("letsencrypt", "pebble"),
    "shuffle": SHUFFLES,
    "contact_rules": ("rfc", "letsencrypt"),
    "revocation_rules": ("letsencrypt", "rfc"),
    "problem_details": ("pytest-acme", "pebble"),
}
#: The same parts without ``boulder`` or ``pebble``: RFC 8555 as written, no reuse,
#: Let's Encrypt's keys and names.
RFC_DEFAULTS: Dict[str, Any] = {
    "require_terms_agreement": False,
    "leaf_common_name": True,
    "ca_names": "pytest-acme",
    "rsa_keys": "letsencrypt",
    "name_rules": "letsencrypt",
    "refuse_must_staple": True,
    "csr_signatures": "letsencrypt",
    "shuffle": "challenges",
    "contact_rules": "rfc",
    "revocation_rules": "letsencrypt",
    "problem_details": "pytest-acme",
    "refused_csr_fails_order": True,
    "ca_key_type": "ecdsa",
    "new_authz": True,
    "authz_reuse_valid": 0.0,
    "authz_reuse_pending": 0.0,
    "plain_get": False,
    "reuse_identical_orders": False,
    "account_orders_field": True,
    "order_validity_fields": True,
}
