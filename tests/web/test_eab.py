"""External account binding (RFC 8555 §7.3.4): a newAccount carries a JWS over the
account key, MACed with a key the CA gave out under a key id."""

from __future__ import annotations

import base64
import json
import re

import josepy
import pytest
from acme import errors, messages
from acme import jws as acme_jws

from helpers import account_client, ec_key
from jws_client import PROBLEM, b64
from pytest_acme import AcmeConfig
from pytest_acme.standalone.pebble import from_pebble

#: Raw bytes whose base64url has both '-' and '_' (and standard base64 '+' and '/').
RAW = b"\xfb\xef\xbe\xff\xff\xff" + b"pytest-acme mac key, 32 bytes!"[:26]
KEY = b64(RAW)  # base64url, as RFC 8555 wants
STANDARD_KEY = base64.b64encode(RAW).decode()  # the same bytes in standard base64

pytestmark = pytest.mark.acme(eab_keys={"kid-1": KEY})


def binding(acme, kid="kid-1", mac_key: bytes = RAW, alg=josepy.HS256, *, url=None,
            nonce=None, payload=None):
    """A binding JWS built the way certbot's acme library builds one, with every part
    overridable."""
    payload = payload if payload is not None else json.dumps(
        acme.net.key.public_key().to_partial_json()).encode()
    signed = acme_jws.JWS.sign(payload, josepy.JWKOct(key=mac_key), alg, nonce,
                               url or acme.directory["newAccount"], kid)
    return signed.to_partial_json()


def register(acme, eab=None, **fields):
    return acme.new_account(messages.NewRegistration(
        terms_of_service_agreed=True, external_account_binding=eab, **fields))


def refused(acme, eab, problem="unauthorized") -> str:
    with pytest.raises(messages.Error) as err:
        register(acme, eab)
    assert err.value.typ == PROBLEM + problem, err.value
    return err.value.detail


def test_key_has_both_url_safe_characters():
    assert "-" in KEY and "_" in KEY and "+" in STANDARD_KEY and "/" in STANDARD_KEY


def test_certbots_acme_library_binds_an_account(acme_server):
    acme = account_client(acme_server, register=False)
    eab = messages.ExternalAccountBinding.from_data(
        account_public_key=acme.net.key.public_key(), kid="kid-1", hmac_key=KEY,
        directory=acme.directory)
    account = register(acme, eab)
    assert account.body.status == "valid"
    (info,) = acme_server.accounts()
    assert info.external_account == "kid-1"
    assert "EAB key id:" in acme_server.describe(info.url)
    assert "bound to external account kid-1" in " ".join(e.message for e in info.events)


@pytest.mark.parametrize("alg", [josepy.HS256, josepy.HS384, josepy.HS512])
def test_every_mac_algorithm(acme_server, alg):
    acme = account_client(acme_server, register=False)
    register(acme, binding(acme, alg=alg))
    assert acme_server.accounts()[0].external_account == "kid-1"


def test_the_directory_says_whether_it_is_required(acme_server):
    acme = account_client(acme_server, register=False)
    assert acme.directory.meta.external_account_required is False
    acme_server.reconfigure(eab_required=True)
    acme = account_client(acme_server, register=False)
    assert acme.directory.meta.external_account_required is True


@pytest.mark.acme(eab_required=True)
def test_required_mode_refuses_an_account_without_binding(acme_server):
    acme = account_client(acme_server, register=False)
    detail = refused(acme, None, "externalAccountRequired")
    assert "externalAccountBinding" in detail
    register(acme, binding(acme))  # the same key with a binding is welcome


@pytest.mark.acme(eab_required=True)
def test_required_mode_still_finds_an_existing_account(acme_server):
    acme = account_client(acme_server, register=False)
    register(acme, binding(acme))
    same_key = account_client(acme_server, acme.account_private_key, register=False)
    # The library reports "it exists" (200 with Location) as ConflictError.
    with pytest.raises(errors.ConflictError) as found:
        same_key.new_account(messages.NewRegistration(only_return_existing=True))
    assert found.value.location == acme_server.accounts()[0].url


def test_without_requirement_a_binding_is_optional(acme_server):
    register(account_client(acme_server, register=False))
    assert acme_server.accounts()[0].external_account is None


def test_unknown_key_id(acme_server):
    acme = account_client(acme_server, register=False)
    detail = refused(acme, binding(acme, kid="nobody"))
    assert "'nobody'" in detail and "not known" in detail
    assert acme_server.accounts() == []


def test_wrong_mac(acme_server):
    acme = account_client(acme_server, register=False)
    detail = refused(acme, binding(acme, mac_key=b"another key entirely, 32 bytes!!"))
    assert "does not verify" in detail and "'kid-1'" in detail
    assert "standard base64" not in detail


