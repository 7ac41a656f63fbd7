"""The servers a benchmark runs against, started the same way and read the same way.

* :class:`InProcess`: ``AcmeServer`` in this process (what a pytest suite uses);
* :class:`Serve`: ``python -m pytest_acme serve`` as a subprocess;
* :class:`Pebble`: the ``pebble`` command, on free loopback ports, with a
  generated config and a trustme-made HTTPS certificate.

Each one's :meth:`start` returns the seconds from "start" to the first good
directory response over HTTPS.  Subprocesses report their CPU time and resident
memory from ``/proc``.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import List, Optional, Sequence
from urllib.parse import urlsplit

import trustme

from pytest_acme import AcmeServer
from pytest_acme.listeners import spare_port

#: The environment Pebble is measured with (and `pytest-acme serve` reads too).
PEBBLE_ENV = {
    "PEBBLE_VA_ALWAYS_VALID": "1",
    "PEBBLE_VA_NOSLEEP": "1",
    "PEBBLE_WFE_NONCEREJECT": "0",
    "PEBBLE_AUTHZREUSE": "0",
}
_TICK = os.sysconf("SC_CLK_TCK")


def get_directory(url: str, cafile: str, timeout: float = 10.0) -> dict:
    parts = urlsplit(url)
    conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                       context=ssl.create_default_context(cafile=cafile))
    try:
        conn.request("GET", parts.path)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"directory: HTTP {response.status}")
        return json.loads(body)
    finally:
        conn.close()


class Target:
    """A server under test."""

    name = "?"
    directory_url = ""
    cafile = ""
    pid: Optional[int] = None

    def start(self) -> float:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def cpu_seconds(self) -> Optional[float]:
        """User + system CPU of the server process so far (None in-process)."""
        if self.pid is None:
            return None
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK

    def rss_bytes(self) -> Optional[int]:
        pid = self.pid if self.pid is not None else os.getpid()
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return None


class InProcess(Target):
    name = "pytest-acme (in-process)"

    def __init__(self) -> None:
        self.server: Optional[AcmeServer] = None

    def start(self) -> float:
        started = time.perf_counter()
        self.server = AcmeServer(validation="always_valid", dns_port=None).start()
        self.directory_url, self.cafile = self.server.directory_url, self.server.ca_bundle
        get_directory(self.directory_url, self.cafile)
        return time.perf_counter() - started

    def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None


class _Process(Target):
    """A server command whose output says when and where it listens."""

    def __init__(self) -> None:
        self.proc: Optional[subprocess.Popen] = None
        self.output: List[str] = []
        self._tmp = Path(tempfile.mkdtemp(prefix="bench-acme-"))

    def _spawn(self, argv: List[str], ready: str) -> str:
        """Start ``argv``; return the output line that contains ``ready``."""
        env = dict(os.environ, **PEBBLE_ENV)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=env, cwd=self._tmp)
        self.pid = self.proc.pid
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            if ready in line:
                threading.Thread(target=self._drain, daemon=True).start()
                return line
        raise RuntimeError(f"{argv[0]} exited: {''.join(self.output)[-2000:]}")

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            if len(self.output) < 1000:
                self.output.append(line)

    def _first_directory(self, started: float, deadline: float = 30.0) -> float:
        """Ask for the directory until it answers (a listener may log before it listens)."""
        while True:
            try:
                get_directory(self.directory_url, self.cafile)
                return time.perf_counter() - started
            except (ConnectionRefusedError, ConnectionResetError, ssl.SSLError):
                if time.perf_counter() - started > deadline:
                    raise
                time.sleep(0.001)  # the server is starting; poll its port

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)


class Serve(_Process):
    name = "pytest-acme serve"
    reset_url = ""
    #: The interpreter that runs ``serve`` (another tree's, to compare two versions).
    python = sys.executable

    def start(self, extra: Sequence[str] = ()) -> float:
        """Start ``serve`` on free ports (``extra``: more of its flags)."""
        started = time.perf_counter()
        self._spawn([self.python, "-m", "pytest_acme", "serve", "-q", "--port", "0",
                     "--management-port", "0", "--challtestsrv-port", "-1", "--dns-port", "0",
                     *extra], ready="management:")
        banner = "".join(self.output)
        self.directory_url = banner_field(banner, "directory:")
        self.cafile = banner_field(banner, "CA bundle:")
        management = banner_field(banner, "management:").rsplit("/roots/", 1)[0]
        self.reset_url = f"{management}/pytest-acme/reset"
        return self._first_directory(started)


class Pebble(_Process):
    name = "Pebble"

    def __init__(self, command: str = "pebble") -> None:
        super().__init__()
        self.command = command
        ca = trustme.CA()
        leaf = ca.issue_cert("127.0.0.1", "localhost")
        leaf.cert_chain_pems[0].write_to_path(str(self._tmp / "cert.pem"))
        leaf.private_key_pem.write_to_path(str(self._tmp / "key.pem"))
        ca.cert_pem.write_to_path(str(self._tmp / "ca.pem"))
        self.cafile = str(self._tmp / "ca.pem")

    def start(self) -> float:
        port, management = spare_port(), spare_port()
        config = {"pebble": {
            "listenAddress": f"127.0.0.1:{port}",
            "managementListenAddress": f"127.0.0.1:{management}",
            "certificate": str(self._tmp / "cert.pem"),
            "privateKey": str(self._tmp / "key.pem"),
            "httpPort": spare_port(), "tlsPort": spare_port(),
            "ocspResponderURL": "", "externalAccountBindingRequired": False,
        }}
        (self._tmp / "pebble.json").write_text(json.dumps(config))
        self.directory_url = f"https://127.0.0.1:{port}/dir"
        started = time.perf_counter()
        self._spawn([self.command, "-config", str(self._tmp / "pebble.json")],
                    ready="Listening on")
        return self._first_directory(started)

    @staticmethod
    def available(command: str = "pebble") -> bool:
        return shutil.which(command) is not None


def banner_field(banner: str, name: str) -> str:
    line = next(line for line in banner.splitlines() if line.strip().startswith(name))
    return line.split(name, 1)[1].split()[0]
