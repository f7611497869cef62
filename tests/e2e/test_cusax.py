"""RFC 7081 end to end: phones (agent processes: real pjsua2, sim board) on Kamailio with XMPP
accounts on Prosody, a third XMPP account watching, baresip and sipp as other SIP parties.

    alice  phone A, SIP 1001     bob    phone B, SIP 1002     carol  an XMPP client (observer)
    erin   a contact whose vCard has only a PSTN number       phone C, SIP 1003 (no XMPP)
    baresip 2003 (no XMPP): a caller nobody has in a vCard

The phones and servers are shared by the module's tests (module-scoped fixtures: the whole file
runs in well under two minutes); each test leaves the phones idle.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware.lab.baresip import Baresip
from firmware.lab.kamailio import Kamailio
from firmware.lab.phone import PhoneAgent, phone_config
from firmware.lab.ports import free_udp_tcp_port
from firmware.lab.prosody import Prosody
from firmware.lab.xmpp_peer import XmppPeer
from tests.e2e.conftest import ACCOUNTS

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
DOMAIN = "lab.test"
ROOM = f"conf@conference.{DOMAIN}"  # its disco#info names sip:1003@lab.test (mod_muc_av_uri)
ROOM2 = f"huddle@conference.{DOMAIN}"  # announced by a caller's Call-Info purpose=grouptextchat
BARESIP, BARESIP_PW = "2003", "baresip-cusax-pw"
PASSWORDS = {"alice": "pw-alice", "bob": "pw-bob", "carol": "pw-carol", "erin": "pw-erin", "dave": "pw-dave"}


def vcard(name: str, *tels: str) -> str:
    entries = "".join(f"<tel><uri>{tel}</uri></tel>" for tel in tels)
    return f"<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>{name}</text></fn>{entries}</vcard>"


def until(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.05)
    return result


class Observer:
    """carol's XMPP client on its own loop in a thread: records what the phones' accounts show."""

    def __init__(self, server: Prosody) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.peer = XmppPeer.for_user(server, "carol")
        self.presences: list[tuple[str, str, str]] = []  # (bare JID, show, status)
        self._lock = threading.Lock()

    def start(self) -> Observer:
        self.thread.start()
        self._run(self.peer.start())
        assert self.peer.client is not None
        self.peer.client.add_event_handler("presence", self._on_presence)
        return self

    def _on_presence(self, pres: Any) -> None:
        if pres["type"] in ("subscribe", "subscribed", "error"):
            return
        show = "offline" if pres["type"] == "unavailable" else str(pres["show"] or "available")
        with self._lock:
            self.presences.append((str(pres["from"].bare), show, str(pres["status"])))

    def last(self, jid: str) -> tuple[str, str] | None:
        with self._lock:
            found = [(show, status) for who, show, status in self.presences if who == jid]
        return found[-1] if found else None

    def wait(self, jid: str, show: str, status: str = "", timeout: float = 10.0) -> None:
        until(lambda: self.last(jid) == (show, status), timeout, f"{jid} shown {show} {status!r}")

    def join(self, room: str, nick: str) -> None:
        self._run(self.peer.join_room(room, nick))

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(15)

    def stop(self) -> None:
        self._run(self.peer.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prosody]:
    prosody = Prosody(tmp_path_factory.mktemp("cusax-xmpp"), DOMAIN, muc_av_uris={ROOM: f"sip:1003@{DOMAIN}"})
    prosody.add_users(PASSWORDS)
    both: tuple[str, str, tuple[str, ...]] = ("", "both", ())

    def named(user: str, name: str) -> tuple[str, tuple[str, str, tuple[str, ...]]]:
        return prosody.jid(user), (name, "both", ())

    prosody.set_roster("alice", dict([named("bob", "Bob"), named("carol", "Carol"), named("erin", "Erin")]))
    prosody.set_roster("bob", dict([named("alice", "Alice"), (prosody.jid("carol"), both)]))
    prosody.set_roster("carol", {prosody.jid("alice"): both, prosody.jid("bob"): both})
    prosody.set_roster("erin", {prosody.jid("alice"): both})
    with prosody:
        prosody.set_vcard("alice", vcard4=vcard("Alice", f"sip:1001@{DOMAIN}"))
        prosody.set_vcard("bob", vcard4=vcard("Bob", f"sip:1002@{DOMAIN}"))
        prosody.set_vcard("erin", vcard4=vcard("Erin", "tel:+1-555-0100"))
        yield prosody


@pytest.fixture(scope="module")
def observer(server: Prosody) -> Iterator[Observer]:
    carol = Observer(server).start()
    yield carol
    carol.stop()


def xmpp_account(server: Prosody, user: str, **extra: Any) -> dict[str, Any]:
    return {
        "jid": server.jid(user), "password": PASSWORDS[user], "host": server.host,
        "port": server.c2s_port, "ca_file": str(server.ca_cert), **extra,
    }  # fmt: skip


def start_phone(
    workdir: Path, kamailio: Kamailio, user: str, *, xmpp: dict[str, Any] | None = None,
    cusax: dict[str, Any] | None = None, transport: str = "udp", **sip: Any,
) -> PhoneAgent:  # fmt: skip
    doc = phone_config(kamailio, user, ACCOUNTS[user], transport, **sip)
    if xmpp is not None:
        doc["xmpp"] = xmpp
    doc["cusax"] = {"security_parity": "off", **(cusax or {})}
    return PhoneAgent(workdir / f"phone-{user}", user, doc).start()


@pytest.fixture(scope="module")
def phones(
    kamailio: Kamailio, server: Prosody, observer: Observer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, PhoneAgent]]:
    """A (alice, 1001, in the room conf), B (bob, 1002), C (1003, SIP only); all registered and online."""
    kamailio.clear_registrations()
    work = tmp_path_factory.mktemp("cusax-phones")
    started = {
        "A": start_phone(work, kamailio, "1001", xmpp=xmpp_account(server, "alice", rooms=[ROOM])),
        "B": start_phone(work, kamailio, "1002", xmpp=xmpp_account(server, "bob")),
        "C": start_phone(work, kamailio, "1003"),
    }
    try:
        for phone in started.values():
            phone.wait(registration="registered", timeout=10)
        started["A"].wait(**{"chat.state": "online", "cusax.tel_index": 2}, timeout=15)  # bob, erin
        started["A"].wait(**{"cusax.reach_index": 1}, timeout=10)  # bob's phone: <reach> sip:1002 (C12)
        started["B"].wait(**{"chat.state": "online", "cusax.tel_index": 1}, timeout=15)
        yield started
    finally:
        for phone in started.values():
            phone.stop()
        kamailio.clear_registrations()


def settle(*phones: PhoneAgent) -> None:
    """Every phone back to idle on-hook (a test's leftovers must not leak into the next)."""
    for phone in phones:
        state = phone.state()
        if state["off_hook"]:
            phone.hang_up()
        if phone.state()["phase"] == "ringing":
            phone.press("back")
        phone.wait(phase="idle", timeout=8)


# ---------------------------------------------------------------------------------------------


def test_lifting_the_handset_calls_the_roster_contact_who_sees_a_verified_caller(
    phones: dict[str, PhoneAgent], observer: Observer
) -> None:
    a, b = phones["A"], phones["B"]
    observer.wait("alice@lab.test", "available")
    a.press("contacts")
    a.wait(**{"cusax.selected": "bob@lab.test"})  # online contacts first: Bob is under the cursor
    a.lift()  # C1/C2: the roster entry is called over SIP, at once (C6: one address in our domain)
    b.wait(phase="ringing", timeout=8)
    ringing = b.state()["cusax"]["party"]
    assert ringing == {"identity": "verified", "jid": "alice@lab.test", "source": "vcard"}
    assert "Alice \u2713" in b.screen()
    invite = b.request("last_invite")  # S6, as the callee received it (prm.rdata.wholeMsg)
    assert "Call-Info: <xmpp:alice@lab.test>;purpose=impp" in invite
    b.lift()
    a.wait(phase="in_call", timeout=8)
    observer.wait("alice@lab.test", "away", "On the phone")  # the hook switch as presence
    observer.wait("bob@lab.test", "away", "On the phone")
    a.hang_up()
    observer.wait("alice@lab.test", "available")  # restored after the call
    b.wait(phase="ended", timeout=8)
    b.hang_up()
    b.wait(phase="idle", **{"cusax.offer": "alice@lab.test"})
    assert "Select: chat Alice" in b.screen()  # C10: after the call, chat with the caller
    b.press("select")
    b.wait(**{"chat.view": "conversation", "chat.peer": "alice@lab.test"})
    b.press("back", "back")
    observer.wait("bob@lab.test", "available")
    settle(a, b)


def test_a_caller_claiming_a_contact_is_unverified_and_a_stranger_is_unknown(
    phones: dict[str, PhoneAgent], kamailio: Kamailio, tmp_path: Path
) -> None:
    b, c = phones["B"], phones["C"]
    # 1003 claims to be alice, whose vCard lists sip:1001 only: a cue the vCard does not confirm.
    c.request("extra_headers", headers={"Call-Info": "<xmpp:alice@lab.test>;purpose=impp"})
    try:
        c.dial("1002")
        b.wait(phase="ringing", timeout=8)
        assert b.state()["cusax"]["party"] == {
            "identity": "claimed_unverified", "jid": "alice@lab.test", "source": "call-info",
        }  # fmt: skip
        screen = b.screen()
        assert "claims alice@lab.test" in screen and "(unverified)" in screen
        assert not any("\u2713" in line for line in screen)
        b.press("back")  # decline
        c.wait(phase="ended", timeout=8)
        c.press("back")
        # Hostile Call-Info: ignored, the caller stays unknown.
        c.request("extra_headers", headers={"Call-Info": '<xmpp:"><script>@x>;purpose=impp, garbage;;;'})
        c.dial("1002")
        b.wait(phase="ringing", timeout=8)
        assert b.state()["cusax"]["party"]["identity"] == "unknown"
        b.press("back")
    finally:
        c.request("extra_headers", headers={})
    settle(b, c)
    # baresip: a real other SIP stack, in nobody's vCard.
    kamailio.add_account(BARESIP, BARESIP_PW)
    with Baresip(tmp_path / "baresip", BARESIP, BARESIP_PW, kamailio, answer="manual") as peer:
        peer.wait_registered()
        peer.dial(f"sip:1002@{DOMAIN}")
        b.wait(phase="ringing", timeout=8)
        assert b.state()["cusax"]["party"] == {"identity": "unknown", "jid": "", "source": ""}
        assert "2003" in b.screen()
        b.press("back")
    settle(b)


def test_dnd_rejects_calls_busy_and_shows_on_presence_and_idle_screen(
    phones: dict[str, PhoneAgent], observer: Observer
) -> None:
    b, c = phones["B"], phones["C"]
    b.press("dnd")
    b.wait(**{"cusax.dnd": True})
    observer.wait("bob@lab.test", "dnd")
    assert "Do not disturb" in b.screen()
    c.dial("1002")
    c.wait(phase="ended", ended_reason="Busy", timeout=8)  # 486 Busy Here
    assert b.state()["phase"] == "idle"
    c.press("back")
    b.press("dnd")
    observer.wait("bob@lab.test", "available")
    settle(b, c)


def test_a_pstn_number_from_a_contact_asks_before_calling(phones: dict[str, PhoneAgent]) -> None:
    a = phones["A"]
    a.press("contacts")
    until(lambda: a.state()["cusax"]["selected"] == "erin@lab.test" or a.press("down"), what="Erin selected")
    a.lift()
    prompt = a.wait(phase="dialtone")["cusax"]["prompt"]
    assert prompt["warning"] == "Telephone network: may cost money"  # section 5, profile's pstn rule
    assert prompt["choices"] == ["sip:+15550100@lab.test;user=phone"]
    assert "Cost warning" in a.screen()
    a.press("back")  # cancelled: the ordinary dial tone, no call
    state = a.wait(phase="dialtone", **{"cusax.prompt": None})
    assert state["call"] is None and "15550100" not in state["last_dialed"]
    a.hang_up()
    a.press("back")
    settle(a)


def test_a_call_to_a_conference_shows_its_linked_group_chat(
    phones: dict[str, PhoneAgent], observer: Observer
) -> None:
    a, c = phones["A"], phones["C"]
    observer.join(ROOM, "carol")  # carol is in the room's chat, not on the call
    rooms = until(lambda: a.state()["cusax"]["rooms"], what="A in its room")
    assert rooms[ROOM] == f"sip:1003@{DOMAIN}"  # read from the room's disco#info at the join
    a.dial("1003")  # the room's audio/video URI
    c.wait(phase="ringing", timeout=8)
    c.lift()
    state = a.wait(phase="in_call", **{"cusax.conference": ROOM}, timeout=8)
    until(lambda: "carol" in a.state()["cusax"]["chat_only"], what="carol listed as chat only")
    assert state["cusax"]["audio"] == ["You"]
    assert "Conference" in a.screen()[0]
    c.hang_up()
    a.wait(phase="ended", **{"cusax.offer": ROOM}, timeout=8)
    a.press("back")
    settle(a, c)
    # The other way: a conference calls in and names its group chat (Call-Info grouptextchat).
    c.request("extra_headers", headers={"Call-Info": f"<xmpp:{ROOM2}?join>;purpose=grouptextchat"})
    try:
        c.dial("1001")
        a.wait(phase="ringing", **{"cusax.conference": ROOM2}, timeout=8)
        until(lambda: ROOM2 in a.state()["cusax"]["rooms"], what="the announced room joined")
        a.lift()
        a.wait(phase="in_call", timeout=8)
        until(lambda: "Conference" in a.screen()[0], what="the conference screen")
        a.hang_up()
    finally:
        c.request("extra_headers", headers={})
    settle(a, c)


def sipp(kamailio: Kamailio, scenario: str, user: str) -> None:
    done = subprocess.run(
        ["sipp", "-sf", str(HERE / scenario), "-s", user, f"{kamailio.host}:{kamailio.udp_port}",
         "-i", "127.0.0.1", "-p", str(free_udp_tcp_port()), "-m", "1", "-nostdin", "-timeout", "10"],
        capture_output=True, text=True, timeout=20, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{scenario} to {user}: not the expected answer:\n{done.stdout[-1500:]}"


def test_sip_message_and_presence_subscribe_are_refused(
    phones: dict[str, PhoneAgent], kamailio: Kamailio
) -> None:
    sipp(kamailio, "sip_message.xml", "1001")  # 403: IM over SIP is off (section 2)
    sipp(kamailio, "sip_subscribe.xml", "1001")  # 489 Bad Event
    assert phones["A"].state()["phase"] == "idle"


def test_security_mismatch_is_shown_and_parity_required_refuses_the_weaker_leg(
    kamailio: Kamailio, server: Prosody, tmp_path: Path
) -> None:
    # SIP over UDP, XMPP over TLS: the person is told (section 8), both accounts still run.
    # (This one also lets IM over SIP in: cusax.sip_im_presence = true, pjsua answers 200.)
    warned = start_phone(tmp_path, kamailio, "1004", xmpp=xmpp_account(server, "dave"),
                         cusax={"security_parity": "warn", "sip_im_presence": True})  # fmt: skip
    # SIP over TLS (verified, SRTP required), XMPP in plaintext: with "require" XMPP is refused.
    refused = start_phone(
        tmp_path, kamailio, "1005", transport="tls", srtp="mandatory",
        xmpp=xmpp_account(server, "erin", tls="plaintext", allow_plaintext=True),
        cusax={"security_parity": "require"},
    )  # fmt: skip
    try:
        state = warned.wait(registration="registered", **{"chat.state": "online"}, timeout=15)
        assert state["cusax"]["security"]["weaker"] == "Phone"
        sipp(kamailio, "sip_message_accepted.xml", "1004")
        until(lambda: "SIP MESSAGE from" in warned.log_path.read_text(), what="onInstantMessage logged")
        until(lambda: "Phone less protected" in warned.screen(), what="mismatch on the idle screen")
        state = refused.wait(registration="registered", **{"chat.state": "failed"}, timeout=15)
        assert state["chat"]["reason"].startswith("refused: PLAINTEXT")
        assert state["cusax"]["security"]["refused"] == "Chat"
        until(lambda: "Chat refused: weaker" in refused.screen(), what="refusal on the idle screen")
        assert refused.request("xmpp_stats") is None  # no XMPP engine was started at all
    finally:
        warned.stop()
        refused.stop()
