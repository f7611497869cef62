"""The lab itself: a real Kamailio and real baresip peers on loopback (no mocks)."""

from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path

import pytest

from firmware.errors import LabError
from firmware.lab import Lab, TlsFiles, Transport, make_foreign_server_cert
from firmware.lab.kamailio import Kamailio

pytestmark = pytest.mark.integration


def tls_handshake(port: int, cafile: Path) -> None:
    ctx = ssl.create_default_context(cafile=str(cafile))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=2) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1"),
    ):
        pass


def test_kamailio_starts_on_free_ports_and_answers_options(lab: Lab) -> None:
    kam = lab.kamailio
    assert kam.running and kam.pid is not None
    assert kam.udp_port == kam.tcp_port != kam.tls_port
    assert 5060 not in (kam.udp_port, kam.tls_port)
    assert kam.start_seconds is not None and kam.start_seconds < 5.0
    assert kam.ping()
    assert kam.registrar_uri("tls") == f"sip:127.0.0.1:{kam.tls_port};transport=tls"
    tls_handshake(kam.tls_port, kam.ca_cert)
    print(f"kamailio answered OPTIONS {kam.start_seconds:.3f} s after exec")

    kam.stop()
    assert not kam.running
    assert not kam.ping(timeout=0.2)
    assert kam.log_path.stat().st_size > 0


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_baresip_registers(lab: Lab, transport: Transport) -> None:
    peer = lab.baresip("alice", transport=transport)
    t0 = time.monotonic()
    assert peer.wait_registered().param == "200 OK"
    registered = time.monotonic() - t0
    print(f"{transport}: baresip up in {peer.start_seconds:.3f} s, registered {registered:.3f} s later")
    contacts = lab.kamailio.wait_registered("alice")
    assert len(contacts) == 1
    assert (f"transport={transport}" in contacts[0]) == (transport != "udp")


def test_wrong_password_is_refused(lab: Lab) -> None:
    lab.add_account("alice", "right-password")
    peer = lab.baresip("alice", password="wrong-password")
    ev = peer.wait_registration()
    assert ev.type == "REGISTER_FAIL"
    assert ev.param.split()[0] in ("401", "403"), ev.param
    with pytest.raises(LabError, match="registration failed"):
        lab.baresip("alice", password="wrong-again").wait_registered()
    assert lab.kamailio.contacts("alice") == []


def test_account_added_while_running_takes_effect(lab: Lab) -> None:
    lab.add_account("dave", "first")
    first = lab.baresip("dave")
    first.wait_registered()
    lab.add_account("dave", "second")  # immediately after: same second as the first write
    lab.add_account("erin", "new-user")
    assert lab.baresip("erin").wait_registered().type == "REGISTER_OK"
    assert lab.baresip("dave", password="first").wait_registration().type == "REGISTER_FAIL"
    assert lab.baresip("dave").wait_registration().type == "REGISTER_OK"


@pytest.mark.parametrize(("caller_tp", "callee_tp"), [("udp", "udp"), ("tls", "tcp")])
def test_two_baresips_call_each_other(lab: Lab, caller_tp: Transport, callee_tp: Transport) -> None:
    alice = lab.baresip("alice", transport=caller_tp)
    bob = lab.baresip("bob", transport=callee_tp, answer="auto")
    alice.wait_registered()
    bob.wait_registered()

    t0 = time.monotonic()
    alice.dial("bob")
    assert alice.wait_for_event("CALL_ESTABLISHED").peer == "sip:bob@lab.test"
    setup = time.monotonic() - t0
    assert bob.wait_for_event("CALL_ESTABLISHED").peer == "sip:alice@lab.test"
    alice.wait_rtp()  # RTP really flows both ways
    bob.wait_rtp()
    assert alice.call_state == bob.call_state == "CALL_ESTABLISHED"
    print(f"{caller_tp}->{callee_tp}: dial -> established {setup * 1000:.0f} ms")

    alice.hangup()
    assert alice.wait_for_event("CALL_CLOSED").param == "Connection reset by user"
    assert bob.wait_for_event("CALL_CLOSED").param == "Connection reset by peer"  # BYE arrived
    assert alice.call_summary()["rx_packets"] > 0


def test_manual_answer(lab: Lab) -> None:
    alice = lab.baresip("alice")
    bob = lab.baresip("bob", answer="manual")
    alice.wait_registered()
    bob.wait_registered()
    alice.dial("bob")
    incoming = bob.wait_for_event("CALL_INCOMING")
    assert incoming.peer == "sip:alice@lab.test"
    alice.wait_for_event("CALL_RINGING")
    bob.answer()
    alice.wait_for_event("CALL_ESTABLISHED")
    bob.hangup()
    assert alice.wait_for_event("CALL_CLOSED").param == "Connection reset by peer"


def test_unknown_user_404_unregistered_user_480(lab: Lab) -> None:
    lab.add_account("carol")  # exists, never registers
    alice = lab.baresip("alice")
    alice.wait_registered()
    alice.dial("nobody")
    assert alice.wait_for_event("CALL_CLOSED").param == "404 Not Found"
    alice.dial("carol")
    assert alice.wait_for_event("CALL_CLOSED").param.startswith("480")


def test_killed_peer_leaves_a_contact_until_cleared(lab: Lab) -> None:
    bob = lab.baresip("bob")
    bob.wait_registered()
    bob.kill()  # no un-REGISTER
    assert len(lab.kamailio.contacts("bob")) == 1
    lab.kamailio.clear_registrations()
    assert lab.kamailio.registrations() == {}


def test_kill_and_restart_keep_ports(lab: Lab) -> None:
    kam = lab.kamailio
    lab.baresip("alice").wait_registered()
    ports, pid = (kam.udp_port, kam.tcp_port, kam.tls_port), kam.pid

    kam.kill()
    assert not kam.running
    assert not kam.ping(timeout=0.2)
    kam.restart()
    assert (kam.udp_port, kam.tcp_port, kam.tls_port) == ports
    assert kam.pid != pid
    assert kam.ping()
    assert kam.contacts("alice") == []  # usrloc is memory only: the crash lost it

    for transport in ("udp", "tcp", "tls"):
        lab.baresip("alice", transport=transport).wait_registered()
    assert len(kam.wait_registered("alice", count=3)) == 3


def test_certificate_from_another_ca_is_refused(tmp_path: Path, lab_pki: TlsFiles) -> None:
    rogue = make_foreign_server_cert(tmp_path / "rogue", extra_dns_names=("lab.test",))
    assert rogue.ca_cert != lab_pki.ca_cert
    with Kamailio(tmp_path / "kam", tls_files=rogue) as kam:
        with pytest.raises(ssl.SSLCertVerificationError):
            tls_handshake(kam.tls_port, lab_pki.ca_cert)
        tls_handshake(kam.tls_port, rogue.ca_cert)
