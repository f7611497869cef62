"""Security (issue 7): TLS verification on by default for SIP, XMPP and provisioning (a server
certificate from another CA is refused on each), secrets only in 0600 files and never in logs
(grepped after a full provisioned run with SIP, XMPP, a call and a chat).

Elsewhere: a spoofed caller is never shown as verified: tests/e2e/test_cusax.py
(test_a_caller_claiming_a_contact_is_unverified_and_a_stranger_is_unknown); the systemd exposure
threshold: tests/appliance/test_units.py (test_exposure_score_is_at_most_two)."""

from __future__ import annotations

import asyncio
import base64
import stat
import time
from pathlib import Path

import pytest

from firmware.config import Provisioning, Sip, Xmpp
from firmware.lab.certs import make_foreign_server_cert
from firmware.lab.kamailio import Kamailio
from firmware.lab.phone import PhoneAgent, connect, phone_config
from firmware.lab.prosody import Prosody
from firmware.lab.provisioning import LabProvisioning, fake_device_root
from firmware.lab.xmpp_peer import XmppPeer
from tests.e2e.conftest import ACCOUNTS, PhoneFactory
from tests.resilience.conftest import packets_grow, until

pytestmark = pytest.mark.integration


def test_tls_verification_is_the_default_everywhere() -> None:
    sip = Sip(domain="example.org", registrar="sip.example.org", user="1001")
    assert sip.transport == "tls" and sip.tls_verify_server
    xmpp = Xmpp(jid="alice@example.org")
    assert xmpp.tls == "starttls" and not xmpp.allow_plaintext
    assert "verify" not in " ".join(Provisioning.model_fields)  # no switch to turn it off exists
    with pytest.raises(ValueError, match="allow_plaintext"):
        Xmpp(jid="alice@example.org", tls="plaintext")


@pytest.mark.parametrize("field", ["domain", "user", "registrar"])
def test_control_characters_in_sip_identifiers_are_refused(field: str) -> None:
    for bad in ("lab\x00test", "lab\x07test", "lab\x7ftest"):
        with pytest.raises(ValueError):
            Sip.model_validate(
                {"domain": "lab.test", "registrar": "sip.lab.test", "user": "1001", field: bad}
            )


@pytest.mark.parametrize("trust", ["lab-ca", "system-store"])
def test_sip_registrar_with_a_foreign_certificate_is_refused(
    registrar: Kamailio, tmp_path: Path, trust: str
) -> None:
    """The phone trusts the lab CA (or the system store); the registrar's cert is from a rogue CA."""
    rogue = Kamailio(tmp_path / "rogue-kam", tls_files=make_foreign_server_cert(tmp_path / "rogue"))
    rogue.add_account("1009", ACCOUNTS["1009"])
    with rogue:
        config = phone_config(rogue, "1009", ACCOUNTS["1009"], "tls")
        config["sip"]["tls_ca_file"] = str(registrar.ca_cert) if trust == "lab-ca" else ""
        assert "tls_verify_server" not in config["sip"]  # the default
        with PhoneAgent(tmp_path / "phone", "1009", config) as phone:
            state = phone.wait(timeout=8, registration="unreachable")
            time.sleep(1.0)  # a retry later: still refused
            assert phone.state()["registration"] != "registered" and rogue.contacts("1009") == [], state
    assert "rogue" in rogue.tls_files.server_cert.parent.name


@pytest.mark.parametrize("trust", ["lab-ca", "system-store"])
def test_xmpp_server_with_a_foreign_certificate_is_refused(
    registrar: Kamailio, tmp_path: Path, trust: str
) -> None:
    with Prosody(tmp_path / "xmpp", tls_files=make_foreign_server_cert(tmp_path / "rogue")) as server:
        server.add_users({"alice": "pw-alice-sec"})
        doc = phone_config(registrar, "1001", ACCOUNTS["1001"])
        doc["xmpp"] = {
            "jid": server.jid("alice"),
            "password": "pw-alice-sec",
            "host": server.host,
            "port": server.c2s_port,
            "login_timeout_s": 5.0,
            "ca_file": str(registrar.ca_cert) if trust == "lab-ca" else "",
        }
        with PhoneAgent(tmp_path / "phone", "1001", doc) as phone:
            state = phone.wait(timeout=10, **{"chat.state": "tls_failed"})
            assert state["registration"] == "registered"  # SIP is unaffected
            assert "certificate" in state["chat"]["reason"].lower(), state["chat"]
        assert "Authenticated as" not in server.log_path.read_text()


