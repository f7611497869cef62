"""The store survives kill -9 mid-write; signatures; device identity and URL templates."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from firmware.errors import ConfigError, SignatureError
from firmware.lab.provisioning import fake_device_root
from firmware.provisioning import signature
from firmware.provisioning.store import ProfileStore, StoredProfile
from firmware.provisioning.url import Device, discover, expand, read_boot_file

WRITER = """
import json, sys
from pathlib import Path
from firmware.provisioning.store import ProfileStore, StoredProfile
store = ProfileStore(Path(sys.argv[1]))
old = store.load()
version = old.version if old else 0
while True:
    version += 1
    body = json.dumps({"version": version, "pad": "x" * (50_000 + version % 7 * 40_000)}).encode()
    store.save(StoredProfile(body=body, signature="ed25519=x", version=version, pinned_key="k"))
    print(version, flush=True)
"""


def test_kill_9_during_writes_always_leaves_a_usable_profile(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "prov")
    rng = random.Random(1)
    last_seen = 0
    kills_mid_write = 0
    rounds = 0
    while rounds < 10 or (kills_mid_write < 2 and rounds < 60):
        rounds += 1
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(store.directory)], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None
        first = int(child.stdout.readline())  # at least one write done in this round
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        kills_mid_write += any(p.suffix == ".tmp" for p in store.directory.iterdir())
        record = store.load()  # also sweeps the temporary file a killed write left
        assert record is not None, "no usable profile after kill -9"
        assert json.loads(record.body)["version"] == record.version >= max(first, last_seen)
        last_seen = record.version
        assert not any(p.suffix == ".tmp" for p in store.directory.iterdir())
        assert (store.profile_path.stat().st_mode & 0o777) == 0o600
    assert kills_mid_write > 0, "no kill landed in the middle of a write: the test proved nothing"


def test_a_corrupt_record_is_ignored_not_fatal(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    store.save(StoredProfile(body=b"{}", signature="s", version=3, pinned_key="k"))
    raw = bytearray(store.profile_path.read_bytes())
    raw[raw.index(b'"body"') + 10] ^= 0x01  # one flipped bit in the body
    store.profile_path.write_bytes(bytes(raw))
    assert store.load() is None


def test_signatures() -> None:
    key = Ed25519PrivateKey.generate()
    pub = signature.public_key_text(key)
    body = b'{"schema":1,"version":1}'
    header = signature.sign(key, body)
    assert header.startswith("ed25519=")
    signature.verify(pub, body, header)
    with pytest.raises(SignatureError, match="does not match"):
        signature.verify(pub, body + b" ", header)
    with pytest.raises(SignatureError, match="does not match"):
        signature.verify(signature.public_key_text(Ed25519PrivateKey.generate()), body, header)
    for bad, words in [(None, "not signed"), ("rsa=AAAA", "expected"), ("ed25519=!!", "base64"),
                       ("ed25519=AAAA", "64 bytes")]:  # fmt: skip
        with pytest.raises(SignatureError, match=words):
            signature.verify(pub, body, bad)


def test_private_key_file_is_0600_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "k" / "signing.key"
    key = signature.generate_private_key(path)
    assert (path.stat().st_mode & 0o777) == 0o600
    assert signature.public_key_text(signature.load_private_key(path)) == signature.public_key_text(key)
    with pytest.raises(FileExistsError):
        signature.generate_private_key(path)


def test_device_identity_from_sys_and_proc(tmp_path: Path) -> None:
    root = fake_device_root(tmp_path, "b827eb0a0b0c", serial="00000000c0ffee01")
    lo = root / "sys" / "class" / "net" / "lo"
    lo.mkdir(parents=True)
    (lo / "address").write_text("00:00:00:00:00:00\n")
    wlan = root / "sys" / "class" / "net" / "wlan0"
    wlan.mkdir(parents=True)
    (wlan / "address").write_text("dc:a6:32:00:00:01\n")
    assert discover(root) == Device("b827eb0a0b0c", "00000000c0ffee01")
    assert discover(root, "wlan0").mac == "dca632000001"
    cpuinfo = tmp_path / "other" / "proc"
    cpuinfo.mkdir(parents=True)
    (cpuinfo / "cpuinfo").write_text("processor\t: 0\nSerial\t\t: 10000000ABCDEF12\n")
    assert discover(tmp_path / "other") == Device("", "10000000abcdef12")


def test_url_templates() -> None:
    dev = Device("b827eb0a0b0c", "c0ffee01")
    assert (
        expand("https://p.example/{mac}/{serial}.json", dev) == "https://p.example/b827eb0a0b0c/c0ffee01.json"
    )
    with pytest.raises(ConfigError, match="serial"):
        expand("https://p.example/{serial}.json", Device("b827eb0a0b0c", ""))


def test_boot_file(tmp_path: Path) -> None:
    assert read_boot_file(tmp_path / "absent.toml") == {}
    bare = tmp_path / "bare.toml"
    bare.write_text('url = "https://p.example/{mac}.json"\nboot_file = "/elsewhere"\n')
    assert read_boot_file(bare) == {"provisioning": {"url": "https://p.example/{mac}.json"}}
    table = tmp_path / "table.toml"
    table.write_text('[provisioning]\nsigning_key = "x"\n')
    assert read_boot_file(table) == {"provisioning": {"signing_key": "x"}}
    broken = tmp_path / "broken.toml"
    broken.write_text("url = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_boot_file(broken)
