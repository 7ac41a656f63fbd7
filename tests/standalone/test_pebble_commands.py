"""``pytest-acme pebble`` and ``pytest-acme challtestsrv``: drop-ins for the
``pebble`` and ``pebble-challtestsrv`` binaries.  Their flags and defaults are
compared with the real binaries' ``-h``, their answers are read off sockets, and
each is paired with the other's real binary (Debian's package ``pebble``) for a
full order with certbot's ``acme`` library."""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
import requests
import trustme
from dnslib import QTYPE, DNSRecord

from helpers import (
    account_client,
    banner_field,
    challenge_json,
    deadline,
    ec_key,
    key_authorization_for,
    make_csr,
    read_to_close,
    split_chain,
    verify_chain,
)
from helpers import post as acme_post
from pytest_acme.cli import _parser, main, pebble_plan
from pytest_acme.listeners import spare_port
from pytest_acme.protocol.challenges import ACME_TLS_1
from pytest_acme.standalone.challtestsrv_server import beyond_loopback, go_addresses

ROOT = Path(__file__).resolve().parents[2]

#: Every listener on loopback, on ports the OS picks.
LOOPBACK = ["-management", "127.0.0.1:0", "-dns01", "127.0.0.1:0", "-http01", "127.0.0.1:0",
            "-https01", "127.0.0.1:0", "-tlsalpn01", "127.0.0.1:0"]


def real_binary(name: str) -> str:
    """The path of Debian's ``name``; skipped without it, a failure on CI (which installs it)."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI installs Debian's package pebble, which has {name}")
        pytest.skip(f"{name} is not installed (Debian package 'pebble')")
    return path


class Process:
    """A real binary, its output lines in a queue."""

    def __init__(self, args: List[str], env: Optional[Dict[str, str]] = None) -> None:
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=env)
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.seen: List[str] = []
        threading.Thread(target=lambda: [self.lines.put(x) for x in self.proc.stdout],
                         daemon=True).start()

    def wait_for(self, text: str, timeout: float = 20) -> str:
        while not any(text in line for line in self.seen):
            self.seen.append(self.lines.get(timeout=timeout))
        return "".join(self.seen)

    def wait_listening(self, port: int, timeout: float = 20) -> None:
        """Until ``port`` accepts: between attempts, wait on the output queue."""
        end = deadline(timeout)
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except ConnectionRefusedError:
                assert self.proc.poll() is None, "".join(self.seen)
                assert deadline(0) < end, f"nothing listens on {port}: {''.join(self.seen)}"
                try:
                    self.seen.append(self.lines.get(timeout=0.05))
                except queue.Empty:
                    pass

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def listener(banner: str, what: str) -> Tuple[str, int]:
    """Host and port of one listener in ``pytest-acme challtestsrv``'s banner."""
    address = banner_field(banner, f"{what}:").split("://")[-1]
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def post(banner: str, path: str, body: object) -> requests.Response:
    host, port = listener(banner, "management API")
    return requests.post(f"http://{host}:{port}{path}", json=body, timeout=5)


def get(port: int, path: str, host: str = "example.test", method: str = "GET",
        tls: bool = False) -> http.client.HTTPResponse:
    if tls:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=5, context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request(method, path, headers={"Host": host})
    response = conn.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    conn.close()
    return response


