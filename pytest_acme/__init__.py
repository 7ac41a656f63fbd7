"""pytest-acme: an in-process ACME (RFC 8555) server for testing ACME clients.

The public surface is small on purpose::

    from pytest_acme import AcmeServer, AcmeConfig

and the snapshots inspection returns (``OrderInfo``, ``TimelineEvent``, ...) are
here for type hints.  Every public name has a docstring: that is the reference.
"""

from .clock import Clock
from .config import AcmeConfig
from .inspection import AccountInfo, AuthorizationInfo, CertificateInfo, ChallengeInfo, OrderInfo
from .protocol import problems
from .protocol.problems import Problem
from .protocol.profiles import Profile
from .protocol.states import Status
from .records import RequestRecord, TimelineEvent
from .server import AcmeServer, AcmeServerError, ServerStartError
from .va.dns01 import txt_value as dns01_txt
from .va.dnsaccount01 import dns_account01_name
from .va.dnspersist01 import dns_persist01_name, dns_persist01_txt
from .va.zone import Zone

__all__ = [
    "AccountInfo",
    "AcmeConfig",
    "AcmeServer",
    "AcmeServerError",
    "AuthorizationInfo",
    "CertificateInfo",
    "ChallengeInfo",
    "Clock",
    "OrderInfo",
    "Problem",
    "Profile",
    "RequestRecord",
    "ServerStartError",
    "Status",
    "TimelineEvent",
    "Zone",
    "dns01_txt",
    "dns_account01_name",
    "dns_persist01_name",
    "dns_persist01_txt",
    "problems",
]
