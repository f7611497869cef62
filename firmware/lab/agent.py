"""A whole phone (sim board + real pjsua2) in its own process, driven over JSON lines on stdin/stdout.

pjsua2 is a per-process singleton, so every phone in a test, a benchmark or the demo runs as one
of these. The agent is the real `Phone` with the real SIP engine; only the hardware is simulated.

Requests are one JSON object per line: {"id": 1, "op": "press", "key": "5"}; each gets one reply
line {"id": 1, "ok": true, "result": ...} or {"id": 1, "ok": false, "error": "..."}.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pjsua2 as pj

from firmware import config as config_mod
from firmware.app import Phone
from firmware.events import DialRequest
from firmware.lab.cusax_lab import cusax_ops, cusax_summary
from firmware.sip.engine import SipEngine
from firmware.sip.pjmodule import live_sip_objects
from firmware.state import PhoneState
from hal.backends.sim import SimBoard

log = logging.getLogger(__name__)
Op = Callable[[dict[str, Any]], Awaitable[Any]]


def state_summary(state: PhoneState) -> dict[str, Any]:
    call = state.call
    return {
        "phase": state.phase.value,
        "registration": state.registration.state.value,
        "reg_code": state.registration.code,
        "off_hook": state.off_hook,
        "route": state.route.value,
        "digits": state.digits,
        "ended_reason": state.ended_reason,
        "notice": state.notice,
        "last_dialed": state.last_dialed,
        "call": None
        if call is None
        else {
            "id": call.call_id,
            "direction": call.direction.value,
            "remote": call.remote,
            "party": call.party,
            "ringing": call.ringing,
            "early_media": call.early_media,
            "media_active": call.media_active,
            "local_hold": call.local_hold,
            "remote_hold": call.remote_hold,
        },
        "chat": _chat_summary(state),
        "cusax": cusax_summary(state),  # RFC 7081: caller identity, DND, prompts, security
    }


def _chat_summary(state: PhoneState) -> dict[str, Any]:
    """The chat side (issue 3) for e2e assertions: connection, counts, the screen shown, the draft."""
    chat, nav = state.chat, state.nav
    return {
        "state": chat.state.value,
        "reason": chat.reason,
        "contacts": len(chat.roster),
        "online": chat.roster.online,
        "rooms": sorted(chat.rooms),
        "conversations": len(chat.history),
        "unread": chat.unread_total,
        "unread_by_peer": dict(chat.unread),
        "last": {peer: messages[-1].body for peer, messages in chat.history.items()},
        "view": nav.view.value,
        "peer": nav.peer,
        "banner": nav.banner,
        "compose": nav.entry.shown,
        "compose_mode": nav.entry.indicator,
    }


class Agent:
    def __init__(self, phone: Phone, board: SimBoard) -> None:
        self.phone, self.board = phone, board
        self._keep: list[Any] = []  # pjsua2 tone generators must outlive their use
        self._recorders: list[Any] = []
        self.ops: dict[str, Op] = {
            "ping": self._ping,
            "press": self._press,
            "lift": self._lift,
            "hang_up": self._hang_up,
            "flap": self._flap,
            "dial": self._dial,
            "state": self._state,
            "screen": self._screen,
            "png": self._png,
            "wait": self._wait,
            "ringer": self._ringer,
            "audio": self._audio,
            "stats": self._stats,
            "tone": self._tone_playing,
            "play_into_call": self._play_into_call,
            "record_call": self._record_call,
            "stop_recording": self._stop_recording,
            "loopback": self._loopback,
            "echo_probe": self._echo_probe,
            "dtmf_received": self._dtmf_received,
            "early_media": self._early_media,
            "xmpp_stats": self._xmpp_stats,
            "memory": self._memory,
            "rtp_addresses": self._rtp_addresses,
        }

    async def _ping(self, req: dict[str, Any]) -> Any:
        return "pong"

    async def _press(self, req: dict[str, Any]) -> Any:
        for key in req["keys"] if "keys" in req else [req["key"]]:
            self.board.press(key)
            await asyncio.sleep(0)
        return None

    async def _lift(self, req: dict[str, Any]) -> Any:
        self.board.lift()
        return None

    async def _hang_up(self, req: dict[str, Any]) -> Any:
        self.board.hang_up()
        return None

    async def _flap(self, req: dict[str, Any]) -> Any:
        self.board.flap(int(req["times"]), float(req.get("hz", 50.0)))
        return None

    async def _dial(self, req: dict[str, Any]) -> Any:
        self.phone.post(DialRequest(str(req["target"])))
        return None

    async def _state(self, req: dict[str, Any]) -> Any:
        return state_summary(self.phone.state)

    async def _screen(self, req: dict[str, Any]) -> Any:
        return self.board.screen_text()

    async def _png(self, req: dict[str, Any]) -> Any:
        return base64.b64encode(self.board.screen_png()).decode()

    async def _wait(self, req: dict[str, Any]) -> Any:
        """Wait until every given field of the state summary equals the given value."""
        want: dict[str, Any] = req["state"]

        def matches(state: PhoneState) -> bool:
            summary = state_summary(state)
            return all(_get(summary, k) == v for k, v in want.items())

        await self.phone.wait_until(matches, float(req.get("timeout_s", 5.0)))
        return state_summary(self.phone.state)

    async def _ringer(self, req: dict[str, Any]) -> Any:
        return self.board.is_ringing()

    async def _audio(self, req: dict[str, Any]) -> Any:
        audio = self.board.audio
        from hal.types import AudioPath

        return {
            "route": audio.route().value,
            "ringing": audio.is_ringing(),
            "handset": audio.volume(AudioPath.HANDSET),
            "speaker": audio.volume(AudioPath.SPEAKER),
        }

    def _engine(self) -> SipEngine:
        engine = self.phone.engine
        assert isinstance(engine, SipEngine)
        return engine

    def _call_id(self) -> int:
        call = self.phone.state.call
        if call is None:
            raise RuntimeError("no call")
        return call.call_id

    async def _stats(self, req: dict[str, Any]) -> Any:
        stats = self._engine().media_stats(self._call_id())
        return None if stats is None else stats.__dict__

    async def _tone_playing(self, req: dict[str, Any]) -> Any:
        tone = self._engine().tone
        return None if tone is None else tone.value

    async def _play_into_call(self, req: dict[str, Any]) -> Any:
        """Send a test tone (freq Hz) into the call instead of the (null) microphone."""
        gen = pj.ToneGenerator()
        gen.createToneGenerator(16000, 1)
        desc = pj.ToneDesc()
        desc.freq1 = desc.freq2 = int(req["freq"])
        desc.on_msec, desc.off_msec, desc.volume = 1000, 0, 0
        tones = pj.ToneDescVector()
        tones.append(desc)
        gen.play(tones, True)
        gen.startTransmit(self._engine().call_audio(self._call_id()))
        self._keep.append(gen)
        return None

    async def _record_call(self, req: dict[str, Any]) -> Any:
        """Record what the far end sends to a WAV file."""
        rec = pj.AudioMediaRecorder()
        rec.createRecorder(str(req["path"]))
        self._engine().call_audio(self._call_id()).startTransmit(rec)
        self._recorders.append(rec)
        return None

    async def _stop_recording(self, req: dict[str, Any]) -> Any:
        """Disconnect and destroy the recorders: pjmedia writes the WAV header when one is destroyed."""
        media = self._engine().call_audio(self._call_id())
        while self._recorders:
            rec = self._recorders.pop()
            with contextlib.suppress(pj.Error):
                media.stopTransmit(rec)
            del rec
        return None

    async def _xmpp_stats(self, req: dict[str, Any]) -> Any:
        """The XMPP engine's counters (requests, cache hits, drops...); None without an XMPP account."""
        from firmware.xmpp.client import XmppEngine

        xmpp = self.phone.xmpp
        return xmpp.snapshot() if isinstance(xmpp, XmppEngine) else None

    async def _memory(self, req: dict[str, Any]) -> Any:
        """Soak diagnostics (tests/resilience): RSS (after malloc_trim when `trim`), Python objects by
        type (top `top`), allocation sites when PYTHONTRACEMALLOC is set, what holds the newest
        object of type `who`, pjmedia's active conference ports, pjsip's live transactions and dialogs
        and the engine's live calls."""
        import collections
        import ctypes
        import gc
        import tracemalloc

        gc.collect()
        if req.get("trim"):  # hand freed heap back to the kernel: tells a leak from retention
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        status = Path("/proc/self/status").read_text().splitlines()
        rss = next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
        objects = gc.get_objects()
        top = int(req.get("top", 15))
        # top=0 (the soak's polls): no count of every object's type, only to throw it away
        types = collections.Counter(type(o).__name__ for o in objects).most_common(top) if top else []
        sites: list[str] = []
        if tracemalloc.is_tracing():
            for stat in tracemalloc.take_snapshot().statistics("lineno")[:top]:
                sites.append(f"{stat.traceback[0]}: {stat.size // 1024} KiB in {stat.count}")
        holders: list[str] = []
        sample = [o for o in objects if type(o).__name__ == req.get("who")][-1:]
        for ref in gc.get_referrers(*sample) if sample else []:
            if ref is not objects:
                up = [type(r).__name__ for r in gc.get_referrers(ref) if r is not objects][:5]
                holders.append(
                    f"{type(ref).__name__} (len {len(ref) if hasattr(ref, '__len__') else '-'}) <- {up}"
                )
        return {
            "rss_kib": rss,
            "objects": len(objects),
            "types": dict(types),
            "sites": sites,
            "holders": holders,
            "media_ports": pj.Endpoint.instance().mediaActivePorts(),
            "sip_objects": None if (live := live_sip_objects()) is None else live.__dict__,
            "calls": len(self._engine()._calls),
        }

    async def _rtp_addresses(self, req: dict[str, Any]) -> Any:
        """The call's media addresses (tests/resilience/test_hostile_rtp.py): its RTP and RTCP
        ports, the far end's RTP address from its SDP and the source of the last RTP received."""
        call = self._engine()._calls[self._call_id()]
        tp = call.getMedTransportInfo(0)
        si = call.getStreamInfo(0)
        return {
            "local": tp.localRtpName,
            "local_rtcp": tp.localRtcpName,
            "source": tp.srcRtpName,
            "remote": si.remoteRtpAddress,
        }

    async def _early_media(self, req: dict[str, Any]) -> Any:
        """Ringing callee: answer 183 with SDP so the caller gets early media (and a tone in it)."""
        self._engine().send_progress(self._call_id())
        return None

    async def _dtmf_received(self, req: dict[str, Any]) -> Any:
        return "".join(digit for _, digit in self._engine().received_dtmf)

    async def _loopback(self, req: dict[str, Any]) -> Any:
        """Echo the far end's audio back to it (media round-trip measurements)."""
        media = self._engine().call_audio(self._call_id())
        media.startTransmit(media)
        return None

    async def _echo_probe(self, req: dict[str, Any]) -> Any:
        """Round-trip probe (bench): send tone bursts (freq Hz, on_ms/off_ms) into the call and record
        the bursts sent and the audio received, mixed in one WAV at path (stop with stop_recording)."""
        media = self._engine().call_audio(self._call_id())
        gen = pj.ToneGenerator()
        gen.createToneGenerator(16000, 1)
        desc = pj.ToneDesc()
        desc.freq1 = desc.freq2 = int(req["freq"])
        desc.on_msec, desc.off_msec, desc.volume = int(req["on_ms"]), int(req["off_ms"]), 0
        tones = pj.ToneDescVector()
        tones.append(desc)
        rec = pj.AudioMediaRecorder()
        rec.createRecorder(str(req["path"]))
        gen.startTransmit(rec)
        media.startTransmit(rec)
        gen.play(tones, True)
        gen.startTransmit(media)
        self._keep.append(gen)
        self._recorders.append(rec)
        return None

    async def serve(self, reader: asyncio.StreamReader, write: Callable[[str], None]) -> None:
        while line := await reader.readline():
            try:
                req = json.loads(line)
                op = self.ops[req["op"]]
                reply = {"id": req.get("id"), "ok": True, "result": await op(req)}
            except Exception as err:
                reply = {"id": _safe_id(line), "ok": False, "error": f"{type(err).__name__}: {err}"}
            write(json.dumps(reply) + "\n")


