"""A second XMPP party for tests and benchmarks: a plain slixmpp client driven by the test.

    async with XmppPeer.for_user(prosody, "bob") as bob:
        bob.send_chat("alice@lab.test", "hello")
        message = await bob.next_message()

It runs on the caller's asyncio loop (the engine under test may share it). Everything it
receives is queued for the test to read; nothing is interpreted. The sync helpers at the end run a
peer on a private loop in a thread, for the lab's synchronous API (Prosody.subscribe, set_vcard).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import xml.etree.ElementTree as ET
from collections.abc import Coroutine
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

import slixmpp
from slixmpp.jid import JID

from firmware.errors import LabError

if TYPE_CHECKING:
    from firmware.lab.prosody import Prosody

log = logging.getLogger(__name__)


class XmppPeer:
    def __init__(
        self,
        jid: str,
        password: str,
        *,
        host: str,
        port: int,
        ca_file: Path | None,
        direct_tls: bool = False,
        plaintext: bool = False,
        resource: str = "peer",
    ) -> None:
        self.jid, self._password = jid, password
        self._host, self._port, self._ca = host, port, ca_file
        self._direct, self._plain, self._resource = direct_tls, plaintext, resource
        self.client: slixmpp.ClientXMPP | None = None
        self.messages: asyncio.Queue[Any] = asyncio.Queue()
        self.presences: asyncio.Queue[Any] = asyncio.Queue()
        self.subscribe_requests: asyncio.Queue[str] = asyncio.Queue()
        self.accept_subscriptions = True

    @classmethod
    def for_user(
        cls, server: Prosody, user: str, *, direct_tls: bool = False, resource: str = "peer"
    ) -> Self:
        tls = server.ca_cert if server.tls else None
        return cls(
            server.jid(user), server.passwords[user], host=server.host,
            port=server.direct_tls_port if direct_tls else server.c2s_port, ca_file=tls,
            direct_tls=direct_tls, plaintext=tls is None, resource=resource,
        )  # fmt: skip

    async def start(self, timeout: float = 10.0, presence: bool = True) -> Self:
        xmpp = slixmpp.ClientXMPP(f"{self.jid}/{self._resource}", self._password)
        self.client = xmpp
        xmpp.enable_direct_tls = self._direct
        xmpp.enable_starttls = not self._direct and not self._plain
        xmpp.enable_plaintext = self._plain
        if self._ca is not None:
            xmpp.ca_certs = self._ca
        xmpp.plugin["feature_mechanisms"].unencrypted_scram = self._plain
        xmpp.roster.auto_authorize = None  # type: ignore[assignment]
        xmpp.roster.auto_subscribe = False
        for plugin in ("xep_0030", "xep_0045", "xep_0199"):
            xmpp.register_plugin(plugin)
        started: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def done(ok: bool) -> None:
            if not started.done():
                started.set_result(ok)

        xmpp.add_event_handler("session_start", lambda _e: done(True))
        xmpp.add_event_handler("failed_auth", lambda _e: done(False))
        xmpp.add_event_handler("message", self.messages.put_nowait)
        xmpp.add_event_handler("groupchat_message", self.messages.put_nowait)
        xmpp.add_event_handler("presence", self.presences.put_nowait)
        xmpp.add_event_handler("roster_subscription_request", self._on_subscribe)
        xmpp.connect(self._host, self._port)
        try:
            ok = await asyncio.wait_for(started, timeout)
        except TimeoutError:
            await self.stop()
            raise LabError(f"{self.jid}: no XMPP session within {timeout} s") from None
        if not ok:
            await self.stop()
            raise LabError(f"{self.jid}: login refused")
        if presence:
            xmpp.send_presence()
        return self

    def _on_subscribe(self, pres: Any) -> None:
        jid = str(pres["from"].bare)
        self.subscribe_requests.put_nowait(jid)
        if self.accept_subscriptions and self.client is not None:
            self.client.send_presence(pto=jid, ptype="subscribed")

    async def stop(self) -> None:
        xmpp, self.client = self.client, None
        if xmpp is None:
            return
        if xmpp.transport is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(xmpp.disconnect(wait=1.0), 2.0)
        xmpp.cancel_connection_attempt()
        xmpp.abort()
        sender = getattr(xmpp, "_run_out_filters", None)
        if isinstance(sender, asyncio.Future):
            sender.cancel()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def xmpp(self) -> slixmpp.ClientXMPP:
        if self.client is None:
            raise LabError(f"{self.jid} is not connected")
        return self.client

    # ----------------------------------------------------------------- actions
    def send_chat(self, to: str, body: str, mtype: str = "chat") -> None:
        self.xmpp.send_message(mto=JID(to), mbody=body, mtype=mtype)  # type: ignore[arg-type]

    def send_raw(self, xml: str) -> None:
        """Any XML on the stream, e.g. a hand-made hostile stanza."""
        self.xmpp.send_raw(xml)

    def set_presence(self, show: str | None = None, status: str | None = None, **extra: Any) -> None:
        self.xmpp.send_presence(pshow=show, pstatus=status, **extra)

    def unavailable(self) -> None:
        self.xmpp.send_presence(ptype="unavailable")

    async def next_message(self, timeout: float = 5.0, *, body: bool = True) -> Any:
        """The next message received (with a body unless body=False)."""
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.messages.get()
                if msg["body"] or not body:
                    return msg

    async def iq(
        self, to: str, payload: ET.Element, itype: Literal["get", "set"] = "get", timeout: float = 10.0
    ) -> Any:
        iq = self.xmpp.make_iq(ito=to, itype=itype)
        iq.append(payload)
        return await iq.send(timeout=timeout)  # type: ignore[no-untyped-call]

    async def publish_vcard4(self, xml: str) -> None:
        """Our vCard4 (XEP-0292) via Prosody's mod_vcard4: stored in PEP node urn:xmpp:vcard4."""
        await self.iq(self.jid, ET.fromstring(xml), "set")  # noqa: S314 - the test's own XML

    async def publish_vcard_temp(self, xml: str) -> None:
        await self.iq(self.jid, ET.fromstring(xml), "set")  # noqa: S314 - the test's own XML

    async def disco_features(self, jid: str, timeout: float = 5.0) -> set[str]:
        info = await self.xmpp.plugin["xep_0030"].get_info(jid=JID(jid), timeout=timeout)
        return set(info["disco_info"]["features"])

    async def join_room(self, room: str, nick: str, timeout: float = 10.0) -> None:
        await self.xmpp.plugin["xep_0045"].join_muc_wait(JID(room), nick, maxstanzas=0, timeout=timeout)

    async def ask_subscription(self, jid: str) -> None:
        self.xmpp.send_presence(pto=jid, ptype="subscribe")


