"""The XMPP ad-hoc command (XEP-0050) "reprovision": an admin asks a phone to fetch its profile now.

Phone side, on the XMPP engine's slixmpp client (a logged-in session, e.g. `XmppEngine.client`):

    install(client, admin_jids=config.provisioning.admin_jids, on_reprovision=provisioner.trigger)

The command is advertised through service discovery (XEP-0030) on the phone's full JID. Only the
bare JIDs in `provisioning.admin_jids` may run it: anyone else gets a `forbidden` error and a
warning in the log, and nothing happens. An admin gets a completed command whose note says that
the phone is fetching; the fetch itself is the provisioner's (signed, versioned: the command
carries no configuration, so a stolen admin account can only make phones fetch).

Admin side (the reference service's trigger, or a script): `await send(client, "phone@x/deskphone")`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout, XMPPError

from firmware.errors import ProvisioningError
from firmware.xmpp.session import bare_jid

log = logging.getLogger(__name__)

NODE = "reprovision"
NAME = "Fetch the provisioning profile now"


def install(
    client: slixmpp.ClientXMPP, *, admin_jids: Iterable[str], on_reprovision: Callable[[str], None]
) -> None:
    """Offer the command on `client` from its next session on (and now, when already logged in)."""
    # Normalised exactly as slixmpp normalises the sender (stringprep, trailing dot), else an admin
    # written "Admin@Example.org." would never match.
    configured = list(admin_jids)
    admins = frozenset(filter(None, (bare_jid(j) for j in configured)))
    for rejected in (j for j in configured if bare_jid(j) is None):
        log.warning("provisioning.admin_jids: %r is not a JID; ignored", rejected)
    for plugin in ("xep_0030", "xep_0004", "xep_0050"):
        client.register_plugin(plugin)

    def handle(iq: Any, session: dict[str, Any]) -> dict[str, Any]:
        sender = str(iq["from"].bare)
        if sender not in admins:
            log.warning("reprovision command from %s refused: not in provisioning.admin_jids", sender)
            raise XMPPError("forbidden", text="not a provisioning admin of this phone")
        log.info("reprovision command from %s", sender)
        on_reprovision(f"xmpp:{sender}")
        session["notes"] = [("info", "fetching the provisioning profile")]
        session["has_next"] = False
        session["payload"] = None
        return session

    def offer(_event: Any = None) -> None:
        client.plugin["xep_0050"].add_command(jid=client.boundjid, node=NODE, name=NAME, handler=handle)

    client.add_event_handler("session_start", offer)
    client.add_event_handler("session_resumed", offer)
    if client.boundjid.resource and client.is_connected():
        offer()


async def send(client: slixmpp.ClientXMPP, phone_jid: str, timeout: float = 10.0) -> str:
    """Run "reprovision" on `phone_jid` (a full JID); returns the phone's note. Raises ProvisioningError."""
    client.register_plugin("xep_0050")
    try:
        adhoc: Any = client.plugin["xep_0050"]
        reply = await adhoc.send_command(phone_jid, NODE, timeout=timeout)
    except IqError as err:
        condition = err.iq["error"]["condition"]
        raise ProvisioningError(f"{phone_jid} refused the reprovision command: {condition}") from None
    except IqTimeout:
        raise ProvisioningError(f"{phone_jid} did not answer the reprovision command") from None
    notes = reply["command"]["notes"]
    return "; ".join(text for _kind, text in notes) or str(reply["command"]["status"])


async def send_once(
    jid: str, password: str, phone_jid: str, *, host: str, port: int, ca_file: str, timeout: float = 10.0
) -> str:
    """Log in as `jid`, run the command on `phone_jid`, log out (the reference service's admin action)."""
    client = slixmpp.ClientXMPP(jid, password)
    client.enable_direct_tls, client.enable_starttls, client.enable_plaintext = False, True, False
    if ca_file:
        client.ca_certs = Path(ca_file)
    started: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def done(ok: bool) -> None:
        if not started.done():
            started.set_result(ok)

    client.add_event_handler("session_start", lambda _e: done(True))
    client.add_event_handler("failed_auth", lambda _e: done(False))
    client.connect(host or None, port)
    try:
        try:
            ok = await asyncio.wait_for(started, timeout)
        except TimeoutError:
            raise ProvisioningError(f"{jid}: no XMPP session within {timeout:g} s") from None
        if not ok:
            raise ProvisioningError(f"{jid}: XMPP login refused")
        return await send(client, phone_jid, timeout)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.disconnect(wait=1.0), 2.0)
        client.abort()
