"""Challenge plumbing for the hook-driven clients (certbot, dehydrated): a
challtestsrv API on a free port, the dns-01 hook script that posts to it, and a
static http-01 responder for webroot directories.  Running clients and checking
their certificates is in :mod:`clientlib`."""

from __future__ import annotations

import stat
import sys
from pathlib import Path
from typing import List

from pytest_acme.httpd import WsgiThread
from pytest_acme.standalone.challtestsrv import make_challtestsrv_app


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