# --------------------------------------------------------------------- sync helpers (the lab's API)


def run_sync(coro: Coroutine[Any, Any, None], timeout: float) -> None:
    """Run `coro` on a private loop in a thread: callable from sync code and from inside a
    running loop alike (the lab's helpers are synchronous like the rest of firmware.lab)."""
    errors: list[BaseException] = []

    def runner() -> None:
        try:
            asyncio.run(coro)
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=runner, name="xmpp-lab-helper", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise LabError(f"XMPP lab helper still running after {timeout} s")
    if errors:
        raise LabError(f"XMPP lab helper failed: {errors[0]!r}") from errors[0]


async def subscribe_pair(server: Prosody, user: str, contact: str, timeout: float) -> None:
    """Both ask, each approves once the other's request has arrived: "both" on both sides."""
    a = await XmppPeer.for_user(server, user, resource="lab-helper").start(timeout)
    b = await XmppPeer.for_user(server, contact, resource="lab-helper").start(timeout)
    try:
        async with asyncio.timeout(timeout):
            await a.ask_subscription(server.jid(contact))
            assert await b.subscribe_requests.get() == server.jid(user)  # b approved it on arrival
            await b.ask_subscription(server.jid(user))
            assert await a.subscribe_requests.get() == server.jid(contact)
            for peer, other in ((a, contact), (b, user)):
                while True:
                    iq = await peer.xmpp.get_roster()
                    items = iq["roster"]["items"] if iq is not None else {}
                    if items.get(JID(server.jid(other)), {}).get("subscription") == "both":
                        break
                    await asyncio.sleep(0.05)
    finally:
        await a.stop()
        await b.stop()


async def publish_vcards(
    server: Prosody, user: str, vcard4: str | None, vcard_temp: str | None, timeout: float
) -> None:
    peer = await XmppPeer.for_user(server, user, resource="lab-helper").start(timeout, presence=False)
    try:
        if vcard_temp is not None:
            await peer.publish_vcard_temp(vcard_temp)
        if vcard4 is not None:
            await peer.publish_vcard4(vcard4)
    finally:
        await peer.stop()
