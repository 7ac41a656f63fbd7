"""What :class:`~pytest_acme.va.dnsupdate.ZoneUpdater` runs for each DNS UPDATE:
RFC 2136 §3 in dnspython's terms (parsing, TSIG, prerequisites, updates, answers).
It is imported on the first UPDATE, so a server that never gets one never loads
dnspython."""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
import dns.rrset
import dns.tsig
import dns.update
import dns.wire

from ..config import TsigKey
from .zone import STORED_TYPES, CaaRecord, Zone, normalise

__all__ = ["UpdateEngine", "UpdateRefused"]

_log = logging.getLogger("pytest_acme.dns")


#: TSIG error names (RFC 8945 §3); dns.rcode names 16 BADVERS, its EDNS meaning.
_TSIG_ERRORS = {dns.rcode.BADSIG: "BADSIG", dns.rcode.BADKEY: "BADKEY",
                dns.rcode.BADTIME: "BADTIME"}


class UpdateRefused(Exception):
    """An UPDATE that is answered with ``rcode`` and changes nothing.

    Attributes:
        rcode: the RCODE of the answer (``dns.rcode.NXRRSET``, ...).
        why: a sentence saying what was wrong, for the log and the timeline.
    """

    def __init__(self, rcode: dns.rcode.Rcode, why: str) -> None:
        super().__init__(why)
        self.rcode = rcode
        self.why = why


#: One change, ready to apply: (action, type, owner, value or None).
_Change = Tuple[str, str, str, Any]


