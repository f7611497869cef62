"""Registrar keepalive: an OPTIONS ping (UDP) or a TCP connect, as Yealink/Cisco phones do.

Over UDP nothing tells a phone that its registrar died or restarted with an empty location table,
so the phone asks: a lost registrar shows on the display within seconds, and its return triggers
an immediate re-registration instead of waiting for the registration to expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable

log = logging.getLogger(__name__)

MISSES_BEFORE_DOWN = 2
PROBE_TIMEOUT_S = 1.0


class _OptionsProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.reply: asyncio.Future[bool] | None = None

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if self.reply is not None and not self.reply.done() and data.startswith(b"SIP/2.0 "):
            self.reply.set_result(True)

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable: the registrar is gone
        if self.reply is not None and not self.reply.done():
            self.reply.set_result(False)


def options_request(host: str, port: int, local_port: int, domain: str) -> bytes:
    branch = "z9hG4bK" + secrets.token_hex(8)
    call_id = secrets.token_hex(12)
    return (
        f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch={branch};rport\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:keepalive@{domain}>;tag={secrets.token_hex(4)}\r\n"
        f"To: <sip:{host}:{port}>\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


class RegistrarProbe:
    """Pings the registrar every `interval` s; calls on_down after consecutive misses and on_up on return."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        transport: str,
        domain: str,
        interval: float,
        on_down: Callable[[], None],
        on_up: Callable[[], None],
    ) -> None:
        self._host, self._port, self._transport, self._domain = host, port, transport, domain
        self._interval = interval
        self._on_down, self._on_up = on_down, on_up
        self._task: asyncio.Task[None] | None = None
        self._misses = 0
        self._down = False

    def start(self) -> None:
        if self._interval > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="registrar-probe")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            alive = await self.probe_once()
            self._record(alive)
            await asyncio.sleep(self._interval)

    def _record(self, alive: bool) -> None:
        if alive:
            self._misses = 0
            if self._down:
                self._down = False
                log.info("registrar %s:%d is back", self._host, self._port)
                self._on_up()
            return
        self._misses += 1
        if self._misses >= MISSES_BEFORE_DOWN and not self._down:
            self._down = True
            log.warning("registrar %s:%d does not answer", self._host, self._port)
            self._on_down()

    async def probe_once(self) -> bool:
        try:
            if self._transport == "udp":
                return await self._probe_udp()
            return await self._probe_tcp()
        except OSError:
            return False

    async def _probe_udp(self) -> bool:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_datagram_endpoint(
            _OptionsProtocol, remote_addr=(self._host, self._port)
        )
        try:
            proto.reply = loop.create_future()
            local_port = transport.get_extra_info("sockname")[1]
            transport.sendto(options_request(self._host, self._port, local_port, self._domain))
            return await asyncio.wait_for(proto.reply, PROBE_TIMEOUT_S)
        except TimeoutError:
            return False
        finally:
            transport.close()

    async def _probe_tcp(self) -> bool:
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(self._host, self._port), PROBE_TIMEOUT_S
            )
        except TimeoutError:
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
