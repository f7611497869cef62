"""Fixtures for the XMPP tests: a real Prosody on loopback, accounts made per test, and a harness
that runs the real XmppEngine in-process on a fresh asyncio loop and records what it posts."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from firmware.config import Xmpp
from firmware.events import ChatConnectionChanged, Event
from firmware.lab.prosody import Prosody
from firmware.lab.xmpp_peer import XmppPeer
from firmware.xmpp.client import XmppEngine
from firmware.xmpp.model import ChatState

T = TypeVar("T")
_names = itertools.count(1)


def _require_prosody() -> None:
    missing = [b for b in ("prosody", "prosodyctl", "openssl") if shutil.which(b) is None]
    if missing:  # never a skip: a lab test that does not run is not coverage
        pytest.fail(f"not installed: {', '.join(missing)} (Debian package prosody; run `bash .ci/setup`)")


@pytest.fixture(scope="session")
def prosody(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prosody]:
    """One Prosody for the session (lab.test, MUC conference.lab.test); tests make their own users."""
    _require_prosody()
    server = Prosody(tmp_path_factory.mktemp("prosody"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def users(prosody: Prosody) -> Callable[..., list[str]]:
    """users("alice", "bob") -> fresh accounts ["alice7", "bob7"] (password: "pw-" + name)."""

    def make(*bases: str) -> list[str]:
        n = next(_names)
        names = [f"{base}{n}" for base in bases]
        prosody.add_users({name: f"pw-{name}" for name in names})
        return names

    return make


def run(coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
    """Run one test scenario on a fresh loop, bounded in time."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


class Harness:
    """The real engine plus a record of every event it posted, with awaitable conditions."""

    def __init__(self, engine_config: Xmpp, cache_dir: Path, **engine_args: Any) -> None:
        self.events: list[Event] = []
        self.times: list[float] = []
        self._changed = asyncio.Condition()
        self.engine = XmppEngine(engine_config, self.post, cache_dir=cache_dir, **engine_args)

    def post(self, event: Event) -> None:
        self.events.append(event)
        self.times.append(time.monotonic())
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def of(self, kind: type[T]) -> list[T]:
        return [e for e in self.events if isinstance(e, kind)]

    async def wait(self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
        async def until() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        try:
            await asyncio.wait_for(until(), timeout)
        except TimeoutError:
            raise AssertionError(f"not within {timeout} s: {what}; events: {self.events[-12:]}") from None

    async def poll(self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
        """For conditions no event announces (counters): look every 20 ms."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {timeout} s: {what}; events: {self.events[-12:]}")
            await asyncio.sleep(0.02)

    async def wait_event(
        self, kind: type[T], test: Callable[[T], bool] = lambda e: True, timeout: float = 5.0
    ) -> T:
        found: list[T] = []

        def check() -> bool:
            found[:] = [e for e in self.of(kind) if test(e)]
            return bool(found)

        await self.wait(check, timeout, f"{kind.__name__}")
        return found[0]

    async def wait_state(self, state: ChatState, timeout: float = 5.0) -> ChatConnectionChanged:
        return await self.wait_event(ChatConnectionChanged, lambda e: e.state is state, timeout)

    def states(self) -> list[ChatState]:
        return [e.state for e in self.of(ChatConnectionChanged)]

    async def __aenter__(self) -> Harness:
        self.engine.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.engine.stop()


def account(server: Prosody, user: str, *, tls: str = "starttls", **extra: Any) -> Xmpp:
    """The engine's [xmpp] config for `user` on the lab server."""
    port = server.direct_tls_port if tls == "direct" else server.c2s_port
    fields: dict[str, Any] = {
        "jid": server.jid(user),
        "password": server.passwords[user],
        "host": server.host,
        "port": port,
        "tls": tls,
        "login_timeout_s": 5.0,
    }
    if server.tls:
        fields["ca_file"] = str(server.ca_cert)
    if tls == "plaintext":
        fields["allow_plaintext"] = True
    fields.update(extra)
    return Xmpp(**fields)


def peer(server: Prosody, user: str, **kwargs: Any) -> XmppPeer:
    return XmppPeer.for_user(server, user, **kwargs)
