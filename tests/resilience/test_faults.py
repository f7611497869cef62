"""Faults (issue 7): servers killed and restarted while idle and during a call, kill -9 of the
phone at random moments. Real Kamailio, Prosody, provisioning service and pjsua2 phone agents.

Environment: DESKPHONE_KILL_ROUNDS (kills per moment, default 2), DESKPHONE_SEED (random seed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from firmware.lab.kamailio import Kamailio
from firmware.lab.phone import PhoneAgent, connect
from firmware.lab.prosody import Prosody
from firmware.lab.provisioning import LabProvisioning, fake_device_root
from firmware.lab.xmpp_peer import XmppPeer
from firmware.provisioning.store import StoredProfile
from tests.e2e.conftest import ACCOUNTS, PhoneFactory
from tests.resilience.conftest import chat_config, check_state_dir, packets_grow, still_calls, until

pytestmark = pytest.mark.integration

ROUNDS = int(os.environ.get("DESKPHONE_KILL_ROUNDS", "2"))
SEED = int(os.environ.get("DESKPHONE_SEED", "4475"))


def test_registrar_killed_and_restarted_during_a_call(make_phone: PhoneFactory, registrar: Kamailio) -> None:
    """The call's RTP keeps flowing while Kamailio is dead and after it returns (media is
    peer-to-peer); both phones are registered again within 5 s of its return."""
    a, b = make_phone("1001"), make_phone("1002")
    connect(a, b, "1002")
    packets_grow(a)
    registrar.kill()
    down = time.monotonic()
    until(lambda: a.state()["registration"] != "registered", timeout=10, what="A notices the dead registrar")
    noticed = time.monotonic() - down
    first, second = packets_grow(a, 1.0)  # registrar dead: media still both ways
    packets_grow(b, 0.3)
    assert a.state()["phase"] == "in_call" and b.state()["phase"] == "in_call"
    registrar.start()
    back = time.monotonic()
    until(
        lambda: bool(registrar.contacts("1001")) and bool(registrar.contacts("1002")),
        timeout=5,
        what="both phones in the restarted registrar's usrloc",
    )
    a.wait(registration="registered", timeout=max(0.1, 5 - (time.monotonic() - back)))
    b.wait(registration="registered", timeout=max(0.1, 5 - (time.monotonic() - back)))
    recovered = time.monotonic() - back
    assert recovered < 5.0
    packets_grow(a)
    packets_grow(b)
    assert a.state()["phase"] == "in_call" and b.state()["phase"] == "in_call"
    a.hang_up()  # the BYE crosses the restarted proxy (record-route, loose routing)
    b.wait(phase="ended")
    b.hang_up()
    a.wait(phase="idle")
    print(
        f"registrar killed during a call: noticed after {noticed:.2f} s; RTP rx {first['rx_packets']}->"
        f"{second['rx_packets']} while it was down; both registered again {recovered:.2f} s after its return"
    )
    still_calls(a, b, "1002")


def test_prosody_killed_and_restarted_while_idle(
    registrar: Kamailio, make_phone: PhoneFactory, tmp_path: Path
) -> None:
    """A phone with SIP + XMPP: chat back online within 5 s of Prosody's return; SIP untouched."""
    with Prosody(tmp_path / "xmpp") as server:
        server.add_users({"alice": "pw-alice", "bob": "pw-bob"})
        server.make_contacts("alice", {"bob": "Bob"})
        doc = chat_config(registrar, server, "1001", "alice")
        with PhoneAgent(tmp_path / "phone", "1001", doc) as a:
            a.wait(registration="registered", timeout=8)
            a.wait(timeout=10, **{"chat.state": "online"})
            b = make_phone("1002")
            results = []
            for how in ("kill", "stop"):
                server.kill() if how == "kill" else server.stop()
                until(lambda: a.state()["chat"]["state"] != "online", timeout=15, what="chat offline")
                assert a.state()["registration"] == "registered"
                server.start()
                back = time.monotonic()
                a.wait(timeout=5, **{"chat.state": "online"})
                results.append(time.monotonic() - back)

            async def chat() -> None:
                async with XmppPeer.for_user(server, "bob") as bob:
                    bob.send_chat(server.jid("alice"), "after the restart")
                    await asyncio.sleep(0)

            asyncio.run(chat())
            a.wait(timeout=5, **{"chat.last": {server.jid("bob"): "after the restart"}})
            still_calls(a, b, "1002")
    print(
        "Prosody "
        + ", ".join(f"{h}: online again {t:.2f} s" for h, t in zip(("kill -9", "stop"), results, strict=True))
    )


# --------------------------------------------------------------------------- kill -9 of the phone


