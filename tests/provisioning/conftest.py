"""Helpers for provisioning tests: the reference service on real HTTPS (loopback), test profiles."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from firmware.lab.certs import TlsFiles, make_foreign_server_cert
from firmware.provisioning.server import ProvisioningServer, ServerConfig, hash_password

MAC = "b827eb000001"
USER, PASSWORD = "dev1", "s3cret-pw"


def sip_section(user: str = "1001", **extra: Any) -> dict[str, Any]:
    return {"domain": "lab.test", "registrar": "127.0.0.1", "transport": "udp", "user": user,
            "password": f"pw-{user}", **extra}  # fmt: skip


def make_server_config(tmp: Path, pki: TlsFiles, **over: Any) -> ServerConfig:
    (tmp / "profiles").mkdir(parents=True, exist_ok=True)
    users = tmp / "users.toml"
    if not users.exists():
        users.write_text(
            f'[devices."{MAC}"]\nusername = "{USER}"\npassword_hash = "{hash_password(PASSWORD)}"\n'
        )
    values: dict[str, Any] = {
        "bind": "127.0.0.1", "port": 0, "cert": str(pki.server_cert), "key": str(pki.server_key),
        "profiles_dir": str(tmp / "profiles"), "signing_key": str(tmp / "signing.key"),
        "state_dir": str(tmp / "state"), "users_file": str(users), "auth": "basic",
    }  # fmt: skip
    values.update(over)
    return ServerConfig(**values)


@pytest.fixture
def server_factory(tmp_path: Path, lab_pki: TlsFiles) -> Callable[..., ProvisioningServer]:
    def make(**over: Any) -> ProvisioningServer:
        return ProvisioningServer(make_server_config(tmp_path / "server", lab_pki, **over))

    return make


@pytest.fixture(scope="session")
def expired_pki(tmp_path_factory: pytest.TempPathFactory, lab_pki: TlsFiles) -> TlsFiles:
    """A server certificate from the lab CA, right names, expired yesterday."""
    directory = tmp_path_factory.mktemp("expired")
    ca_key = serialization.load_pem_private_key(lab_pki.ca_key.read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(lab_pki.ca_cert.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=30))
        .not_valid_after(now - dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    cert_path, key_path = directory / "expired.crt", directory / "expired.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return TlsFiles(lab_pki.ca_cert, cert_path, key_path)


@pytest.fixture(scope="session")
def rogue_pki(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_foreign_server_cert(tmp_path_factory.mktemp("rogue"))
