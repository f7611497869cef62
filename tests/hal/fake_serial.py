"""A stand-in for luma's i2c/spi interface that records the exact bytes a display driver sends."""

from __future__ import annotations

from collections.abc import Sequence


class FakeSerial:
    """Records command() and data() calls in order. `fail` makes every command raise it (a dead bus)."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.log: list[tuple[str, list[int]]] = []
        self.cleanups = 0
        self.fail = fail

    def command(self, *cmd: int) -> None:
        if self.fail is not None:
            raise self.fail
        # luma's i2c interface accepts at most 32 command bytes per call; so does the real bus.
        assert len(cmd) <= 32, cmd
        assert all(0 <= b <= 0xFF for b in cmd), cmd
        self.log.append(("command", list(cmd)))

    def data(self, data: Sequence[int]) -> None:
        values = list(data)
        assert all(0 <= b <= 0xFF for b in values)
        self.log.append(("data", values))

    def cleanup(self) -> None:
        self.cleanups += 1

    def commands(self) -> list[int]:
        """Every command byte sent so far, flattened."""
        return [b for kind, values in self.log if kind == "command" for b in values]

    def data_blocks(self) -> list[list[int]]:
        return [values for kind, values in self.log if kind == "data"]

    def last_frame_bytes(self, count: int) -> list[int]:
        """The last `count` data bytes sent (a full frame is several blocks on some drivers)."""
        flat = [b for block in self.data_blocks() for b in block]
        return flat[-count:]

    def clear(self) -> None:
        self.log.clear()
