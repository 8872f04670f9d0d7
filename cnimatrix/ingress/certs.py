"""Certificates the Ingress and Gateway suites make at run time (never checked in).

A throw-away CA signs one certificate per host name; clients verify what the controller presents
against that CA, so a certificate for the wrong name (or the controller's own default) fails.
Made with the host's openssl (Debian's), as the venv has no crypto library.
"""
from __future__ import annotations

import base64
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class CertError(RuntimeError):
    pass


@dataclass(frozen=True)
class KeyPair:
    host: str
    cert_pem: str
    key_pem: str

    def secret(self, name: str) -> dict:
        """A kubernetes.io/tls Secret holding this pair."""
        encode = lambda text: base64.b64encode(text.encode()).decode()
        return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls", "metadata": {"name": name},
                "data": {"tls.crt": encode(self.cert_pem), "tls.key": encode(self.key_pem)}}


def _openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CertError(f"openssl {args[0]} failed: {proc.stderr.strip()[:300]}")


_EC = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2")


class TestCA:
    """A CA valid for two days whose name carries a random tag, so no two runs share one."""

    __test__ = False

    def __init__(self) -> None:
        if not shutil.which("openssl"):
            raise CertError("openssl not found: the TLS scenarios make their certificates with it (apt-get install openssl)")
        self._dir = Path(tempfile.mkdtemp(prefix="cnimatrix-ca-"))
        self.name = f"cnimatrix test CA {secrets.token_hex(4)}"
        _openssl("req", "-x509", *_EC, "-keyout", "ca.key", "-out", "ca.crt", "-subj", f"/CN={self.name}",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=self._dir)
        self.cert_pem = (self._dir / "ca.crt").read_text()

    def issue(self, host: str) -> KeyPair:
        """A server certificate for `host` (subject CN and the one DNS name), signed by this CA."""
        stem = secrets.token_hex(4)
        _openssl("req", "-x509", *_EC, "-CA", "ca.crt", "-CAkey", "ca.key", "-keyout", f"{stem}.key", "-out", f"{stem}.crt",
                 "-subj", f"/CN={host}", "-addext", f"subjectAltName=DNS:{host}", "-addext", "extendedKeyUsage=serverAuth",
                 "-addext", "basicConstraints=critical,CA:FALSE", cwd=self._dir)
        return KeyPair(host, (self._dir / f"{stem}.crt").read_text(), (self._dir / f"{stem}.key").read_text())

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
