"""Helpers for the tests that drive real ACME client programs (certbot, dehydrated)
against the ``acme_server`` fixture: finding the tool, running it as a process with
a timeout, hook scripts for dns-01, a static http-01 responder, and checks of the
certificate and key the client wrote."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from clientlib import free_port, require_tool  # noqa: F401 - shared by the client tests
from helpers import sans, split_chain, verify_chain
from pytest_acme.httpd import WsgiThread
from pytest_acme.standalone.challtestsrv import make_challtestsrv_app

CLIENT_TIMEOUT = 180.0


def run_client(argv: Sequence[str], *, label: str, env: Optional[Dict[str, str]] = None,
               timeout: float = CLIENT_TIMEOUT, log_files: Iterable[Path] = (),
               check: bool = True) -> subprocess.CompletedProcess:
    """Run one client command as its own process; print how long it took; on a
    non-zero exit fail with its output (and the tail of any log files)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    started = time.monotonic()
    try:
        proc = subprocess.run(list(argv), env=full_env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{label}: no exit after {timeout:.0f} s: {' '.join(argv)}\n"
                    f"stdout:\n{exc.stdout}\nstderr:\n{exc.stderr}", pytrace=False)
    elapsed = time.monotonic() - started
    print(f"[client] {label}: {elapsed:.2f} s (exit {proc.returncode})")
    if check and proc.returncode != 0:
        logs = []
        for log in log_files:
            if log.is_file():
                logs.append(f"--- {log} (tail)\n" + "\n".join(log.read_text(errors="replace").splitlines()[-60:]))
        pytest.fail(f"{label} exited {proc.returncode}: {' '.join(argv)}\n"
                    f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}\n" + "\n".join(logs),
                    pytrace=False)
    return proc


class Challtestsrv:
    """A pebble-challtestsrv-compatible API on a free port editing the server's zone."""

    def __init__(self, zone) -> None:
        self.thread = WsgiThread(make_challtestsrv_app(zone), "127.0.0.1", 0,
                                 what="challtestsrv API").start()
        self.url = f"http://127.0.0.1:{self.thread.port}"

    def stop(self) -> None:
        self.thread.stop()


_DNS_HOOK = '''#!{python}
"""dns-01 hook: POST to the challtestsrv API at {url}.
certbot: {prog} set|clear (reads CERTBOT_DOMAIN, CERTBOT_VALIDATION; a wildcard's
CERTBOT_DOMAIN is its base name). dehydrated: {prog} deploy_challenge|clean_challenge
DOMAIN TOKEN VALUE (other hook calls are ignored)."""
import json, os, sys, urllib.request

def post(path, body):
    req = urllib.request.Request({url!r} + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()

def host(name):
    name = name.rstrip(".")
    if name.startswith("*."):
        name = name[2:]
    return "_acme-challenge." + name + "."

args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(" ".join(args) + " " + os.environ.get("CERTBOT_DOMAIN", "") + "\\n")
if args[:1] == ["set"]:
    post("/set-txt", {{"host": host(os.environ["CERTBOT_DOMAIN"]),
                      "value": os.environ["CERTBOT_VALIDATION"]}})
elif args[:1] == ["clear"]:
    post("/clear-txt", {{"host": host(os.environ["CERTBOT_DOMAIN"])}})
elif args[:1] == ["deploy_challenge"]:
    post("/set-txt", {{"host": host(args[1]), "value": args[3]}})
elif args[:1] == ["clean_challenge"]:
    post("/clear-txt", {{"host": host(args[1])}})
'''


def write_dns_hook(path: Path, api_url: str) -> Path:
    """An executable Python hook script (see ``_DNS_HOOK``); calls are logged to
    ``<path>.log``."""
    path.write_text(_DNS_HOOK.format(python=sys.executable, url=api_url, prog=path.name,
                                     log=str(path) + ".log"))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def hook_calls(path: Path) -> List[str]:
    log = Path(str(path) + ".log")
    return log.read_text().splitlines() if log.is_file() else []


class WebrootServer:
    """Serve the files of ``directory`` at ``/.well-known/acme-challenge/<file>``."""

    PREFIX = "/.well-known/acme-challenge/"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.thread = WsgiThread(self._app, "127.0.0.1", 0, what="http-01 webroot").start()
        self.port = self.thread.port

    def _app(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        name = path[len(self.PREFIX):] if path.startswith(self.PREFIX) else ""
        target = self.directory / name
        if name and "/" not in name and not name.startswith(".") and target.is_file():
            body = target.read_bytes()
            start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    def stop(self) -> None:
        self.thread.stop()


def check_certificate(fullchain: Path, key_file: Path, roots_pem: bytes,
                      names: Iterable[str]) -> x509.Certificate:
    """The chain in ``fullchain`` verifies to ``roots_pem``, the leaf's SANs are exactly
    ``names`` and its public key is the one in ``key_file``; returns the leaf."""
    chain = split_chain(fullchain.read_bytes())
    assert len(chain) >= 2, f"{fullchain}: expected leaf + intermediate, got {len(chain)} cert(s)"
    verify_chain(chain, roots_pem)
    leaf = chain[0]
    assert sans(leaf) == set(names)
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    assert leaf.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki)
    return leaf