def tls_alpn_handshake(port: int, server_name: str) -> bytes:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.set_alpn_protocols([ACME_TLS_1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        with context.wrap_socket(sock, server_hostname=server_name) as tls:
            return tls.getpeercert(binary_form=True) or b""


# -- flags: the real binaries' own -h is the reference


def go_flags(binary: str) -> Dict[str, str]:
    """``{flag: default}`` from a Go program's ``-h`` (flags without a default: "")."""
    usage = subprocess.run([binary, "-h"], capture_output=True, text=True, timeout=10).stderr
    flags: Dict[str, str] = {}
    for name, rest in re.findall(r"^  -(\S+)[^\n]*\n((?:    \t[^\n]*\n?)*)", usage, re.M):
        default = re.search(r'\(default "([^"]*)"\)', rest)
        flags[name] = default.group(1) if default else ""
    assert flags, usage
    return flags


def our_flags(command: str) -> Dict[str, str]:
    parser = next(a for a in _parser()._subparsers._group_actions  # type: ignore[union-attr]
                  ).choices[command]
    out = {}
    for action in parser._actions:
        go = [o for o in action.option_strings if not o.startswith("--")]
        if action.dest != "help":
            out[go[0][1:]] = "" if action.default in ("false", None) else action.default
    return out


@pytest.mark.parametrize("ours, theirs", [("pebble", "pebble"),
                                          ("challtestsrv", "pebble-challtestsrv")])
def test_flags_and_defaults_are_the_real_binaries(ours, theirs):
    assert our_flags(ours) == go_flags(real_binary(theirs))


def test_flags_take_go_forms():
    args = _parser().parse_args(["challtestsrv", "--dns01=127.0.0.1:53", "-http01", "",
                                 "-defaultIPv6="])
    assert (args.dns01, args.http01, args.defaultIPv6, args.management) == (
        "127.0.0.1:53", "", "", ":8055")
    args = _parser().parse_args(["pebble", "-strict", "-dnsserver=127.0.0.1:8053"])
    assert (args.config, args.strict, args.dnsserver) == (
        "test/config/pebble-config.json", "true", "127.0.0.1:8053")


@pytest.mark.parametrize("value, expected", [
    (":8053", [("0.0.0.0", 8053)]),
    ("127.0.0.1:1, ,[::1]:2", [("127.0.0.1", 1), ("::1", 2)]),
    ("", []), (" , ", []),
])
def test_go_addresses(value, expected):
    assert go_addresses(value, "dns01") == expected


@pytest.mark.parametrize("value", ["8053", "127.0.0.1", "h:99999", "::1]:5", "h:port"])
def test_bad_addresses_are_usage_errors(value, capsys):
    assert main(["challtestsrv", "-dns01", value], stop=threading.Event()) == 2
    assert f"-dns01: {value!r} is not an address like '127.0.0.1:8053'" in capsys.readouterr().err


@pytest.mark.parametrize("host, exposed", [("127.0.0.1", False), ("::1", False),
                                           ("localhost", False), ("0.0.0.0", True),
                                           ("192.0.2.1", True), ("example.test", True)])
def test_beyond_loopback(host, exposed):
    assert beyond_loopback(host) is exposed


# -- pytest-acme challtestsrv: answers on the wire


def test_unknown_http01_token_is_200_with_an_empty_body(command):
    """As pebble-challtestsrv (Go's handler writes nothing): 200, no body, no type,
    for an unknown token and any other path; a known token is text/plain."""
    banner = command(["challtestsrv", *LOOPBACK])
    _, port = listener(banner, "HTTP-01")
    for path in ("/.well-known/acme-challenge/unknown", "/elsewhere"):
        response = get(port, path)
        assert (response.status, response.body, response.getheader("Content-Type")) == (
            200, b"", None)
    assert post(banner, "/add-http01", {"token": "tok", "content": "tok.thumb"}).status_code == 200
    response = get(port, "/.well-known/acme-challenge/tok")
    assert (response.status, response.body, response.getheader("Content-Type")) == (
        200, b"tok.thumb", "text/plain; charset=utf-8")
    assert post(banner, "/del-http01", {"token": "tok"}).status_code == 200
    assert get(port, "/.well-known/acme-challenge/tok").body == b""


def test_unknown_tls_alpn_name_gets_the_internal_error_alert(command):
    banner = command(["challtestsrv", *LOOPBACK])
    _, port = listener(banner, "TLS-ALPN-01")
    with pytest.raises(ssl.SSLError, match="ALERT_INTERNAL_ERROR"):
        tls_alpn_handshake(port, "unknown.example.test")
    assert post(banner, "/add-tlsalpn01", {"host": "known.example.test",
                                           "content": "ka"}).status_code == 200
    assert tls_alpn_handshake(port, "known.example.test")
    history = post(banner, "/tlsalpn01-request-history", {"host": "unknown.example.test"})
    assert [e["ServerName"] for e in history.json()] == ["unknown.example.test"]


def test_redirects_any_path_to_https_and_the_history_shows_both(command):
    banner = command(["challtestsrv", *LOOPBACK])
    _, http_port = listener(banner, "HTTP-01")
    _, https_port = listener(banner, "HTTPS HTTP-01")
    target = f"https://127.0.0.1:{https_port}/.well-known/acme-challenge/tok"
    assert post(banner, "/add-http01", {"token": "tok", "content": "ka"}).status_code == 200
    for path in ("/.well-known/acme-challenge/tok", "/not/a/challenge"):
        assert post(banner, "/add-redirect", {"path": path, "targetURL": target}).status_code == 200
        response = get(http_port, path, host="r.example.test")
        assert (response.status, response.getheader("Location")) == (302, target)
        assert response.body == f'<a href="{target}">Found</a>.\n\n'.encode()
    # Over HTTPS the redirect is ignored (no loop), and the token is served.
    response = get(https_port, "/.well-known/acme-challenge/tok", host="r.example.test", tls=True)
    assert (response.status, response.body) == (200, b"ka")
    history = post(banner, "/http-request-history", {"host": "r.example.test"}).json()
    assert [(e["URL"], e["HTTPS"]) for e in history] == [
        ("/.well-known/acme-challenge/tok", False), ("/not/a/challenge", False),
        ("/.well-known/acme-challenge/tok", True)]
    assert history[0]["Host"] == "r.example.test"
    assert post(banner, "/del-redirect", {"path": "/not/a/challenge"}).status_code == 200
    assert get(http_port, "/not/a/challenge").status == 200
    assert post(banner, "/clear-request-history", {"host": "r.example.test",
                                                   "type": "http"}).status_code == 200
    assert post(banner, "/http-request-history", {"host": "r.example.test"}).json() == []


def test_dns_defaults_and_an_empty_default_ipv4(command):
    banner = command(["challtestsrv", *LOOPBACK, "-defaultIPv4", ""])
    _, dns_port = listener(banner, "DNS")

    def ask(name: str, qtype: str, tcp: bool = False) -> List[str]:
        reply = DNSRecord.parse(DNSRecord.question(name, qtype).send(
            "127.0.0.1", dns_port, tcp=tcp, timeout=5))
        return [str(rr.rdata) for rr in reply.rr]

    assert ask("any.example.test", "A") == []
    assert ask("any.example.test", "AAAA", tcp=True) == ["::1"]
    assert post(banner, "/add-a", {"host": "any.example.test",
                                   "addresses": ["127.0.0.7"]}).status_code == 200
    assert ask("any.example.test", "A") == ["127.0.0.7"]
    history = post(banner, "/dns-request-history", {"host": "any.example.test"}).json()
    assert [e["Question"]["Qtype"] for e in history] == [QTYPE.A, QTYPE.AAAA, QTYPE.A]


def test_an_empty_address_turns_a_listener_and_its_endpoints_off(command):
    banner = command(["challtestsrv", "-management", "127.0.0.1:0", "-dns01", "",
                      "-http01", "", "-https01", "", "-tlsalpn01", ""])
    for what in ("DNS", "HTTP-01", "TLS-ALPN-01"):
        assert f"  {what}:" not in banner
    # pebble-challtestsrv registers these endpoints only with their listener.
    for path, body in (("/add-http01", {"token": "t", "content": "c"}),
                       ("/set-txt", {"host": "a.example.", "value": "v"}),
                       ("/add-tlsalpn01", {"host": "a.example", "content": "c"})):
        response = post(banner, path, body)
        assert response.status_code == 404, path
    assert post(banner, "/http-request-history", {"host": "a.example"}).json() == []


def test_a_busy_port_is_an_error_and_nothing_stays_up(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["challtestsrv", *LOOPBACK[:8], "-tlsalpn01", f"127.0.0.1:{port}"],
                    stop=threading.Event())
    assert code == 1
    assert f"127.0.0.1:{port}" in capsys.readouterr().err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_challtestsrv_process_stops_on_signals(sig):
    proc = Process([sys.executable, "-m", "pytest_acme", "challtestsrv", *LOOPBACK],
                   env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    try:
        banner = proc.wait_for("Ctrl-C")
        assert "management API: http://127.0.0.1:" in banner
        proc.proc.send_signal(sig)
        assert proc.proc.wait(10) == 0
    finally:
        proc.close()


def test_listening_beyond_loopback_is_warned_about(command, capsys):
    """Every interface (Go's ':PORT') exposes an unauthenticated API: say so."""
    command(["challtestsrv", "-management", ":0", "-dns01", "", "-http01", "", "-https01", "",
             "-tlsalpn01", ""])
    err = capsys.readouterr().err
    assert "warning: the management API listens on 0.0.0.0:" in err
    assert "needs no authentication" in err


# -- pytest-acme pebble


def pebble_config(tmp_path: Path, **pebble: object) -> str:
    path = tmp_path / "pebble-config.json"
    path.write_text(json.dumps({"pebble": pebble}))
    return str(path)


def test_pebble_without_its_config_file_says_what_to_do(tmp_path, monkeypatch, capsys):
    """Pebble exits with 1 when test/config/pebble-config.json is missing; so do we,
    saying which file, where, and how to pass one."""
    monkeypatch.chdir(tmp_path)
    assert main(["pebble"], stop=threading.Event()) == 1
    err = capsys.readouterr().err
    assert "'test/config/pebble-config.json'" in err and str(tmp_path) in err
    assert "-config FILE" in err and "listenAddress" in err


def test_run_as_pebble_by_name(tmp_path, monkeypatch, capsys):
    """A symlink named ``pebble`` to pytest-acme runs ``pytest-acme pebble``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "bin" / "pebble"), "-strict"])
    assert main(stop=threading.Event()) == 1
    assert "cannot read the Pebble config file" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", ["pebble-challtestsrv", "-dns01", "bad"])
    assert main(stop=threading.Event()) == 2
    assert "-dns01: 'bad'" in capsys.readouterr().err


def test_pebble_plan_sets_pebble_mode_and_starts_no_dns(tmp_path):
    config = pebble_config(tmp_path, listenAddress=":14000", managementListenAddress=":15000",
                           httpPort=5002, tlsPort=5001)
    args = _parser().parse_args(["pebble", "-config", config, "-dnsserver", "127.0.0.1:8053"])
    planned = pebble_plan(args, {"PEBBLE_CHAIN_LENGTH": "2"})
    settings = planned["settings"]
    assert settings["pebble"] is True and settings["dns_port"] is None
    assert (settings["host"], settings["port"]) == ("0.0.0.0", 14000)
    assert planned["management"] == ("0.0.0.0", 15000)
    assert (settings["dns_server"], settings["chain_length"]) == ("127.0.0.1:8053", 2)
    no_dns = pebble_plan(_parser().parse_args(["pebble", "-config", config]), {})
    assert "dns_server" not in no_dns["settings"]  # the built-in zone


def test_pebble_refuses_a_dns_server_beyond_loopback(tmp_path, capsys):
    config = pebble_config(tmp_path, listenAddress="127.0.0.1:0")
    with pytest.raises(SystemExit) as exc:
        main(["pebble", "-config", config, "-dnsserver", "192.0.2.53:53"])
    assert exc.value.code == 2
    assert "192.0.2.53" in capsys.readouterr().err


def test_pebble_listens_where_its_config_says(command, tmp_path, capsys):
    config = pebble_config(tmp_path, listenAddress="127.0.0.1:0",
                           managementListenAddress="127.0.0.1:0", httpPort=5002, tlsPort=5001)
    banner = command(["pebble", "-config", config])
    bundle = banner_field(banner, "CA bundle:")
    # Pebble's own lines, which scripts wait for, with URLs that work.
    directory_url = re.search(r"^Pebble [\d/]+ [\d:]+ ACME directory available at: (\S+)$",
                              banner, re.M).group(1)
    root_url = re.search(r"^Pebble [\d/]+ [\d:]+ Root CA certificate available at: (\S+)$",
                         banner, re.M).group(1)
    assert re.search(r"^Pebble .* Listening on: 127\.0\.0\.1:\d+$", banner, re.M)
    assert re.search(r"^Pebble .* Management interface listening on: 127\.0\.0\.1:\d+$",
                     banner, re.M)
    directory = requests.get(directory_url, verify=bundle, timeout=5)
    assert "newOrder" in directory.json()
    root = requests.get(root_url, verify=bundle, timeout=5)
    assert root.text.startswith("-----BEGIN CERTIFICATE-----")
    management = banner_field(banner, "management:").rsplit("/roots/0", 1)[0]
    assert root_url == f"{management}/roots/0"
    assert "DNS:" not in banner and "challtestsrv:" not in banner  # Pebble starts neither
    assert "resolver:     the built-in zone" in banner
    assert "warning" not in capsys.readouterr().err  # loopback only


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_pebble_process_stops_on_signals(tmp_path, sig):
    config = pebble_config(tmp_path, listenAddress="127.0.0.1:0",
                           managementListenAddress="127.0.0.1:0")
    proc = Process([sys.executable, "-m", "pytest_acme", "pebble", "-config", config],
                   env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
                        "PEBBLE_VA_ALWAYS_VALID": "1"})
    try:
        banner = proc.wait_for("Ctrl-C")
        assert "validation:   always_valid" in banner  # Pebble's environment is read
        bundle = banner_field(banner, "CA bundle:")
        assert requests.get(banner_field(banner, "directory:"), verify=bundle,
                            timeout=5).status_code == 200
        proc.proc.send_signal(sig)
        assert proc.proc.wait(10) == 0
        assert "stopped" in proc.wait_for("stopped")
    finally:
        proc.close()


@pytest.mark.parametrize("command_name, flag", [("pebble", "-dnsserver"),
                                                ("challtestsrv", "-tlsalpn01")])
def test_help(command_name, flag, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command_name, "--help"])
    assert exc.value.code == 0
    assert flag in capsys.readouterr().out


def test_pebble_without_management_address_has_none(command, tmp_path):
    banner = command(["pebble", "-config", pebble_config(tmp_path, listenAddress="127.0.0.1:0")])
    assert "management interface disabled" in banner and "management:" not in banner
    assert re.search(r"^Pebble .* Management interface is disabled$", banner, re.M)


def test_pebble_on_every_interface_is_warned_about(command, tmp_path, capsys):
    command(["pebble", "-config", pebble_config(tmp_path, listenAddress="127.0.0.1:0",
                                                managementListenAddress=":0")])
    assert "warning: the management API listens on 0.0.0.0:" in capsys.readouterr().err


# -- the mixed pairs: each command with the other's real binary


def https_identity(tmp_path: Path) -> Tuple[str, str, str]:
    """A CA bundle, certificate and key for the real Pebble's HTTPS."""
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    bundle, cert, key = (str(tmp_path / n) for n in ("ca.pem", "cert.pem", "key.pem"))
    ca.cert_pem.write_to_path(bundle)
    leaf.cert_chain_pems[0].write_to_path(cert)
    leaf.private_key_pem.write_to_path(key)
    return bundle, cert, key


class _Coordinates:
    def __init__(self, directory_url: str, ca_bundle: str) -> None:
        self.directory_url, self.ca_bundle = directory_url, ca_bundle


@pytest.mark.parametrize("challenge", ["http-01", "tls-alpn-01"])
def test_real_pebble_with_our_challtestsrv(command, tmp_path, challenge):
    pebble = real_binary("pebble")
    banner = command(["challtestsrv", *LOOPBACK, "-defaultIPv6", ""])
    bundle, cert, key = https_identity(tmp_path)
    acme_port, mgmt_port = spare_port(), spare_port()
    config = pebble_config(
        tmp_path, listenAddress=f"127.0.0.1:{acme_port}",
        managementListenAddress=f"127.0.0.1:{mgmt_port}", certificate=cert, privateKey=key,
        httpPort=listener(banner, "HTTP-01")[1], tlsPort=listener(banner, "TLS-ALPN-01")[1])
    proc = Process([pebble, "-config", config, "-dnsserver",
                    f"127.0.0.1:{listener(banner, 'DNS')[1]}"],
                   env={"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0",
                        "PEBBLE_AUTHZREUSE": "0", "PATH": "/usr/bin:/bin"})
    try:
        proc.wait_listening(acme_port)
        proc.wait_listening(mgmt_port)
        acme = account_client(_Coordinates(f"https://127.0.0.1:{acme_port}/dir", bundle))
        names = ["a.mixed.example.test", "b.mixed.example.test"]
        order = acme.new_order(make_csr(names, ec_key()))
        for authz in order.authorizations:
            # As JSON: certbot's library no longer models tls-alpn-01.
            chall = challenge_json(acme, authz.uri, challenge)
            content = key_authorization_for(acme, chall["token"])
            if challenge == "http-01":
                body = {"token": chall["token"], "content": content}
                assert post(banner, "/add-http01", body).status_code == 200
            else:
                body = {"host": authz.body.identifier.value, "content": content}
                assert post(banner, "/add-tlsalpn01", body).status_code == 200
            assert acme_post(acme, chall["url"], {}).status_code == 200
        order = acme.poll_and_finalize(order, deadline(60))
        chain = split_chain(order.fullchain_pem)
        root = requests.get(f"https://127.0.0.1:{mgmt_port}/roots/0", verify=bundle, timeout=5)
        verify_chain(chain, root.content)
        history = "/http-request-history" if challenge == "http-01" else "/tlsalpn01-request-history"
        assert post(banner, history, {"host": names[0]}).json()  # Pebble's validator came
    finally:
        proc.close()


def test_our_pebble_with_real_challtestsrv(command, tmp_path):
    challtestsrv = real_binary("pebble-challtestsrv")
    dns_port, http_port, mgmt = spare_port(), spare_port(), spare_port()
    proc = Process([challtestsrv, "-management", f"127.0.0.1:{mgmt}",
                    "-dns01", f"127.0.0.1:{dns_port}", "-http01", f"127.0.0.1:{http_port}",
                    "-https01", "", "-tlsalpn01", "", "-defaultIPv6", ""])
    try:
        proc.wait_listening(mgmt)
        config = pebble_config(tmp_path, listenAddress="127.0.0.1:0",
                               managementListenAddress="127.0.0.1:0", httpPort=http_port,
                               tlsPort=5001)
        banner = command(["pebble", "-config", config, "-dnsserver", f"127.0.0.1:{dns_port}"])
        bundle = banner_field(banner, "CA bundle:")
        acme = account_client(_Coordinates(banner_field(banner, "directory:"), bundle))
        names = ["*.pair.example.test", "pair.example.test", "www.pair.example.test"]
        order = acme.new_order(make_csr(names, ec_key()))
        for authz in order.authorizations:
            name = authz.body.identifier.value
            wanted = "dns-01" if authz.body.wildcard else "http-01"
            challb = next(c for c in authz.body.challenges if c.chall.typ == wanted)
            response, validation = challb.chall.response_and_validation(acme.net.key)
            if wanted == "dns-01":
                path, body = "/set-txt", {"host": f"_acme-challenge.{name}.", "value": validation}
            else:
                path, body = "/add-http01", {"token": challb.chall.encode("token"),
                                             "content": validation}
            r = requests.post(f"http://127.0.0.1:{mgmt}{path}", json=body, timeout=5)
            assert r.status_code == 200
            acme.answer_challenge(challb, response)
        order = acme.poll_and_finalize(order, deadline(30))
        chain = split_chain(order.fullchain_pem)
        management = banner_field(banner, "management:").rsplit("/roots/0", 1)[0]
        verify_chain(chain, requests.get(f"{management}/roots/0", verify=bundle, timeout=5).content)
        # Our validator asked the real challtestsrv's DNS.
        asked = requests.post(f"http://127.0.0.1:{mgmt}/dns-request-history", timeout=5,
                              json={"host": "_acme-challenge.pair.example.test"}).json()
        assert any(e["Question"]["Qtype"] == QTYPE.TXT for e in asked)
    finally:
        proc.close()



def test_dns_answers_side_by_side_with_the_real_challtestsrv(command):
    """The same edits, the same questions: the same rcode, answers (TTL included)
    and authority section as Debian's pebble-challtestsrv.  (Not asked: a name in
    another case, which pebble-challtestsrv matches case-sensitively; names here
    match in any case, as DNS names do, RFC 4343.)"""
    binary = real_binary("pebble-challtestsrv")
    dns_port, mgmt = spare_port(), spare_port()
    proc = Process([binary, "-management", f"127.0.0.1:{mgmt}", "-dns01", f"127.0.0.1:{dns_port}",
                    "-http01", "", "-https01", "", "-tlsalpn01", ""])
    try:
        proc.wait_listening(mgmt)
        banner = command(["challtestsrv", "-management", "127.0.0.1:0", "-dns01", "127.0.0.1:0",
                          "-http01", "", "-https01", "", "-tlsalpn01", ""])
        servers = {"real": (f"http://127.0.0.1:{mgmt}", dns_port),
                   "ours": ("http://{}:{}".format(*listener(banner, "management API")),
                            listener(banner, "DNS")[1])}
        edits = [("/set-txt", {"host": "_acme-challenge.t.example.", "value": "v1"}),
                 ("/set-txt", {"host": "_acme-challenge.t.example.", "value": "v2"}),
                 ("/add-caa", {"host": "t.example", "policies": [{"tag": "issue",
                                                                  "value": "ca.example"}]}),
                 ("/set-cname", {"host": "alias.example", "target": "t.example"}),
                 ("/add-a", {"host": "t.example", "addresses": ["127.0.0.5"]}),
                 ("/set-servfail", {"host": "broken.example"})]
        questions = [("_acme-challenge.t.example", "TXT"), ("t.example", "CAA"),
                     ("alias.example", "A"), ("alias.example", "CNAME"), ("t.example", "A"),
                     ("other.example", "A"), ("other.example", "AAAA"),
                     ("broken.example", "A"), ("t.example", "MX"), ("t.example", "SOA"),
                     ("nothing.example", "TXT")]
        seen = {}
        for who, (api, port) in servers.items():
            for path, body in edits:
                assert requests.post(api + path, json=body, timeout=5).status_code == 200
            seen[who] = []
            for name, qtype in questions:
                reply = DNSRecord.parse(DNSRecord.question(name, qtype).send(
                    "127.0.0.1", port, timeout=5))
                seen[who].append((name, qtype, reply.header.rcode,
                                  sorted(str(rr) for rr in reply.rr),
                                  [str(rr) for rr in reply.auth]))
        assert seen["ours"] == seen["real"]
    finally:
        proc.close()


#: Management requests whose answers (status, and body when it is not an error's
#: reason) match pebble-challtestsrv's.  Where pytest-acme differs on purpose, it
#: is not asked: a 400 here carries a reason (Go's is empty), and an address that
#: is not one ({"ip": "bad"}) is a 400 here, not a 200 that answers nothing.
API_CASES = [
    ("/set-default-ipv4", {"ip": "127.0.0.1"}), ("/set-default-ipv4", {}),
    ("/set-default-ipv6", {"ip": "::1"}), ("/set-default-ipv6", {"ip": ""}),
    ("/add-a", {"host": "a.example", "addresses": ["127.0.0.2"]}),
    ("/add-a", {"host": "a.example", "addresses": []}), ("/add-a", {"host": "", "addresses": ["127.0.0.2"]}),
    ("/clear-a", {"host": "a.example"}), ("/clear-a", {}),
    ("/add-aaaa", {"host": "a.example", "addresses": ["::2"]}), ("/clear-aaaa", {"host": "a.example"}),
    ("/set-txt", {"host": "_acme-challenge.a.example.", "value": "x"}),
    ("/set-txt", {"host": "_acme-challenge.a.example."}), ("/clear-txt", {"host": "x."}), ("/clear-txt", {}),
    ("/add-caa", {"host": "a.example", "policies": [{"tag": "issue", "value": "ca"}]}),
    ("/add-caa", {"host": "a.example", "policies": []}), ("/clear-caa", {"host": "a.example"}),
    ("/set-cname", {"host": "b.example", "target": "a.example"}), ("/clear-cname", {"host": "b.example"}),
    ("/set-servfail", {"host": "c.example"}), ("/clear-servfail", {"host": "c.example"}),
    ("/add-http01", {"token": "t", "content": "c"}), ("/add-http01", {"token": "t"}),
    ("/add-http01", {"content": "c"}), ("/del-http01", {"token": "t"}), ("/del-http01", {}),
    ("/add-redirect", {"path": "/p", "targetURL": "http://127.0.0.1/"}), ("/add-redirect", {"path": "/p"}),
    ("/del-redirect", {"path": "/p"}), ("/del-redirect", {}),
    ("/add-tlsalpn01", {"host": "a.example", "content": "c"}), ("/add-tlsalpn01", {"host": "a.example"}),
    ("/del-tlsalpn01", {"host": "a.example"}), ("/del-tlsalpn01", {}),
    ("/http-request-history", {"host": "none.example"}), ("/http-request-history", {}),
    ("/dns-request-history", {"host": "none.example"}), ("/tlsalpn01-request-history", {"host": "none.example"}),
    ("/clear-request-history", {"host": "a.example", "type": "dns"}),
    ("/clear-request-history", {"host": "a.example", "type": "bogus"}),
    ("/clear-request-history", {"type": "dns"}), ("/no-such-endpoint", {}),
]


def test_api_and_responders_side_by_side_with_the_real_challtestsrv(command):
    binary = real_binary("pebble-challtestsrv")
    ports = {name: spare_port() for name in ("management", "dns01", "http01", "https01", "tlsalpn01")}
    proc = Process([binary, *(a for name, port in ports.items()
                              for a in (f"-{name}", f"127.0.0.1:{port}"))])
    try:
        for port in ports.values():
            if port != ports["dns01"]:
                proc.wait_listening(port)
        banner = command(["challtestsrv", *LOOPBACK])
        # The start-up lines that scripts wait for, ports aside (the two
        # "Starting" lines come in either order from the real one).
        proc.wait_for("Starting challenge servers")
        proc.wait_for("Starting management server")

        def start_up(text: str) -> List[str]:
            return sorted(re.sub(r":\d+", ":PORT", line.split(" ", 4)[4])
                          for line in text.splitlines() if line.startswith("pebble-challtestsrv - "))

        assert len(start_up(banner)) == 8  # four listeners, two defaults, two "Starting"
        assert start_up(banner) == start_up("".join(proc.seen))
        ours = {name: listener(banner, what)[1] for name, what in (
            ("management", "management API"), ("http01", "HTTP-01"), ("https01", "HTTPS HTTP-01"),
            ("tlsalpn01", "TLS-ALPN-01"))}
        seen: Dict[str, list] = {}
        for who, where in (("real", ports), ("ours", ours)):
            api = f"http://127.0.0.1:{where['management']}"
            answers = []
            for path, body in API_CASES:
                r = requests.post(api + path, data=json.dumps(body), timeout=5)
                answers.append((path, body, r.status_code,
                                r.text if r.ok else None, r.headers.get("Content-Type") if r.ok else None))
            answers.append(requests.get(api + "/add-a", timeout=5).status_code)  # no body
            requests.post(api + "/add-http01", json={"token": "tok", "content": "ka"}, timeout=5)
            requests.post(api + "/add-redirect", timeout=5, json={
                "path": "/.well-known/acme-challenge/moved", "targetURL": "https://127.0.0.1:1/x"})
            for path in ("/.well-known/acme-challenge/tok", "/.well-known/acme-challenge/nope",
                         "/.well-known/acme-challenge/moved", "/"):
                for tls in (False, True):
                    r = get(where["https01" if tls else "http01"], path, tls=tls)
                    answers.append((path, tls, r.status, r.body, r.getheader("Content-Type"),
                                    r.getheader("Location")))
            with pytest.raises(ssl.SSLError) as alert:
                tls_alpn_handshake(where["tlsalpn01"], "unknown.example")
            answers.append(alert.value.reason)
            seen[who] = answers
        assert seen["ours"] == seen["real"]
    finally:
        proc.close()


def raw_exchange(port: int, data: bytes) -> Tuple[int, Dict[str, str], bytes]:
    """Send ``data`` as it is; the status, headers and body of the answer, read until
    the server closes the connection (both servers close after a refusal)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        answer = read_to_close(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize("data, status", [
    (b"HELLO\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n\r\n", 400),
    (b"POST /set-txt HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nNo colon\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
    (b"GET / HTTP/2.5\r\nHost: x\r\n\r\n", 505),
])
def test_a_malformed_request_to_the_api_is_answered_as_the_real_challtestsrv(
        command, data, status):
    """Go's net/http refuses it as plain text (``400 Bad Request``), not as an ACME
    problem; ours says the same first words, then what was wrong."""
    binary = real_binary("pebble-challtestsrv")
    mgmt = spare_port()
    proc = Process([binary, "-management", f"127.0.0.1:{mgmt}", "-dns01",
                    f"127.0.0.1:{spare_port()}", "-http01", "", "-https01", "", "-tlsalpn01", ""])
    try:
        proc.wait_listening(mgmt)
        theirs = raw_exchange(mgmt, data)
    finally:
        proc.close()
    banner = command(["challtestsrv", "-management", "127.0.0.1:0", "-dns01", "127.0.0.1:0",
                      "-http01", "", "-https01", "", "-tlsalpn01", ""])
    ours = raw_exchange(listener(banner, "management API")[1], data)
    first_words = f"{status} {http.client.responses[status]}".encode()
    for code, headers, body in (theirs, ours):
        assert code == status
        assert headers["content-type"] == "text/plain; charset=utf-8"
        assert headers["connection"] == "close"
        assert body.startswith(first_words) and b"urn:ietf" not in body
    assert ours[2].startswith(first_words + b": ")