def test_a_key_decoded_as_standard_base64_is_named(acme_server):
    """A client that decodes the key with a lenient standard-base64 decoder loses the
    '-' and '_' characters; the detail says exactly that."""
    acme = account_client(acme_server, register=False)
    kept = re.sub(r"[^A-Za-z0-9+/]", "", KEY)
    wrong = base64.b64decode(kept + "=" * (-len(kept) % 4))
    assert wrong != RAW
    detail = refused(acme, binding(acme, mac_key=wrong))
    assert "decoded the MAC key as standard base64" in detail
    assert "base64url" in detail


def test_the_key_text_used_as_mac_key_is_named(acme_server):
    acme = account_client(acme_server, register=False)
    detail = refused(acme, binding(acme, mac_key=KEY.encode()))
    assert "key's base64url text" in detail


@pytest.mark.acme(eab_keys={"std": STANDARD_KEY})
def test_a_configured_standard_base64_key_works_and_is_named_when_a_mac_fails(acme_server):
    acme = account_client(acme_server, register=False)
    detail = refused(acme, binding(acme, kid="std", mac_key=b"not the key"))
    assert "looks like standard base64" in detail
    assert KEY in detail  # the base64url spelling to configure instead
    # certbot's library decodes it leniently to the same bytes: that binding verifies.
    eab = messages.ExternalAccountBinding.from_data(
        account_public_key=acme.net.key.public_key(), kid="std", hmac_key=STANDARD_KEY,
        directory=acme.directory)
    register(acme, eab)


def test_inner_key_must_be_the_account_key(acme_server):
    acme = account_client(acme_server, register=False)
    other = josepy.JWKEC(key=ec_key()).public_key().to_partial_json()
    detail = refused(acme, binding(acme, payload=json.dumps(other).encode()))
    assert "outer 'jwk'" in detail


def test_inner_url_must_be_new_account(acme_server):
    acme = account_client(acme_server, register=False)
    detail = refused(acme, binding(acme, url=acme.directory["newOrder"]))
    assert "newAccount URL" in detail


def test_inner_nonce_is_refused(acme_server):
    acme = account_client(acme_server, register=False)
    detail = refused(acme, binding(acme, nonce=b"a-nonce"))
    assert "'nonce'" in detail


def test_a_signature_algorithm_is_not_a_mac(acme_server):
    acme = account_client(acme_server, register=False)
    signed = acme_jws.JWS.sign(json.dumps(acme.net.key.public_key().to_partial_json()).encode(),
                               acme.net.key, josepy.ES256, None, acme.directory["newAccount"],
                               "kid-1")
    detail = refused(acme, signed.to_partial_json(), "malformed")
    assert "MAC algorithm" in detail


def test_a_binding_that_is_not_a_jws(acme_server):
    acme = account_client(acme_server, register=False)
    detail = refused(acme, {"protected": "e30"}, "malformed")
    assert "externalAccountBinding" in detail


def test_one_key_id_may_bind_several_accounts(acme_server):
    """Pebble accepts a key id again (and Boulder has no EAB); so does this server."""
    for _ in range(2):
        acme = account_client(acme_server, register=False)
        register(acme, binding(acme))
    assert [a.external_account for a in acme_server.accounts()] == ["kid-1", "kid-1"]


def test_add_eab_key_at_test_time(acme_server):
    mac_key = acme_server.add_eab_key("added")
    assert len(josepy.b64.b64decode(mac_key)) == 32
    assert acme_server.config.eab_keys == {"kid-1": KEY, "added": mac_key}
    acme = account_client(acme_server, register=False)
    register(acme, messages.ExternalAccountBinding.from_data(
        account_public_key=acme.net.key.public_key(), kid="added", hmac_key=mac_key,
        directory=acme.directory))
    assert acme_server.accounts()[0].external_account == "added"
    assert acme_server.add_eab_key("chosen", KEY) == KEY


def test_pebble_config_sets_eab():
    settings = from_pebble({"externalAccountBindingRequired": True,
                            "externalAccountMACKeys": {"kid-1": KEY}}, {}).settings
    config = AcmeConfig(**settings)
    assert config.eab_required and config.eab_keys == {"kid-1": KEY}


def test_serve_flags_set_eab():
    from pytest_acme.cli import _parser, plan

    args = _parser().parse_args(["serve", "--eab-required", "--eab-key", f"kid-1={KEY}"])
    settings = plan(args, {})["settings"]
    assert settings["eab_required"] is True and settings["eab_keys"] == {"kid-1": KEY}


@pytest.mark.parametrize("keys", [{"k": "not base64!"}, {"": KEY}, {"k": ""}])
def test_config_refuses_unusable_keys(keys):
    with pytest.raises(ValueError, match="eab_keys"):
        AcmeConfig(eab_keys=keys)


def test_the_management_api_shows_the_binding(acme_server):
    from werkzeug.test import Client

    from pytest_acme.standalone.management import make_management_app

    bound, plain = (account_client(acme_server, register=False) for _ in range(2))
    register(bound, binding(bound))
    register(plain)
    accounts = Client(make_management_app(acme_server)).get("/pytest-acme/accounts").get_json()
    assert [a["externalAccount"] for a in accounts] == ["kid-1", None]
