"""The benchmark lab: one Kamailio on loopback, phone agents and baresip peers, all under one workdir.

Every process started here is stopped by `BenchLab.close()` (also on errors: use it as a context
manager); measurements that start and stop processes themselves do so in try/finally.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from firmware.lab.baresip import Baresip
from firmware.lab.kamailio import Kamailio
from firmware.lab.phone import PhoneAgent, phone_config

PHONE_USERS = ("1001", "1002", "1003")
BARESIP_USERS = ("2001", "2002", "2003")


class BenchBaresip(Baresip):
    """baresip with a chosen audio source and player, and optionally a packet time.

    The lab's Baresip always sends a 440 Hz sine (ausine) into a sink; the round trip needs a
    burst source (`aufile,FILE.wav`) on one side and an echo on the other: ``aubridge`` with the
    same device name as player and source hands what it plays back to the source, i.e. the call
    audio goes back out. aubridge insists on identical player and source formats, so the echo
    drops the lab's 48 kHz stereo source setting (both then run at the codec's rate).
    """

    def __init__(
        self,
        *args: Any,
        source: str | None = None,
        player: str | None = None,
        ptime: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._source, self._player, self._ptime = source, player, ptime

    def _write_config(self) -> None:
        super()._write_config()
        path = self.workdir / "config"
        lines = []
        for line in path.read_text().splitlines():
            if self._is_echo and line.startswith("ausrc_"):
                continue
            if self._source and line.startswith("audio_source "):
                lines.append(f"audio_source {self._source}")
            elif self._player and line.startswith("audio_player "):
                lines.append(f"audio_player {self._player}")
            else:
                lines.append(line)
        if self._source and self._source.startswith("aufile,"):
            lines.append("module aufile.so")
        path.write_text("\n".join(lines) + "\n")

    @property
    def _is_echo(self) -> bool:
        return bool(self._source and self._source.startswith("aubridge,"))

    def _account_line(self) -> str:
        line = super()._account_line()
        return f"{line};ptime={self._ptime}" if self._ptime else line


def echo_baresip(workdir: Path, user: str, password: str, kamailio: Kamailio, **kw: Any) -> BenchBaresip:
    return BenchBaresip(
        workdir, user, password, kamailio, source="aubridge,echo", player="aubridge,echo", **kw
    )


class BenchLab:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.kamailio = Kamailio(workdir / "kamailio")
        self.passwords = {user: f"bench-{user}-pw" for user in (*PHONE_USERS, *BARESIP_USERS)}
        for user, password in self.passwords.items():
            self.kamailio.add_account(user, password)
        self._phones: list[PhoneAgent] = []
        self._peers: list[Baresip] = []
        self._serial = itertools.count(1)

    def start(self) -> Self:
        self.kamailio.start()
        return self

    def phone(self, user: str, *, start: bool = True, **sip: Any) -> PhoneAgent:
        """A phone agent for `user` (UDP); `sip` goes to the config's [sip] table."""
        config = phone_config(self.kamailio, user, self.passwords[user], "udp", **sip)
        name = f"phone-{user}-{next(self._serial)}"
        agent = PhoneAgent(self.workdir / name, name, config)
        self._phones.append(agent)
        return agent.start() if start else agent

    def phones(self, *users: str, **sip: Any) -> list[PhoneAgent]:
        """Phone agents for `users`, started side by side (each start is mostly its imports)."""
        agents = [self.phone(user, start=False, **sip) for user in users]
        with ThreadPoolExecutor(len(agents)) as pool:
            list(pool.map(PhoneAgent.start, agents))
        return agents

    def baresip(self, user: str, *, echo: bool = False, start: bool = True, **kw: Any) -> BenchBaresip:
        """A baresip for `user` (UDP); echo=True loops the call audio back."""
        workdir = self.workdir / f"baresip-{user}-{next(self._serial)}"
        make = echo_baresip if echo else BenchBaresip
        peer = make(workdir, user, self.passwords[user], self.kamailio, **kw)
        self._peers.append(peer)
        return peer.start() if start else peer

    def release(self, *procs: PhoneAgent | Baresip) -> None:
        """Stop these now, side by side (un-REGISTER; a phone takes ~0.5 s), and forget them."""
        for proc in procs:
            if isinstance(proc, PhoneAgent) and proc in self._phones:
                self._phones.remove(proc)
            elif isinstance(proc, Baresip) and proc in self._peers:
                self._peers.remove(proc)
        if not procs:
            return
        with ThreadPoolExecutor(len(procs)) as pool:
            futures = [pool.submit(proc.stop) for proc in procs]
        errors = [err for f in futures if (err := f.exception()) is not None]
        if errors:
            raise errors[0]

    def close(self) -> None:
        try:
            self.release(*self._phones, *self._peers)
        finally:
            self.kamailio.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