def _get(summary: dict[str, Any], dotted: str) -> Any:
    value: Any = summary
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _safe_id(line: bytes) -> Any:
    try:
        return json.loads(line).get("id")
    except Exception:
        return None


async def run(config_path: Path, log_path: Path | None, device_root: Path = Path("/")) -> None:
    from firmware.assembly import assemble

    assembly = assemble(config_mod.load_document(config_path), device_root=device_root)
    phone, board, provisioner = assembly.phone, assembly.board, assembly.provisioner
    assert isinstance(board, SimBoard)
    # The protocol keeps the real stdout; fd 1 goes to stderr so that nothing else (pjlib prints
    # its first lines before our log writer is installed) can corrupt the JSON stream.
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    await assembly.start()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def write(text: str) -> None:
        out.write(text)
        out.flush()

    agent = Agent(phone, board)
    agent.ops.update(cusax_ops(phone))
    if provisioner is not None:
        from firmware.lab.provisioning import agent_ops

        assert assembly.bridge is not None
        agent.ops.update(agent_ops(phone, provisioner, assembly.bridge))
    write(json.dumps({"ready": True, "pid_time": time.time()}) + "\n")
    try:
        await agent.serve(reader, write)
    finally:
        await assembly.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--log", type=Path)
    parser.add_argument("--device-root", type=Path, default=Path("/"), help="fake /sys and /proc (tests)")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO,
        filename=args.log,
        format="%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    asyncio.run(run(args.config, args.log, args.device_root))


if __name__ == "__main__":
    main()