def test_kill_9_of_an_idle_phone_and_during_chat_history_writes(registrar: Kamailio, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    with Prosody(tmp_path / "xmpp") as server:
        server.add_users({"alice": "pw-alice", "bob": "pw-bob"})
        server.make_contacts("alice", {"bob": "Bob"})
        server.set_vcard(
            "bob",
            vcard4=(
                "<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Bob</text></fn>"
                "<tel><uri>sip:1002@lab.test</uri></tel></vcard>"
            ),
        )
        doc = chat_config(registrar, server, "1001", "alice")
        workdir = tmp_path / "phone"
        sent = 0
        log: list[str] = []
        for moment in ["idle"] * ROUNDS + ["chat"] * ROUNDS:
            phone = PhoneAgent(workdir, "1001", doc).start()
            try:
                phone.wait(registration="registered", timeout=8)
                online = phone.wait(timeout=10, **{"chat.state": "online"})
                kept = check_state_dir(workdir / "state")
                assert online["chat"]["conversations"] == min(kept["chats"], 1), (online["chat"], kept)
                if moment == "idle":
                    delay = rng.uniform(0.0, 1.0)
                    time.sleep(delay)
                else:
                    delay = rng.uniform(1.5, 3.5)  # history is written 2 s after a message
                    sent += _flood_then_kill(server, phone, delay)
                phone.kill()
                log.append(f"{moment}@{delay:.2f}s")
            finally:
                phone.kill()
            registrar.clear_registrations("1001")
        phone = PhoneAgent(workdir, "1001", doc).start()
        try:
            phone.wait(registration="registered", timeout=8)
            state = phone.wait(timeout=10, **{"chat.state": "online"})
            kept = check_state_dir(workdir / "state")
            assert kept["chats"] == 1 and state["chat"]["conversations"] == 1
            assert state["chat"]["last"][server.jid("bob")].startswith("flood ")
        finally:
            phone.stop()
    print(f"kill -9 at {', '.join(log)} ({sent} messages): restarted, registered, state files parse")


def _flood_then_kill(server: Prosody, phone: PhoneAgent, delay: float) -> int:
    async def flood() -> int:
        n = 0
        async with XmppPeer.for_user(server, "bob") as bob:
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline:
                n += 1
                bob.send_chat(server.jid("alice"), f"flood {n} " + "x" * (n % 300))
                await asyncio.sleep(0.01)
            phone.kill()
        return n

    return asyncio.run(flood())


MAC = "b827eb00e2e7"


def _profile(kam: Kamailio, user: str) -> dict[str, Any]:
    return {
        "sip": {
            "domain": kam.domain,
            "registrar": kam.host,
            "port": kam.udp_port,
            "transport": "udp",
            "user": user,
            "password": ACCOUNTS[user],
        }
    }


def test_kill_9_during_provisioning_keeps_the_last_good_profile(registrar: Kamailio, tmp_path: Path) -> None:
    rng = random.Random(SEED + 1)
    root = fake_device_root(tmp_path / "device", MAC)
    with LabProvisioning(tmp_path / "prov", registrar.tls_files) as prov:
        prov.add_device(MAC, "dev", "dev-pw", _profile(registrar, "1001"))
        config = {
            "provisioning": prov.bootstrap("dev", "dev-pw"),
            "hardware": {"backend": "sim"},
            "phone": {"interdigit_s": 2.0},
        }
        workdir = tmp_path / "phone"
        users = ["1003", "1001"]
        for n in range(2 * ROUNDS):
            phone = PhoneAgent(workdir, "p", config, extra_args=["--device-root", str(root)]).start()
            try:
                if n:  # each start before the first comes from the stored profile or a new fetch
                    kept = check_state_dir(workdir / "state")
                    assert kept["profile"] == 1
                phone.wait(registration="registered", timeout=10)
                prov.write_profile(MAC, _profile(registrar, users[n % 2]))  # the next poll re-provisions
                time.sleep(rng.uniform(0.5, 2.5))  # somewhere in fetch, store, restart of the engine
            finally:
                phone.kill()
            registrar.clear_registrations()
        phone = PhoneAgent(workdir, "p", config, extra_args=["--device-root", str(root)]).start()
        try:
            phone.wait(registration="registered", timeout=10)
            until(
                lambda: phone.request("provisioning")["sip_user"] == users[(2 * ROUNDS - 1) % 2],
                timeout=10,
                what="the last profile applied",
            )
            assert check_state_dir(workdir / "state")["profile"] == 1
        finally:
            phone.stop()
    print(f"kill -9 during provisioning x{2 * ROUNDS}: the stored profile always parses; re-registered")


# --------------------------------------------------------------------------- provisioning server faults


def _garbage_answers(forged: bytes) -> list[bytes]:
    """What a broken or hostile server at the provisioning URL may say (one answer per connection)."""
    big = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 3000000\r\n\r\n"
    return [
        b"",  # closes at once
        bytes(range(256)) * 40,  # not HTTP
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{not json}",
        b"HTTP/1.1 200 OK\r\nX-Profile-Signature: ed25519=AAAA\r\nContent-Length: %d\r\n\r\n%s"
        % (len(forged), forged),  # a forged profile (SIP user 1003): the signature must not verify
        big + b"[" * 3_000_000,  # larger than max_bytes, nested
        b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/evil.json\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops!",
        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnull",
    ]


class GarbageHttps:
    """A TLS server (the lab's certificate) on `port` that answers each request with the next garbage."""

    def __init__(self, port: int, cert: Path, key: Path, answers: list[bytes]) -> None:
        self.answers, self.served = list(answers), 0
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.sock = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self.sock.settimeout(0.2)
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop_flag.is_set():
            try:
                raw, _ = self.sock.accept()
            except TimeoutError:
                continue
            with contextlib.suppress(OSError), raw:
                raw.settimeout(5)
                with self.ctx.wrap_socket(raw, server_side=True) as tls:
                    tls.recv(65536)
                    answer = self.answers[self.served % len(self.answers)]
                    self.served += 1
                    if answer:
                        tls.sendall(answer)

    def close(self) -> None:
        self.stop_flag.set()
        self.thread.join(5)
        self.sock.close()


def test_provisioning_server_down_or_answering_garbage(
    registrar: Kamailio, make_phone: PhoneFactory, tmp_path: Path
) -> None:
    """Fuzzed documents from the real (signing) server, then garbage from a hostile HTTPS server on
    the same URL, then nothing at all: the phone keeps its last good profile, stays registered and
    places a call after each."""
    root = fake_device_root(tmp_path / "device", MAC)
    b = make_phone("1002")
    rng = random.Random(SEED + 2)
    prov = LabProvisioning(tmp_path / "prov", registrar.tls_files).start()
    try:
        prov.add_device(MAC, "dev", "dev-pw", _profile(registrar, "1001"))
        config = {
            "provisioning": prov.bootstrap("dev", "dev-pw", poll_interval_s=3600.0),
            "hardware": {"backend": "sim"},
            "phone": {"interdigit_s": 2.0},
        }
        port = int(prov.url_template.split(":")[2].split("/")[0])
        with PhoneAgent(tmp_path / "phone", "p", config, extra_args=["--device-root", str(root)]) as a:
            a.wait(registration="registered", timeout=10)
            assert a.request("provisioning")["version"] == 1
            documents: list[Any] = [
                {"sip": {"user": 5}},
                {"sip": {**_profile(registrar, "1003")["sip"], "transport": "carrier-pigeon"}},
                {"sip": {**_profile(registrar, "1003")["sip"], "port": -1}},
                {"sip": "x" * 100_000},
                {
                    **_profile(registrar, "1001"),
                    "unknown": {"a": [1, {"b": None}]},
                    "phone": {"state_dir": "/etc"},
                },
                {"sip": {**_profile(registrar, "1003")["sip"], "registrar": "evil host\r\nInjected: 1"}},
                {"sip": {**_profile(registrar, "1003")["sip"], "codecs": []}},
                {"schema": 99, "sip": [None] * 1000},
            ]
            raw_files = [b"", b"{", b"[1, 2, 3]", rng.randbytes(4096), b'{"sip": ' * 5000]
            outcomes: list[str] = []
            good = 1
            for doc in documents + raw_files:
                path = prov.profiles / f"{MAC}.json"
                path.write_bytes(doc if isinstance(doc, bytes) else json.dumps(doc).encode())
                status = a.request("check_now", timeout=15)
                outcomes.append(status["state"])
                # refused with an error, or (only unknown or phone-only keys) applied with warnings
                assert status["sip_user"] == "1001" and (status["error"] or status["warnings"]), status
                good = good if status["error"] else status["version"]
            state = a.state()
            assert state["registration"] == "registered", state
            still_calls(a, b, "1002")
            forged = json.dumps(
                {**_profile(registrar, "1003"), "schema": 1, "version": 99, "device": MAC}
            ).encode()
            prov.stop()
            garbage = GarbageHttps(
                port,
                registrar.tls_files.server_cert,
                registrar.tls_files.server_key,
                _garbage_answers(forged),
            )
            try:
                for _ in range(len(garbage.answers)):
                    status = a.request("check_now", timeout=30)
                    assert status["sip_user"] == "1001" and status["version"] == good and status["error"], (
                        status
                    )
                    outcomes.append(status["error"][:40])
            finally:
                garbage.close()
            status = a.request("check_now", timeout=15)  # nobody listens any more
            assert "cannot reach" in status["error"] and status["sip_user"] == "1001", status
            assert a.state()["registration"] == "registered"
            still_calls(a, b, "1002")
            stored = tmp_path / "phone" / "state" / "provisioning" / "profile.json"
            assert StoredProfile.from_json(stored.read_bytes()).version == good
    finally:
        prov.stop()
    print(
        f"provisioning: {len(documents) + len(raw_files)} fuzzed documents, {len(garbage.answers)} garbage "
        f"answers, server down: last good profile kept, registered, calls OK; errors: {outcomes}"
    )
