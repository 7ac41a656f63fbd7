"""Certificate profiles (draft-ietf-acme-profiles): named issuance policies.

The directory lists them in ``meta.profiles`` ({name: description}); a newOrder
names one in ``profile`` (or none, and gets the server's default).  A profile
decides the certificate's lifetime and whether it carries a common name.

Unlike Pebble, which picks a random profile when a client names none, the
default here is fixed (``AcmeConfig.default_profile``, else the first one), so a
test always gets the same certificate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

HOUR = 3600.0


@dataclass(frozen=True)
class Profile:
    """One issuance policy.

    Args:
        description: the text in ``meta.profiles``.
        validity: certificate lifetime in seconds; None follows
            ``AcmeConfig.certificate_validity``.
        common_name: put the first DNS name in the subject CN (Let's Encrypt's
            "classic"), or leave the subject empty ("shortlived").
    """

    description: str
    validity: Optional[float] = None
    common_name: bool = True

    def lifetime(self, default: float) -> float:
        """Seconds of validity of its certificates: its own, else ``default``."""
        return self.validity if self.validity is not None else default


#: What a server offers unless told otherwise: Let's Encrypt's two best-known shapes.
DEFAULT_PROFILES: Dict[str, Profile] = {
    "classic": Profile("certificate_validity (90 days unless configured), the first DNS "
                       "name as common name"),
    "shortlived": Profile("160 hours, no common name", validity=160 * HOUR, common_name=False),
}


def parse_profiles(value: Optional[Mapping[str, Any]]) -> Dict[str, Profile]:
    """Profiles from ``AcmeConfig(profiles=...)``: None for the defaults, ``{}`` for
    none, or ``{name: Profile | {"description", "validity", "common_name"}}``."""
    if value is None:
        return dict(DEFAULT_PROFILES)
    if not isinstance(value, Mapping):
        raise ValueError(f"profiles must be a mapping of name -> profile, got {value!r}")
    out: Dict[str, Profile] = {}
    for name, spec in value.items():
        if not isinstance(name, str) or not name or len(name) > 64:
            raise ValueError(f"profile names must be non-empty strings, got {name!r}")
        if isinstance(spec, Profile):
            profile = spec
        elif isinstance(spec, Mapping):
            unknown = set(spec) - {"description", "validity", "common_name"}
            if unknown:
                raise ValueError(f"profile {name!r}: unknown field(s) {', '.join(sorted(unknown))}; "
                                 "use description, validity, common_name")
            profile = Profile(str(spec.get("description", name)), spec.get("validity"),
                              bool(spec.get("common_name", True)))
        else:
            raise ValueError(f"profile {name!r} must be a Profile or a mapping, got {spec!r}")
        v = profile.validity
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0):
            raise ValueError(f"profile {name!r}: validity must be a positive number of seconds")
        out[name] = profile
    return out


def choose_profile(profiles: Mapping[str, Profile], default: Optional[str],
                   requested: Any) -> Optional[str]:
    """The profile of a newOrder: the one it names, else the default; ``invalidProfile``
    for a name the server does not offer."""
    from .problems import InvalidProfile, Malformed

    if requested in (None, ""):
        return default
    if not isinstance(requested, str):
        raise Malformed(f"'profile' must be a profile name (a string), got {requested!r}")
    if requested not in profiles:
        offered = ", ".join(profiles) if profiles else "none: this server advertises no profiles"
        raise InvalidProfile(f"profile {requested[:40]!r} is not offered; offered: {offered} "
                             "(see meta.profiles in the directory)")
    return requested
