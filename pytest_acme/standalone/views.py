"""JSON views of the server's objects for the management API (RFC 3339 UTC times)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Optional

from .. import describe as _describe
from .. import faults as _faults
from .. import inspection


def timestamp(when: Optional[dt.datetime]) -> Optional[str]:
    """RFC 3339 UTC: ``2026-04-11T12:00:00Z``, with microseconds when there are any."""
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    when = when.astimezone(dt.timezone.utc)
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond:06d}"
    return text + "Z"


def _challenge_json(c: inspection.ChallengeInfo) -> Dict[str, Any]:
    return {
        "id": c.id,
        "url": c.url,
        "type": c.type,
        "status": c.status.value,
        "token": c.token,
        "validated": timestamp(c.validated),
        "error": c.error,
        "validation_record": c.validation_record,
    }


def _authz_json(a: inspection.AuthorizationInfo) -> Dict[str, Any]:
    return {
        "id": a.id,
        "url": a.url,
        "account": a.account_url,
        "identifier": a.identifier.to_json(),
        "wildcard": a.wildcard,
        "status": a.status.value,
        "stored_status": a.stored_status.value,
        "expires": timestamp(a.expires),
        "orders": list(a.order_urls),
        "challenges": [_challenge_json(c) for c in a.challenges],
    }


def event_json(e: Any) -> Dict[str, Any]:
    return {
        "time": timestamp(e.time),
        "type": _describe.event_type(e.reason),
        "kind": e.kind,
        "id": e.id,
        "reason": e.reason,
        "message": e.message,
        "order_ids": list(e.order_ids),
    }


def order_json(o: inspection.OrderInfo, *, events: bool = False) -> Dict[str, Any]:
    doc: Dict[str, Any] = {
        "id": o.id,
        "url": o.url,
        "account": o.account_url,
        "status": o.status.value,
        "stored_status": o.stored_status.value,
        "identifiers": [i.to_json() for i in o.identifiers],
        "created": timestamp(o.created),
        "expires": timestamp(o.expires),
        "not_before": timestamp(o.not_before),
        "not_after": timestamp(o.not_after),
        "error": o.error,
        "finalize": o.finalize_url,
        "certificate": o.certificate_url,
        "certificate_serial": (f"{o.certificate.serial_number:x}"
                               if o.certificate is not None else None),
        "authorizations": [_authz_json(a) for a in o.authorizations],
        "profile": o.profile,
        "replaces": o.replaces,
    }
    if events:
        doc["events"] = [event_json(e) for e in o.events]
    return doc


def account_json(a: inspection.AccountInfo, *, events: bool = False) -> Dict[str, Any]:
    doc: Dict[str, Any] = {
        "id": a.id,
        "url": a.url,
        "status": a.status.value,
        "contact": list(a.contact),
        "created": timestamp(a.created),
        "orders": list(a.order_urls),
        "externalAccount": a.external_account,
    }
    if events:
        doc["events"] = [event_json(e) for e in a.events]
    return doc


def _certificate_json(c: inspection.CertificateInfo) -> Dict[str, Any]:
    return {
        "id": c.id,
        "url": c.url,
        "account": c.account_url,
        "order": c.order_url,
        "serial": f"{c.serial:x}",
        "issued": timestamp(c.issued),
        "not_before": timestamp(c.not_before),
        "not_after": timestamp(c.not_after),
        "expired": c.expired,
        "cert_id": c.cert_id,
        "revoked_at": timestamp(c.revoked_at),
        "revocation_reason": c.revocation_reason,
        "replaced_by": list(c.replaced_by),
    }


def info_json(info: inspection.Info) -> Dict[str, Any]:
    """Any snapshot as JSON, with ``kind`` saying what it is."""
    if isinstance(info, inspection.OrderInfo):
        return {"kind": "order", **order_json(info, events=True)}
    if isinstance(info, inspection.AuthorizationInfo):
        return {"kind": "authorization", **_authz_json(info)}
    if isinstance(info, inspection.ChallengeInfo):
        return {"kind": "challenge", "authorization": info.authz_url, **_challenge_json(info)}
    if isinstance(info, inspection.AccountInfo):
        return {"kind": "account", **account_json(info, events=True)}
    return {"kind": "certificate", **_certificate_json(info)}


def request_json(r: Any) -> Dict[str, Any]:
    return {
        "time": timestamp(r.time),
        "method": r.method,
        "path": r.path,
        "status": r.status,
        "problem": r.problem,
        "detail": r.detail,
        "account": r.account,
    }


def fault_json(f: _faults.Fault) -> Dict[str, Any]:
    return {
        "kind": f.kind,
        "describe": f.describe(),
        "times": f.times,
        "fired": f.fired,
        "active": f.active,
    }
