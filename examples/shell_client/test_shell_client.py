"""Copy me: test a client written in another language through ``pytest-acme serve``.

The client under test is ``acme-client.sh``, a POSIX shell script that speaks
ACME with openssl and curl; put yours (Go, Tcl, Rust, ...) in its place.  The
test starts ``pytest-acme serve`` on free ports, reads the directory URL, the CA
bundle and the pebble-challtestsrv URL from its banner, and runs the script as
a user would.  After a failure it fetches the server's account of what
happened from the management API (``/pytest-acme/describe``).

The script waits ``Retry-After`` seconds between polls with ``$ACME_WAIT``; the
test sets it to ``:`` (do nothing), so nothing sleeps: the script polls again
at once, at most ``$ACME_POLLS`` times.
"""

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.x509.oid import NameOID

SCRIPT = Path(__file__).with_name("acme-client.sh")

pytestmark = pytest.mark.skipif(
    not (shutil.which("openssl") and shutil.which("curl")),
    reason="the shell client needs openssl and curl on PATH")


class Serve:
    """``pytest-acme serve`` in a process of its own, every port chosen by the OS."""

    def __init__(self, *options):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pytest_acme", "serve", "--port", "0",
             "--management-port", "0", "--challtestsrv-port", "0", "--dns-port", "0",
             *options],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in self.proc.stdout],
                         daemon=True).start()
        self.banner = ""
        try:
            while "Ctrl-C" not in self.banner:  # the banner's last line
                self.banner += lines.get(timeout=30)
        except queue.Empty:
            self.stop()
            raise RuntimeError(f"pytest-acme serve did not start: {self.banner!r}") from None

    def field(self, name):
        """The first word after ``name:`` in the banner."""
        line = next(x for x in self.banner.splitlines() if x.strip().startswith(name + ":"))
        return line.split(":", 1)[1].split()[0].rstrip(",")

    @property
    def management(self):
        return self.field("management").rsplit("/roots/", 1)[0]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


@pytest.fixture
def serve():
    server = Serve()
    yield server
    server.stop()


def run_client(serve, out, *names):
    challtestsrv = serve.field("challtestsrv").rsplit("/", 1)[0]
    env = dict(os.environ, ACME_WAIT=":", ACME_POLLS="200")
    return subprocess.run(
        ["sh", str(SCRIPT), serve.field("directory"), serve.field("CA bundle"),
         challtestsrv, str(out), *names],
        env=env, capture_output=True, text=True, timeout=120)


def test_the_shell_client_gets_a_certificate(serve, tmp_path):
    result = run_client(serve, tmp_path, "shell.example.test", "www.shell.example.test")
    assert result.returncode == 0, result.stderr

    chain = x509.load_pem_x509_certificates((tmp_path / "fullchain.pem").read_bytes())
    leaf = chain[0]
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "shell.example.test"
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["shell.example.test",
                                                      "www.shell.example.test"]
    # The chain ends at a root the server publishes (the banner's "roots" file).
    roots = x509.load_pem_x509_certificates(Path(serve.field("roots")).read_bytes())
    assert chain[-1].issuer in {root.subject for root in roots}
    # The order the script printed is valid on the server's side too.
    order_url = result.stdout.strip()
    described = requests.get(serve.management + "/pytest-acme/describe.json",
                             params={"order": order_url}, verify=serve.field("CA bundle"),
                             timeout=10).json()
    assert described["status"] == "valid"


def test_a_failed_validation_fails_the_script_and_describe_says_why(serve, tmp_path):
    # Arm a fault over the management API: the server refuses this name's challenge.
    bundle = serve.field("CA bundle")
    armed = requests.post(serve.management + "/pytest-acme/faults", verify=bundle, timeout=10,
                          data=json.dumps({"fault": "fail_challenge",
                                           "args": {"identifier": "broken.example.test"}}))
    assert armed.status_code == 201, armed.text

    result = run_client(serve, tmp_path, "broken.example.test")
    assert result.returncode != 0
    assert "is invalid" in result.stderr  # the script stops at the invalid authorization
    assert not (tmp_path / "fullchain.pem").exists()

    order_url = next(line.split()[-1] for line in result.stderr.splitlines()
                     if line.startswith("acme-client: order "))
    describe = requests.get(serve.management + "/pytest-acme/describe",
                            params={"order": order_url}, verify=bundle, timeout=10).text
    print(describe)  # shown by pytest when this test fails: the server's side of it
    state = next(line for line in describe.splitlines() if line.startswith("State:"))
    assert state.split() == ["State:", "invalid"]
    assert "dns-01 validation of broken.example.test failed (injected fault)" in describe