class UpdateEngine:
    """Apply TSIG-signed DNS UPDATE messages to ``zone``: the work of
    :class:`~pytest_acme.va.dnsupdate.ZoneUpdater` (same arguments), which makes
    one on its first UPDATE."""

    def __init__(self, zone: Zone, keys: Iterable[TsigKey] = (),
                 listener: Optional[Callable[[str, str], None]] = None) -> None:
        self.zone = zone
        self.listener = listener
        self._keyring: Dict[dns.name.Name, dns.tsig.Key] = {}
        self._lock = threading.Lock()
        self.set_keys(keys)

    def set_keys(self, keys: Iterable[TsigKey]) -> None:
        """Take updates signed by ``keys`` from now on (and by no other key)."""
        keyring = {}
        for key in keys:
            name = dns.name.from_text(key.name)
            keyring[name] = dns.tsig.Key(name, key.secret, key.algorithm)
        with self._lock:
            self._keyring = keyring

    def answer(self, packet: bytes, peer: str) -> Optional[bytes]:
        """The reply to one UPDATE message (``packet``, from ``peer``), signed
        when the request was signed by a known key; None when nothing can be
        sent (the message is too short to hold an id)."""
        with self._lock:
            keyring = self._keyring
        try:
            request = dns.message.from_wire(packet, keyring=keyring)
        except (dns.message.UnknownTSIGKey, dns.tsig.BadKey, dns.tsig.BadAlgorithm):
            return self._tsig_error(packet, peer, dns.rcode.BADKEY, keyring,
                                    "its TSIG key or algorithm is not one of the server's")
        except dns.tsig.BadSignature:
            return self._tsig_error(packet, peer, dns.rcode.BADSIG, keyring,
                                    "its TSIG signature does not verify with the key's secret")
        except dns.tsig.BadTime:
            return self._tsig_error(packet, peer, dns.rcode.BADTIME, keyring,
                                    "its TSIG time is more than the fudge away from the "
                                    "server's clock")
        except Exception as e:  # noqa: BLE001 - whatever the bytes, answer FORMERR
            return self._formerr(packet, peer, e)
        if not isinstance(request, dns.update.UpdateMessage):
            return self._formerr(packet, peer, ValueError("not an UPDATE"))
        response = dns.message.make_response(request)
        key_name = (request.keyname.to_text(omit_final_dot=True)
                    if request.had_tsig and request.keyname is not None else "")
        try:
            if not request.had_tsig:
                # RFC 2136 §3.3: the server decides who may update; here only
                # holders of a configured key (RFC 8945) may.
                raise UpdateRefused(dns.rcode.REFUSED, "it is not signed with TSIG; sign it "
                                    "with one of the server's keys (nsupdate -y ALG:NAME:SECRET)")
            changes = self._apply(request)
        except UpdateRefused as refused:
            response.set_rcode(refused.rcode)
            self._refused(peer, key_name, dns.rcode.to_text(refused.rcode), refused.why)
            return response.to_wire()
        except Exception as e:  # noqa: BLE001 - a bug here must not silence the server
            _log.exception("DNS UPDATE from %s: internal error", peer)
            response.set_rcode(dns.rcode.SERVFAIL)
            self._refused(peer, key_name, "SERVFAIL", f"internal error: {type(e).__name__}: {e}")
            return response.to_wire()
        for change in changes:
            self._notify("DnsUpdate", f"DNS UPDATE by key {key_name}: {_describe(change)}")
        return response.to_wire()

    # -- RFC 2136 §3 -----------------------------------------------------------

    def _apply(self, request: dns.update.UpdateMessage) -> List[_Change]:
        """Check the zone, prerequisites and updates, then apply the updates, all
        under the zone's lock; raise :class:`UpdateRefused` if any check fails."""
        zone_rrset = request.zone[0]
        origin = zone_rrset.name
        if origin == dns.name.root or zone_rrset.rdclass != dns.rdataclass.IN:
            # §3.1.2: a zone the server is not authoritative for.
            raise UpdateRefused(dns.rcode.NOTAUTH, f"zone {origin} (class "
                                f"{dns.rdataclass.to_text(zone_rrset.rdclass)}) is not served here")
        with self.zone.transaction():
            for rrset in request.prerequisite:
                self._check_prerequisite(rrset, origin)
            changes = [change for rrset in request.update
                       for change in self._prescan(rrset, origin)]
            for change in changes:
                self._change(*change)
        return changes

    def _check_prerequisite(self, rrset: dns.rrset.RRset, origin: dns.name.Name) -> None:
        """RFC 2136 §3.2: one prerequisite RRset, or :class:`UpdateRefused`."""
        owner = _owner(rrset, origin)
        rtype = dns.rdatatype.to_text(rrset.rdtype)
        if rrset.deleting == dns.rdataclass.ANY:
            if rrset.rdtype == dns.rdatatype.ANY:  # §2.4.4: name is in use
                if not self.zone.in_use(owner):
                    raise UpdateRefused(dns.rcode.NXDOMAIN, f"prerequisite failed: {owner} "
                                        "holds no records")
            elif not self._stored(owner, rtype):  # §2.4.1: RRset exists
                raise UpdateRefused(dns.rcode.NXRRSET, f"prerequisite failed: {owner} has "
                                    f"no {rtype} records")
        elif rrset.deleting == dns.rdataclass.NONE:
            if rrset.rdtype == dns.rdatatype.ANY:  # §2.4.5: name is not in use
                if self.zone.in_use(owner):
                    raise UpdateRefused(dns.rcode.YXDOMAIN, f"prerequisite failed: {owner} "
                                        "holds records")
            elif self._stored(owner, rtype):  # §2.4.3: RRset does not exist
                raise UpdateRefused(dns.rcode.YXRRSET, f"prerequisite failed: {owner} has "
                                    f"{rtype} records")
        elif rrset.rdclass == dns.rdataclass.IN and not dns.rdatatype.is_metatype(rrset.rdtype):
            if rrset.ttl != 0:  # §3.2.1
                raise UpdateRefused(dns.rcode.FORMERR, "a prerequisite's TTL must be 0")
            # §2.4.2: the RRset exists and equals these records (value dependent).
            try:
                wanted = {_value(rtype, rdata) for rdata in rrset} if rtype in STORED_TYPES \
                    else None
            except UpdateRefused:
                wanted = None  # data the zone cannot hold: no stored RRset equals it
            if wanted is None or wanted != set(self._stored(owner, rtype)):
                raise UpdateRefused(dns.rcode.NXRRSET, f"prerequisite failed: the {rtype} "
                                    f"records of {owner} are not the ones given")
        else:
            raise UpdateRefused(dns.rcode.FORMERR, f"a prerequisite for {owner} has class "
                                f"{dns.rdataclass.to_text(rrset.rdclass)} and type {rtype}")

    def _prescan(self, rrset: dns.rrset.RRset, origin: dns.name.Name) -> List[_Change]:
        """RFC 2136 §3.4.1: check one update RRset; the changes it makes."""
        owner = _owner(rrset, origin)
        rtype = dns.rdatatype.to_text(rrset.rdtype)
        meta = dns.rdatatype.is_metatype(rrset.rdtype)
        if rrset.deleting == dns.rdataclass.ANY:
            if rrset.rdtype == dns.rdatatype.ANY:  # §2.5.3: delete all RRsets from a name
                return [("delete", "ANY", owner, None)]
            if meta:
                raise UpdateRefused(dns.rcode.FORMERR, f"cannot delete {rtype} records")
            # §2.5.2: delete an RRset
            return [("delete", rtype, owner, None)] if rtype in STORED_TYPES else []
        if meta or rrset.rdclass != dns.rdataclass.IN:
            raise UpdateRefused(dns.rcode.FORMERR, f"an update of {owner} has class "
                                f"{dns.rdataclass.to_text(rrset.rdclass)} and type {rtype}")
        if rrset.deleting == dns.rdataclass.NONE:  # §2.5.4: delete an RR from an RRset
            if rrset.ttl != 0:
                raise UpdateRefused(dns.rcode.FORMERR, "a deleted record's TTL must be 0")
            if rtype not in STORED_TYPES:
                return []
            return [("delete", rtype, owner, _value(rtype, rdata)) for rdata in rrset]
        if rtype not in STORED_TYPES:  # §2.5.1: add to an RRset
            raise UpdateRefused(dns.rcode.REFUSED, f"{rtype} records are not served here; "
                                f"an update may add {', '.join(STORED_TYPES)}")
        return [("add", rtype, owner, _value(rtype, rdata)) for rdata in rrset]

    def _change(self, action: str, rtype: str, owner: str, value: Any) -> None:
        """RFC 2136 §3.4.2: apply one change (the zone's lock is held)."""
        zone = self.zone
        if action == "delete":
            for each in (STORED_TYPES if rtype == "ANY" else (rtype,)):
                zone.delete(owner, each, value)
            return
        has_cname = bool(zone.rrset(owner, "CNAME"))
        others = any(zone.rrset(owner, t) for t in STORED_TYPES if t != "CNAME")
        if (rtype == "CNAME" and others) or (rtype != "CNAME" and has_cname):
            return  # §3.4.2.2: silently ignored, as RFC 2136 says
        if rtype == "CNAME":
            zone.set_cname(owner, value)
        elif rtype == "A":
            zone.add_a(owner, value)
        elif rtype == "AAAA":
            zone.add_aaaa(owner, value)
        elif rtype == "TXT":
            zone.set_txt(owner, value)
        else:
            zone.add_caa(owner, value.flags, value.tag, value.value)

    def _stored(self, owner: str, rtype: str) -> list:
        return self.zone.rrset(owner, rtype) if rtype in STORED_TYPES else []

    # -- answers that change nothing -----------------------------------------------

    def _notify(self, reason: str, message: str) -> None:
        if self.listener is not None:
            self.listener(reason, message)

    def _refused(self, peer: str, key_name: str, rcode: str, why: str) -> None:
        by = f" by key {key_name}" if key_name else ""
        _log.warning("DNS UPDATE from %s%s refused (%s): %s", peer, by, rcode, why)
        self._notify("DnsUpdateRefused", f"DNS UPDATE{by} refused ({rcode}): {why}")

    def _formerr(self, packet: bytes, peer: str, error: BaseException) -> Optional[bytes]:
        detail = str(error)[:200] or type(error).__name__
        self._refused(peer, "", "FORMERR", f"malformed message ({detail})")
        head = _header(packet)
        if head is None:
            return None
        reply = dns.message.Message(id=head[0])
        reply.flags = dns.flags.QR
        reply.set_opcode(dns.opcode.UPDATE)
        reply.set_rcode(dns.rcode.FORMERR)
        return reply.to_wire()

    def _tsig_error(self, packet: bytes, peer: str, error: dns.rcode.Rcode,
                    keyring: Dict[dns.name.Name, dns.tsig.Key], why: str) -> Optional[bytes]:
        """NOTAUTH with a TSIG record carrying ``error`` (RFC 8945 §5.2): unsigned
        for BADKEY and BADSIG (§5.3.2), signed with the server's time for BADTIME."""
        found = _read_tsig(packet)
        if found is None:
            return self._formerr(packet, peer, ValueError("unreadable TSIG record"))
        msg_id, zone, key_name, tsig = found
        name_text = key_name.to_text(omit_final_dot=True)
        self._refused(peer, name_text, f"NOTAUTH/{_TSIG_ERRORS[error]}", why)
        reply = dns.update.UpdateMessage(zone, id=msg_id) if zone is not None else \
            dns.message.Message(id=msg_id)
        reply.flags = dns.flags.QR
        reply.set_opcode(dns.opcode.UPDATE)
        reply.set_rcode(dns.rcode.NOTAUTH)
        now = int(time.time())
        key = keyring.get(key_name)
        if error == dns.rcode.BADTIME and key is not None:
            # §5.2.3: signed, Other Data holding the server's time (48 bits).
            reply.use_tsig(key, key_name, fudge=tsig.fudge, original_id=tsig.original_id,
                           tsig_error=error, other_data=now.to_bytes(6, "big"),
                           algorithm=tsig.algorithm)
            reply.request_mac = tsig.mac
            return reply.to_wire()
        rdata = dns.rdtypes.ANY.TSIG.TSIG(dns.rdataclass.ANY, dns.rdatatype.TSIG,
                                          tsig.algorithm, now, tsig.fudge, b"",
                                          tsig.original_id, error, b"")
        reply.additional.append(dns.rrset.from_rdata(key_name, 0, rdata))
        return reply.to_wire()