def test_provisioning_server_with_a_foreign_certificate_is_refused(
    registrar: Kamailio, tmp_path: Path
) -> None:
    mac = "b827eb00e2e9"
    root = fake_device_root(tmp_path / "device", mac)
    with LabProvisioning(tmp_path / "prov", make_foreign_server_cert(tmp_path / "rogue")) as prov:
        prov.add_device(
            mac,
            "dev",
            "dev-pw-sec",
            {
                "sip": {
                    "domain": registrar.domain,
                    "registrar": registrar.host,
                    "port": registrar.udp_port,
                    "transport": "udp",
                    "user": "1001",
                    "password": ACCOUNTS["1001"],
                }
            },
        )
        bootstrap = prov.bootstrap("dev", "dev-pw-sec", ca_file=str(registrar.ca_cert))  # trusts the lab CA
        config = {"provisioning": bootstrap, "hardware": {"backend": "sim"}, "phone": {}}
        with PhoneAgent(tmp_path / "phone", "p", config, extra_args=["--device-root", str(root)]) as phone:
            until(
                lambda: phone.request("provisioning")["state"] == "failed", timeout=10, what="fetch refused"
            )
            status = phone.request("provisioning")
            assert "certificate" in status["error"].lower() and status["version"] == 0, status
            assert phone.state()["registration"] != "registered"
            assert not (tmp_path / "phone" / "state" / "provisioning" / "profile.json").exists()
        log = (tmp_path / "phone" / "p.log").read_text()
        assert "dev-pw-sec" not in log


# --------------------------------------------------------------------------- secrets


def test_secrets_only_in_0600_files_and_never_in_logs(
    registrar: Kamailio, make_phone: PhoneFactory, tmp_path: Path
) -> None:
    """Provisioned phone (SIP + XMPP from the profile), a call and a chat; then every log and state
    file is searched for each password, plain and base64."""
    mac = "b827eb00e2ea"
    sip_pw, xmpp_pw, prov_pw = ACCOUNTS["1001"], "xmpp-S3cret-pw-7", "prov-S3cret-pw-7"
    root = fake_device_root(tmp_path / "device", mac)
    with (
        Prosody(tmp_path / "xmpp") as server,
        LabProvisioning(tmp_path / "prov", registrar.tls_files) as prov,
    ):
        server.add_users({"alice": xmpp_pw, "bob": "pw-bob"})
        server.make_contacts("alice", {"bob": "Bob"})
        profile = {
            "sip": {
                "domain": registrar.domain,
                "registrar": registrar.host,
                "port": registrar.tls_port,
                "transport": "tls",
                "user": "1001",
                "password": sip_pw,
                "tls_ca_file": str(registrar.ca_cert),
            },
            "xmpp": {
                "jid": server.jid("alice"),
                "password": xmpp_pw,
                "host": server.host,
                "port": server.c2s_port,
                "ca_file": str(server.ca_cert),
            },
        }
        prov.add_device(mac, "dev", prov_pw, profile)
        config = {"provisioning": prov.bootstrap("dev", prov_pw), "hardware": {"backend": "sim"}, "phone": {}}
        workdir = tmp_path / "phone"
        with PhoneAgent(workdir, "a", config, extra_args=["--device-root", str(root)]) as a:
            a.wait(registration="registered", timeout=10)
            a.wait(timeout=10, **{"chat.state": "online"})
            b = make_phone("1002")
            connect(a, b, "1002")
            packets_grow(a, 0.2)
            a.hang_up()
            b.wait(phase="ended")
            b.hang_up()

            async def chat() -> None:
                async with XmppPeer.for_user(server, "bob") as bob:
                    bob.send_chat(server.jid("alice"), "secret test")
                    await asyncio.sleep(0)

            asyncio.run(chat())
            a.wait(timeout=5, **{"chat.last": {server.jid("bob"): "secret test"}})
        logs = [registrar.log_path, server.log_path, *tmp_path.rglob("*.log"), *tmp_path.rglob("*.stderr")]
        secrets = {"sip": sip_pw, "xmpp": xmpp_pw, "provisioning": prov_pw}
        leaks = [
            f"{name} password in {path}"
            for path in logs
            for name, pw in secrets.items()
            for form in (pw, base64.b64encode(pw.encode()).decode())
            if form.encode() in path.read_bytes()
        ]
        assert not leaks, leaks
        checked = []
        for path in [workdir / "a.toml", *(workdir / "state").rglob("*")]:
            if not path.is_file():
                continue
            data = path.read_bytes()
            holds = [n for n, pw in secrets.items() if pw.encode() in data or _in_b64_body(data, pw)]
            if holds:
                mode = stat.S_IMODE(path.stat().st_mode)
                assert mode == 0o600, f"{path} holds the {holds} password(s) with mode {oct(mode)}"
                checked.append(f"{path.relative_to(workdir)} ({', '.join(holds)}; 0600)")
        assert any("profile.json" in c for c in checked), checked
        print("secrets: no password in " + f"{len(logs)} logs; held only by " + "; ".join(checked))


def _in_b64_body(data: bytes, secret: str) -> bool:
    """The stored profile keeps the served body base64-encoded: decode it before searching."""
    import json

    try:
        body = base64.b64decode(json.loads(data)["body"])
    except (ValueError, KeyError, TypeError):
        return False
    return secret.encode() in body
