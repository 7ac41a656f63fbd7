"""RFC 9773 certIDs and windows (pytest_acme.protocol.ari), as plain calls."""

from __future__ import annotations

import datetime as dt

import pytest

from pytest_acme.protocol import ari, problems

UTC = dt.timezone.utc
T0 = dt.datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("serial, octets", [
    (1, b"\x01"), (0x7F, b"\x7f"), (0x80, b"\x00\x80"), (0xFF00, b"\x00\xff\x00"),
    (2 ** 126 + 5, (2 ** 126 + 5).to_bytes(16, "big")),
])
def test_serial_octets_are_the_der_integer_content(serial, octets):
    assert ari.serial_bytes(serial) == octets


def test_cert_id_round_trip_and_rfc_example():
    # RFC 9773 §4.1's example: keyIdentifier 69:88:5B:6B:..., serial 00:87:65:43:21.
    key_id = bytes.fromhex("69885B6B87464041E1B37B847BA0AE2CDE01C8D4")
    certid = ari.cert_id(key_id, 0x87654321)
    assert certid == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
    assert ari.parse_cert_id(certid) == (key_id, 0x87654321)


@pytest.mark.parametrize("text", [None, 5, "", "a", "a.", ".a", "a.b.c", "aYhb=.AQ",
                                  "aY+b.AQ", "aYhba.AQ", "AQ.gA", "AQ.AAE", "AQ.AA", "AR.AQ"])
def test_bad_cert_ids_are_malformed(text):
    with pytest.raises(problems.Malformed):
        ari.parse_cert_id(text)


def test_default_window_two_thirds_in_and_half_way_for_short_certificates():
    window = ari.default_window(T0, T0 + dt.timedelta(days=90) - dt.timedelta(seconds=1))
    assert window.start == T0 + dt.timedelta(days=60) - dt.timedelta(days=0.9) \
        - dt.timedelta(seconds=1)
    assert window.end - window.start == dt.timedelta(days=1.8)
    short = ari.default_window(T0, T0 + dt.timedelta(days=6))
    middle = T0 + dt.timedelta(days=3)
    assert short.start < middle < short.end


def test_revoked_window_is_in_the_past():
    window = ari.revoked_window(T0)
    assert window.end < T0 and window.start == T0 - dt.timedelta(hours=1)


def test_windows_must_not_end_before_they_start_and_parse_from_json():
    with pytest.raises(ValueError, match="after its start"):
        ari.RenewalWindow(T0, T0 - dt.timedelta(seconds=1))
    # Pebble's "renew now": taken, but not by the strict rule.
    with pytest.raises(ValueError, match="after its start"):
        ari.RenewalWindow(T0, T0).require_span()
    doc = {"suggestedWindow": {"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"},
           "explanationURL": "https://ca.example/why"}
    window = ari.RenewalWindow.from_json(doc)
    assert window.to_json() == doc
    for bad in ({}, {"suggestedWindow": {"start": "x", "end": "y"}},
                {"suggestedWindow": {"start": "2030-01-01T00:00:00", "end": "2030-01-02T00:00:00"}},
                {"suggestedWindow": doc["suggestedWindow"], "explanationURL": 3}):
        with pytest.raises(ValueError):
            ari.RenewalWindow.from_json(bad)