def _describe(change: _Change) -> str:
    """``add TXT _acme-challenge.example.test``, ``delete all records at x.test``..."""
    action, rtype, owner, value = change
    if rtype == "ANY":
        return f"delete all records at {owner}"
    if action == "delete" and value is None:
        return f"delete every {rtype} at {owner}"
    return f"{action} {rtype} {owner}"


def _owner(rrset: dns.rrset.RRset, origin: dns.name.Name) -> str:
    """The record's name as the zone spells it; NOTZONE outside the zone (§3.2, §3.4.1.3)."""
    if not rrset.name.is_subdomain(origin):
        raise UpdateRefused(dns.rcode.NOTZONE, f"{rrset.name} is not in zone {origin}")
    return normalise(rrset.name.to_text(omit_final_dot=True))


def _value(rtype: str, rdata: Any) -> Any:
    """A record's data in the form the zone stores (see :class:`~pytest_acme.va.zone.Answer`)."""
    if rtype in ("A", "AAAA"):
        return str(ipaddress.ip_address(rdata.address))
    if rtype == "CNAME":
        if rdata.target == dns.name.root:
            raise UpdateRefused(dns.rcode.REFUSED, "a CNAME here points to a name, not the root")
        return normalise(rdata.target.to_text(omit_final_dot=True))
    if rtype == "TXT":
        if len(rdata.strings) != 1:
            raise UpdateRefused(dns.rcode.REFUSED, "a TXT record here holds one string "
                                f"(as a dns-01 record does), not {len(rdata.strings)}")
        try:
            return rdata.strings[0].decode("utf-8")
        except UnicodeDecodeError:
            raise UpdateRefused(dns.rcode.REFUSED, "a TXT record here holds UTF-8 text") from None
    try:
        tag = rdata.tag.decode("ascii").lower()
        value = rdata.value.decode("utf-8")
    except UnicodeDecodeError:
        raise UpdateRefused(dns.rcode.REFUSED, "a CAA record here holds an ASCII tag and "
                            "a UTF-8 value") from None
    if not tag.isalnum():
        raise UpdateRefused(dns.rcode.FORMERR, f"CAA tag {tag!r} is not letters and digits")
    return CaaRecord(rdata.flags, tag, value)


