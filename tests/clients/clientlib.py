"""Shared helpers for the tests that run real ACME clients as separate processes."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from helpers import sans, split_chain, verify_chain

#: Seconds a client process may run before the test fails.
CLIENT_TIMEOUT = 120


def require_tool(name: str, install_hint: str) -> str:
    """The path of the executable ``name``: a skip (saying how to install it) when it
    is missing, but a failure when ``CI=true``, where every client must be present."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed; install it with: {install_hint}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: a missing client is a failure)", pytrace=False)
        pytest.skip(message)
    return path


def names(prefix: str, count: int = 1, domain: str = "example.test") -> List[str]:
    """``count`` fresh names like ``<prefix>-<random>.example.test``."""
    return [f"{prefix}-{secrets.token_hex(4)}.{domain}" for _ in range(count)]


def run_client(label: str, cmd: Sequence[str], *, env: Optional[Dict[str, str]] = None,
               cwd: Optional[Path] = None, timeout: float = CLIENT_TIMEOUT,
               log_files: Sequence[Path] = ()) -> subprocess.CompletedProcess:
    """Run a client to completion (with a timeout), print how long it took, and fail
    the test with its output (and the tail of ``log_files``) if it exits non-zero."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    start = time.monotonic()
    try:
        proc = subprocess.run(list(cmd), env=full_env, cwd=cwd, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{label}: no exit after {timeout} s\nstdout:\n{e.stdout}\nstderr:\n{e.stderr}",
                    pytrace=False)
    seconds = time.monotonic() - start
    print(f"{label}: {seconds:.2f} s (exit {proc.returncode})")
    if proc.returncode != 0:
        logs = [f"--- {log} (tail)\n" + "\n".join(log.read_text(errors="replace").splitlines()[-60:])
                for log in log_files if log.is_file()]
        pytest.fail(f"{label} exited {proc.returncode}: {' '.join(cmd)}\n"
                    f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}\n" + "\n".join(logs),
                    pytrace=False)
    return proc


def check_certificate(server, chain_pem, key_path: Path,
                      expected_names: Sequence[str]) -> x509.Certificate:
    """The client's certificate chains to the server's root, names exactly
    ``expected_names`` and carries the public key from the client's key file;
    returns the leaf."""
    chain = split_chain(chain_pem)
    assert chain, "no certificate in the client's output"
    verify_chain(chain, server.roots_pem)
    leaf = chain[0]
    assert sans(leaf) == set(expected_names)
    key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert leaf.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt)
    return leaf
