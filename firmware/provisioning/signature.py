"""Profile signatures: Ed25519 over the exact bytes of the HTTP body, sent in a response header.

    X-Profile-Signature: ed25519=<base64 of the 64-byte signature>

A detached signature over the bytes as served needs no canonical JSON: the phone verifies what
it received, byte for byte, before it parses anything. Public keys travel as base64 of their 32
raw bytes (one short line in a config file); the provider's private key is a PKCS#8 PEM file
(readable by `openssl pkey`), written 0600.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from firmware.errors import ProvisioningError, SignatureError

HEADER = "X-Profile-Signature"
SCHEME = "ed25519"


def public_key(text: str) -> Ed25519PublicKey:
    """A base64 raw public key -> key object. Raises SignatureError."""
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise SignatureError("signing key is not a base64 Ed25519 public key (32 bytes)") from None


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def sign(key: Ed25519PrivateKey, body: bytes) -> str:
    """The header value for `body`."""
    return f"{SCHEME}={base64.b64encode(key.sign(body)).decode()}"


def _signature_bytes(header: str | None) -> bytes:
    if not header:
        raise SignatureError(f"profile is not signed (no {HEADER} header)")
    scheme, sep, value = header.strip().partition("=")
    if not sep or scheme.strip().lower() != SCHEME:
        raise SignatureError(f"{HEADER}: expected '{SCHEME}=<base64>'")
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"{HEADER}: not base64") from None
    if len(raw) != 64:
        raise SignatureError(f"{HEADER}: an Ed25519 signature is 64 bytes, this is {len(raw)}")
    return raw


def verify(key_text: str, body: bytes, header: str | None) -> None:
    """Raise SignatureError unless `header` is a valid signature of `body` by `key_text`."""
    signature = _signature_bytes(header)
    try:
        public_key(key_text).verify(signature, body)
    except InvalidSignature:
        raise SignatureError("signature does not match the pinned key (tampered or wrong key)") from None


def generate_private_key(path: Path) -> Ed25519PrivateKey:
    """Create a new signing key at `path` (0600, refuses to overwrite)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return key


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as err:
        raise ProvisioningError(f"{path}: cannot read the signing key: {err}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ProvisioningError(f"{path}: not an Ed25519 private key")
    return key