def _header(packet: bytes) -> Optional[Tuple[int, int]]:
    """(id, flags) of a message, or None if it is too short to hold a header."""
    parser = dns.wire.Parser(packet)
    try:
        msg_id, flags = parser.get_struct("!HH")
    except dns.exception.FormError:
        return None
    return msg_id, flags


def _read_tsig(packet: bytes) -> Optional[Tuple[int, Optional[dns.name.Name], dns.name.Name, Any]]:
    """(id, zone name, key name, TSIG rdata) of a message whose TSIG record did
    not verify, read with dnspython's wire parser: dnspython stops at the
    failed signature, and the error answer needs the key name, the algorithm
    and the request's MAC."""
    parser = dns.wire.Parser(packet)

    def name() -> dns.name.Name:
        # dns.name.from_wire follows compression pointers in every dnspython 2.x.
        found, used = dns.name.from_wire(packet, parser.current)
        parser.seek(parser.current + used)
        return found

    try:
        msg_id, _, qdcount, ancount, nscount, arcount = parser.get_struct("!HHHHHH")
        zone = None
        for _ in range(qdcount):
            zone = name()
            parser.get_struct("!HH")
        last = None
        for _ in range(ancount + nscount + arcount):
            owner = name()
            rdtype, rdclass, _, rdlen = parser.get_struct("!HHIH")
            last = None
            if rdtype == dns.rdatatype.TSIG:
                last = (owner, dns.rdata.from_wire(rdclass, rdtype, packet, parser.current, rdlen))
            parser.seek(parser.current + rdlen)
    except Exception:  # noqa: BLE001 - an unreadable message has no TSIG to answer
        return None
    if last is None:
        return None
    return msg_id, zone, last[0], last[1]
