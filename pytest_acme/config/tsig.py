"""TSIG keys (RFC 8945) that may sign DNS UPDATEs: the key, and how the settings name one.

The ``tsig_keys`` setting maps a key name to ``[ALG:]SECRET``; ``serve
--tsig-key`` takes ``[ALG:]NAME:SECRET``, as ``nsupdate -y`` does.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING, Tuple

if TYPE_CHECKING:
    from . import AcmeConfig

#: TSIG algorithms a key may use (RFC 8945 §6); hmac-md5 is refused, as it is
#: deprecated there.  The first is the default.
TSIG_ALGORITHMS = ("hmac-sha256", "hmac-sha512", "hmac-sha384", "hmac-sha224", "hmac-sha1")


@dataclass(frozen=True)
class TsigKey:
    """A TSIG key (RFC 8945) that may sign DNS UPDATEs to the server's zone.

    Attributes:
        name: the key name, lower case, without the trailing dot.
        algorithm: one of :data:`TSIG_ALGORITHMS`.
        secret: the shared secret, base64 (as BIND's ``tsig-keygen`` writes it).
    """

    name: str
    algorithm: str
    secret: str

    @property
    def spec(self) -> str:
        """``ALG:NAME:SECRET``: what ``nsupdate -y`` and ``serve --tsig-key`` take."""
        return f"{self.algorithm}:{self.name}:{self.secret}"


def parse_tsig_key(name: str, value: str) -> TsigKey:
    """One ``tsig_keys`` entry: ``name`` -> ``"SECRET"`` or ``"ALG:SECRET"``.

    Raises:
        ValueError: an empty name, an unknown algorithm or a secret that is not
            base64, with what was wrong.
    """
    if not isinstance(name, str) or not isinstance(value, str):
        raise ValueError(f"tsig_keys maps key names to base64 secrets; got {name!r}: {value!r}")
    key_name = name.strip().rstrip(".").lower()
    if not key_name or any(c.isspace() for c in key_name):
        raise ValueError(f"tsig_keys: {name!r} is not a key name like 'acme-update'")
    algorithm, sep, secret = value.strip().rpartition(":")
    algorithm = algorithm.lower() if sep else TSIG_ALGORITHMS[0]
    if algorithm not in TSIG_ALGORITHMS:
        raise ValueError(f"tsig_keys[{name!r}]: algorithm {algorithm!r} is not one of "
                         f"{', '.join(TSIG_ALGORITHMS)}")
    try:
        ok = bool(base64.b64decode(secret, validate=True))
    except (binascii.Error, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"tsig_keys[{name!r}]: the secret is not base64 (make one with "
                         f"'tsig-keygen {key_name}' or 'openssl rand -base64 32')")
    return TsigKey(key_name, algorithm, secret)


def parse_tsig_spec(spec: str) -> TsigKey:
    """``[ALG:]NAME:SECRET``, the syntax of ``nsupdate -y``, e.g.
    ``hmac-sha512:acme-update:c2VjcmV0...``; ALG defaults to hmac-sha256."""
    parts = spec.strip().split(":")
    if len(parts) == 2:
        return parse_tsig_key(parts[0], parts[1])
    if len(parts) == 3:
        return parse_tsig_key(parts[1], f"{parts[0]}:{parts[2]}")
    raise ValueError(f"a TSIG key is [ALG:]NAME:SECRET, got {spec!r}")


def tsig_keys_of(config: "AcmeConfig") -> Tuple[TsigKey, ...]:
    """The keys of ``config.tsig_keys`` (empty when it is None or ``{}``)."""
    return tuple(parse_tsig_key(name, value) for name, value in (config.tsig_keys or {}).items())
