"""Test PKI for the lab: a throw-away CA and server certificates, made with the `openssl` CLI.

The `openssl` program is used instead of a Python crypto package so the lab adds no dependency;
it is present on CI, on developer machines and in the Pi image.

Layout written into the target directory (names are stable so a restarted server finds them):

    <ca>.crt / <ca>.key          the CA (self-signed, CA:TRUE)
    <name>.crt / <name>.key      a server certificate signed by that CA

Server certificates carry subjectAltName entries for 127.0.0.1 and localhost (plus any extra
names, e.g. the SIP domain), because TLS clients verify the SAN, not the CN.  RSA 2048 keys are
used because the pjsua2 wheel bundles OpenSSL 1.0.2 and older peers may lack ECDSA suites.
"""

from __future__ import annotations

import ipaddress
import secrets
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from firmware.errors import LabError

DEFAULT_DNS_NAMES: tuple[str, ...] = ("localhost",)
DEFAULT_IP_ADDRESSES: tuple[str, ...] = ("127.0.0.1",)


class TlsFiles(NamedTuple):
    """Paths of a CA certificate and of a server certificate + key it signed.

    Unpacks as ``ca_cert, server_cert, server_key``; ``ca_key`` is derived (same stem as the CA).
    """

    ca_cert: Path
    server_cert: Path
    server_key: Path

    @property
    def ca_key(self) -> Path:
        return self.ca_cert.with_suffix(".key")


def _openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )
    if proc.returncode != 0:
        raise LabError(f"openssl {args[0]} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")


def _serial() -> str:
    # Random serials: two certificates with the same issuer+serial confuse some TLS stacks.
    return "0x" + secrets.token_hex(8)


def make_ca(directory: Path, name: str = "lab-ca", *, common_name: str | None = None, days: int = 30) -> Path:
    """Create ``<directory>/<name>.crt`` and ``.key``, a self-signed CA. Returns the certificate path.

    An existing pair is reused, so a server restart keeps trusting the same CA.
    """
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    if cert.exists() and key.exists():
        return cert
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
        "-keyout", str(key), "-out", str(cert), "-days", str(days), "-set_serial", _serial(),
        "-subj", f"/O=Desk phone lab/CN={common_name or name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash",
        cwd=directory,
    )  # fmt: skip
    key.chmod(0o600)
    return cert


def make_server_cert(
    directory: Path,
    ca_cert: Path,
    name: str = "server",
    *,
    dns_names: Sequence[str] = DEFAULT_DNS_NAMES,
    ip_addresses: Sequence[str] = DEFAULT_IP_ADDRESSES,
    days: int = 30,
) -> tuple[Path, Path]:
    """Create ``<directory>/<name>.crt`` and ``.key`` signed by ``ca_cert`` (its key beside it).

    Returns ``(cert, key)``. The first DNS name (or IP) becomes the CN. An existing pair is reused.
    """
    directory.mkdir(parents=True, exist_ok=True)
    cert, key, csr = directory / f"{name}.crt", directory / f"{name}.key", directory / f"{name}.csr"
    if cert.exists() and key.exists():
        return cert, key
    ca_key = ca_cert.with_suffix(".key")
    if not ca_key.exists():
        raise LabError(f"CA key {ca_key} not found beside {ca_cert}")
    for ip in ip_addresses:
        ipaddress.ip_address(ip)  # a typo here would give a certificate no client accepts
    san = ",".join([*(f"DNS:{n}" for n in dns_names), *(f"IP:{ip}" for ip in ip_addresses)])
    if not san:
        raise LabError("a server certificate needs at least one DNS name or IP address")
    common_name = (list(dns_names) + list(ip_addresses))[0]
    ext = directory / f"{name}.ext"
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
        f"subjectAltName={san}\n"
    )
    _openssl(
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-sha256",
        "-keyout", str(key), "-out", str(csr), "-subj", f"/O=Desk phone lab/CN={common_name}",
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-sha256", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
        "-set_serial", _serial(), "-days", str(days), "-extfile", str(ext), "-out", str(cert),
        cwd=directory,
    )  # fmt: skip
    key.chmod(0o600)
    csr.unlink()
    ext.unlink()
    return cert, key


def make_test_pki(
    directory: Path,
    *,
    extra_dns_names: Sequence[str] = (),
    ca_name: str = "lab-ca",
    server_name: str = "server",
) -> TlsFiles:
    """A CA plus a server certificate for 127.0.0.1 / localhost (+ ``extra_dns_names``).

    This is what the lab Kamailio uses; clients trust ``ca_cert``.
    """
    ca_cert = make_ca(directory, ca_name)
    cert, key = make_server_cert(
        directory, ca_cert, server_name, dns_names=(*DEFAULT_DNS_NAMES, *extra_dns_names)
    )
    return TlsFiles(ca_cert, cert, key)


def make_foreign_server_cert(directory: Path, *, extra_dns_names: Sequence[str] = ()) -> TlsFiles:
    """A server certificate with the right names but signed by ANOTHER CA ("rogue-ca").

    For "a client refuses a server whose certificate its CA did not sign" tests: start a server
    with ``server_cert``/``server_key`` from here while the client trusts only the lab CA.
    """
    return make_test_pki(
        directory, extra_dns_names=extra_dns_names, ca_name="rogue-ca", server_name="rogue-server"
    )
