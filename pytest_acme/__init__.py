"""pytest-acme: an in-process ACME (RFC 8555) server for testing ACME clients.

The public surface is small on purpose::

    from pytest_acme import AcmeServer, AcmeConfig
"""

from .clock import Clock
from .config import AcmeConfig
from .protocol import problems
from .protocol.problems import Problem
from .protocol.profiles import Profile
from .protocol.states import Status
from .server import AcmeServer, AcmeServerError, ServerStartError
from .va.dns01 import txt_value as dns01_txt
from .va.dnsaccount01 import dns_account01_name
from .va.dnspersist01 import dns_persist01_name, dns_persist01_txt
from .va.zone import Zone

__all__ = [
    "AcmeConfig",
    "AcmeServer",
    "AcmeServerError",
    "Clock",
    "Problem",
    "Profile",
    "ServerStartError",
    "Status",
    "Zone",
    "dns01_txt",
    "dns_account01_name",
    "dns_persist01_name",
    "dns_persist01_txt",
    "problems",
]
