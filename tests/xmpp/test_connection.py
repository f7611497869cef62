"""The XMPP engine's connection against a real Prosody: TLS both ways, failures reported as a person
needs them, recovery after a server crash, XEP-0198 resumption. No XMPP mocks."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from firmware.backoff import Backoff
from firmware.events import ChatConnectionChanged, MessageReceived, RosterLoaded
from firmware.lab.certs import make_foreign_server_cert
from firmware.lab.ports import free_port
from firmware.lab.prosody import Prosody
from firmware.xmpp.model import ChatState
from tests.xmpp.conftest import Harness, account, peer, run

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("tls", ["starttls", "direct"])
def test_login_over_tls_with_the_test_ca(
    prosody: Prosody, users: Callable[..., list[str]], tls: str, tmp_path: Path
) -> None:
    (alice, bob) = users("alice", "bob")
    prosody.make_contacts(alice, {bob: "Bob"})

    async def scenario() -> None:
        t0 = time.monotonic()
        async with Harness(account(prosody, alice, tls=tls), tmp_path) as h:
            await h.wait_state(ChatState.ONLINE)
            online = time.monotonic() - t0
            roster = await h.wait_event(RosterLoaded)
            assert [c.jid for c in roster.contacts] == [prosody.jid(bob)]
            assert roster.contacts[0].name == "Bob" and roster.contacts[0].subscription == "both"
            assert h.states()[:2] == [ChatState.CONNECTING, ChatState.ONLINE]
            client = h.engine.client
            assert client is not None and client.transport is not None
            ssl_object = client.transport.get_extra_info("ssl_object")
            assert ssl_object is not None, "the stream must be encrypted"
            assert client.plugin["feature_mechanisms"].mech.name.startswith("SCRAM-")
            stats = h.engine.stats
            print(
                f"{tls}: ONLINE {online * 1000:.0f} ms after start() (login {stats.login_s * 1000:.0f} ms,"
                f" {ssl_object.version()}), roster {stats.roster_s * 1000:.1f} ms after session start"
            )

    run(scenario())


def test_wrong_password_is_auth_failed_and_retried_slowly(
    prosody: Prosody, users: Callable[..., list[str]], tmp_path: Path
) -> None:
    (alice,) = users("alice")

    async def scenario() -> None:
        async with Harness(account(prosody, alice, password="wrong"), tmp_path) as h:
            event = await h.wait_state(ChatState.AUTH_FAILED)
            assert "not-authorized" in event.reason
            await asyncio.sleep(1.0)  # a backoff retry would come after 0.5 s: AUTH_FAILED waits 60 s
            assert h.engine.stats.connection_attempts == 1
            assert ChatState.ONLINE not in h.states()

    run(scenario())


@pytest.mark.parametrize("tls", ["starttls", "direct"])
def test_untrusted_certificate_is_tls_failed(
    prosody: Prosody, users: Callable[..., list[str]], tls: str, tmp_path: Path
) -> None:
    (alice,) = users("alice")
    rogue = make_foreign_server_cert(tmp_path / "rogue").ca_cert  # a CA that did not sign the server

    async def scenario() -> None:
        for ca_file in (str(rogue), ""):  # the wrong CA, and the system store (no test CA in it)
            async with Harness(account(prosody, alice, tls=tls, ca_file=ca_file), tmp_path) as h:
                event = await h.wait_state(ChatState.TLS_FAILED)
                assert "certificate" in event.reason or "TLS" in event.reason, event.reason

    run(scenario())


def test_server_without_tls_is_refused_and_plaintext_needs_consent(tmp_path: Path) -> None:
    """A server that offers no TLS: TLS_FAILED (no password sent in clear), unless the config says
    tls = "plaintext" and allow_plaintext (config validation refuses plaintext alone)."""
    with Prosody(tmp_path / "plain", tls=False, modules=("roster", "saslauth", "disco", "ping")) as server:
        server.add_users({"alice": "pw-alice"})

        async def scenario() -> None:
            async with Harness(account(server, "alice"), tmp_path / "a") as h:
                event = await h.wait_state(ChatState.TLS_FAILED)
                assert event.reason == "server did not offer TLS"
            async with Harness(account(server, "alice", tls="plaintext"), tmp_path / "b") as h:
                await h.wait_state(ChatState.ONLINE)

        run(scenario())


def test_nothing_listening_is_unreachable_with_backoff(
    prosody: Prosody, users: Callable[..., list[str]], tmp_path: Path
) -> None:
    (alice,) = users("alice")
    port = free_port()

    async def scenario() -> None:
        async with Harness(account(prosody, alice, port=port), tmp_path) as h:
            event = await h.wait_state(ChatState.UNREACHABLE)
            assert event.reason == "connection refused"
            await h.poll(lambda: h.engine.stats.connection_attempts >= 3, 3.0, "two retries (0.5 s, 1 s)")
            assert h.states().count(ChatState.UNREACHABLE) == 1  # retries do not flap the indicator

    run(scenario())


def test_server_killed_and_restarted_online_again_within_5_s(tmp_path: Path) -> None:
    with Prosody(tmp_path / "xmpp") as server:
        server.add_users({"alice": "pw-alice", "bob": "pw-bob"})
        server.make_contacts("alice", {"bob": "Bob"})

        async def scenario() -> None:
            async with Harness(account(server, "alice"), tmp_path / "cache") as h:
                await h.wait_state(ChatState.ONLINE)
                await h.wait_event(RosterLoaded)
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(None, server.kill)
                killed = time.monotonic()
                await h.wait(lambda: h.engine.state is not ChatState.ONLINE, 2.0, "engine notices the crash")
                noticed = time.monotonic() - killed
                await asyncio.sleep(4.0)  # down long enough for the backoff to reach its 4 s cap
                await loop.run_in_executor(None, server.start)
                back = time.monotonic()
                count = len(h.of(RosterLoaded))
                await h.wait(
                    lambda: h.engine.state is ChatState.ONLINE, 5.0, "online within 5 s of the return"
                )
                recovered = time.monotonic() - back
                await h.wait(lambda: len(h.of(RosterLoaded)) > count, 5.0, "roster again (new session)")
                stats = h.engine.stats
                print(
                    f"crash noticed after {noticed * 1000:.0f} ms; ONLINE {recovered * 1000:.0f} ms after the"
                    f" server answered again; attempts {stats.connection_attempts}, resumed {stats.resumed}"
                    " (a restarted Prosody has lost the session: a new one is started)"
                )
                assert recovered < 5.0
                assert stats.logins == 2 and stats.resumed == 0

        run(scenario(), timeout=40)


def test_dropped_connection_resumes_the_stream(
    prosody: Prosody, users: Callable[..., list[str]], tmp_path: Path
) -> None:
    """The link dies but the server lives (it keeps the session hibernating): XEP-0198 resumes it,
    no new login, no roster reload, the server replays what arrived meanwhile."""
    (alice, bob) = users("alice", "bob")
    prosody.make_contacts(alice, {bob: "Bob"})

    async def scenario() -> None:
        async with Harness(account(prosody, alice), tmp_path) as h, peer(prosody, bob) as b:
            await h.wait_event(RosterLoaded)
            client = h.engine.client
            assert client is not None and client.transport is not None
            client.transport.abort()  # as if a switch reset the TCP connection
            await h.wait(lambda: h.engine.state is not ChatState.ONLINE, 2.0, "drop noticed")
            b.send_chat(prosody.jid(alice), "while you were away")
            t0 = time.monotonic()
            await h.wait_event(ChatConnectionChanged, lambda e: e.reason == "resumed", timeout=5.0)
            print(f"stream resumed {(time.monotonic() - t0) * 1000:.0f} ms after the drop")
            message = await h.wait_event(MessageReceived, timeout=5.0)
            assert message.message.body == "while you were away"
            stats = h.engine.stats
            assert stats.resumed == 1 and stats.logins == 1 and len(h.of(RosterLoaded)) == 1

    run(scenario())


def test_backoff_policy_is_the_shared_one() -> None:
    backoff = Backoff()
    delays = [backoff.next_delay() for _ in range(6)]
    assert 0.45 <= delays[0] <= 0.55 and max(delays) <= 4.4


def test_cache_file_is_private_after_a_session(
    prosody: Prosody, users: Callable[..., list[str]], tmp_path: Path
) -> None:
    (alice, bob) = users("alice", "bob")
    prosody.make_contacts(alice, {bob: ""})
    prosody.set_vcard(bob, vcard4=_VCARD_BOB)

    async def scenario() -> None:
        async with Harness(account(prosody, alice), tmp_path) as h:
            await h.wait_event(RosterLoaded)
            await h.poll(lambda: len(h.engine.session.cache) == 1, 5.0, "bob's card")
        path = h.engine.cache_path
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    run(scenario())


_VCARD_BOB = (
    "<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Bob</text></fn>"
    "<tel><uri>sip:bob@lab.test</uri></tel></vcard>"
)


def test_a_silent_server_is_noticed_by_the_keepalive(tmp_path: Path) -> None:
    """The server hangs with the TCP connection open (no FIN, no RST): only the XEP-0199 ping
    notices. After the server wakes up, the stream is resumed (XEP-0198)."""
    with Prosody(tmp_path / "xmpp") as server:
        server.add_users({"alice": "pw-alice"})

        async def scenario() -> None:
            config = account(server, "alice", login_timeout_s=1.0)
            async with Harness(config, tmp_path / "cache", keepalive_s=0.3, keepalive_timeout_s=0.5) as h:
                await h.wait_event(RosterLoaded)
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(None, server.freeze)
                t0 = time.monotonic()
                try:
                    await h.wait(lambda: h.engine.state is not ChatState.ONLINE, 3.0, "silence noticed")
                    noticed = time.monotonic() - t0
                    assert h.engine.stats.keepalive_failures == 1
                finally:
                    await loop.run_in_executor(None, server.thaw)
                await h.wait(lambda: h.engine.state is ChatState.ONLINE, 6.0, "online again")
                print(
                    f"silent server noticed after {noticed * 1000:.0f} ms (keepalive 0.3 s + 0.5 s);"
                    f" resumed: {h.engine.stats.resumed}"
                )

        run(scenario())


def test_stop_leaves_no_task_behind(
    prosody: Prosody, users: Callable[..., list[str]], tmp_path: Path
) -> None:
    (alice,) = users("alice")

    async def scenario() -> None:
        before = asyncio.all_tasks()
        config = account(prosody, alice, rooms=[f"r{alice}@{prosody.muc_domain}"])
        async with Harness(config, tmp_path, vcard_start_delay=0.0) as h:
            await h.wait_event(RosterLoaded)
            await asyncio.sleep(0.3)
        await h.engine.stop()  # twice is harmless
        await asyncio.sleep(0.05)
        assert asyncio.all_tasks() - before == set()

    run(scenario())
