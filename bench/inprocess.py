"""Latencies inside the firmware, without SIP: the real Phone on the sim board with a recording engine.

What is timed is the firmware's own path: HAL event -> loop -> state machine -> dispatcher ->
command (or -> screen -> render -> display.show()). Debounce is NOT included: the sim board
settles keys and the hook on simulated time, so the event leaves the board at once; on hardware
the configured debounce (keys 20 ms + up to one 5 ms scan, hook 30 ms) comes on top.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from firmware import config as config_mod
from firmware.app import Phone
from firmware.commands import Tone
from firmware.events import Event, IncomingCall
from firmware.state import Phase, PhoneState
from hal import make_board
from hal.backends.sim import SimBoard
from hal.types import Frame

TIMEOUT_S = 2.0
Check = Callable[..., bool]


class RecordingEngine:
    """A CallControl double that resolves waiters when a method is called (time.perf_counter_ns)."""

    def __init__(self) -> None:
        self._waiters: list[tuple[str, Check, asyncio.Future[int]]] = []

    def expect(self, method: str, check: Check = lambda *args: True) -> asyncio.Future[int]:
        """A future set to the perf_counter_ns of the next call of `method` whose arguments pass `check`."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.append((method, check, future))
        return future

    def _called(self, method: str, *args: Any) -> None:
        now = time.perf_counter_ns()
        for waiter in list(self._waiters):
            name, check, future = waiter
            if name == method and check(*args):
                self._waiters.remove(waiter)
                if not future.done():
                    future.set_result(now)

    def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def make_call(self, call_id: int, uri: str, headers: dict[str, str] | None = None) -> None:
        self._called("make_call", call_id, uri)

    def answer(self, call_id: int) -> None:
        self._called("answer", call_id)

    def hangup(self, call_id: int, code: int = 0) -> None:
        self._called("hangup", call_id, code)

    def send_dtmf(self, call_id: int, digit: str) -> None:
        self._called("send_dtmf", call_id, digit)

    def hold(self, call_id: int) -> None:
        self._called("hold", call_id)

    def resume(self, call_id: int) -> None:
        self._called("resume", call_id)

    def play_tone(self, tone: Tone) -> None:
        self._called("play_tone", tone)

    def stop_tone(self) -> None:
        self._called("stop_tone")


class Bench:
    """A started Phone + SimBoard + RecordingEngine, and the waits the measurements need."""

    def __init__(self) -> None:
        config = config_mod.parse(
            {
                "sip": {"domain": "lab.test", "registrar": "127.0.0.1", "user": "1001"},
                "hardware": {"backend": "sim"},
            }
        )
        board = make_board(config.hal_config())
        assert isinstance(board, SimBoard)
        self.board = board
        self.engine = RecordingEngine()
        self.phone = Phone(config, board, self._factory)
        self._frame_waiters: list[tuple[Callable[[list[str]], bool], asyncio.Future[int]]] = []
        board.on_frame.append(self._on_frame)

    def _factory(self, post: Callable[[Event], None]) -> RecordingEngine:
        return self.engine

    def _on_frame(self, frame: Frame) -> None:
        now = time.perf_counter_ns()
        text = list(frame.text)
        for waiter in list(self._frame_waiters):
            check, future = waiter
            if check(text):
                self._frame_waiters.remove(waiter)
                if not future.done():
                    future.set_result(now)

    def next_frame(self, check: Callable[[list[str]], bool]) -> asyncio.Future[int]:
        """A future set to the perf_counter_ns of the next frame shown whose text passes `check`."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._frame_waiters.append((check, future))
        return future

    async def until(self, phase: Phase) -> None:
        def reached(state: PhoneState) -> bool:
            return state.phase is phase

        await self.phone.wait_until(reached, TIMEOUT_S)


def _showing(text: str) -> Callable[[list[str]], bool]:
    """A frame check: some line of the frame's text contains `text`."""

    def check(lines: list[str]) -> bool:
        return any(text in line for line in lines)

    return check


async def _elapsed_ms(start_ns: int, future: asyncio.Future[int]) -> float:
    return (await asyncio.wait_for(future, TIMEOUT_S) - start_ns) / 1e6


async def off_hook_to_dial_tone(bench: Bench, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        tone = bench.engine.expect("play_tone", lambda t: t is Tone.DIAL)
        start = time.perf_counter_ns()
        bench.board.lift()
        samples.append(await _elapsed_ms(start, tone))
        bench.board.hang_up()
        await bench.until(Phase.IDLE)
    return samples


async def key_to_frame(bench: Bench, runs: int) -> list[float]:
    """Digits pressed after lifting; each must show up on the screen."""
    samples: list[float] = []
    while len(samples) < runs:
        bench.board.lift()
        await bench.until(Phase.DIALTONE)
        dialed = ""
        for digit in "5551234"[: runs - len(samples)]:
            dialed += digit
            shown = bench.next_frame(_showing(dialed))
            start = time.perf_counter_ns()
            bench.board.press(digit)
            samples.append(await _elapsed_ms(start, shown))
        bench.board.hang_up()
        await bench.until(Phase.IDLE)
    return samples


async def last_digit_to_make_call(bench: Bench, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        bench.board.lift()
        for digit in "1002":
            bench.board.press(digit)
        await bench.phone.wait_until(lambda state: state.digits == "1002", TIMEOUT_S)
        placed = bench.engine.expect("make_call")
        start = time.perf_counter_ns()
        bench.board.press("#")
        samples.append(await _elapsed_ms(start, placed))
        bench.board.hang_up()
        await bench.until(Phase.IDLE)
    return samples


async def incoming_to_ringing_frame(bench: Bench, runs: int) -> list[float]:
    """IncomingCall posted on the loop, as the engine's onIncomingCall does -> ringing screen shown."""
    samples = []
    for n in range(runs):
        shown = bench.next_frame(_showing("Incoming call"))
        start = time.perf_counter_ns()
        bench.phone.post(IncomingCall(-1 - n, "sip:1002@lab.test"))
        samples.append(await _elapsed_ms(start, shown))
        bench.board.press("back")  # decline
        await bench.until(Phase.IDLE)
    return samples


async def _run_all(runs: int) -> dict[str, list[float]]:
    bench = Bench()
    await bench.phone.start()
    try:
        for _ in range(20):  # warm-up: first renders, imports, caches
            await off_hook_to_dial_tone(bench, 1)
        return {
            "off_hook_dial_tone": await off_hook_to_dial_tone(bench, runs),
            "key_frame": await key_to_frame(bench, runs),
            "hash_make_call": await last_digit_to_make_call(bench, runs),
            "incoming_frame": await incoming_to_ringing_frame(bench, runs),
        }
    finally:
        await bench.phone.stop()


def measure(runs: int = 200) -> dict[str, list[float]]:
    """Every in-process latency, in ms, `runs` times each."""
    return asyncio.run(_run_all(runs))
