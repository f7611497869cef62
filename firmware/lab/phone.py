"""Client side of the phone agent: start a real phone process and drive it synchronously."""

from __future__ import annotations

import base64
import itertools
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

from firmware.errors import LabError
from firmware.lab.kamailio import Kamailio

AGENT_START_TIMEOUT_S = 10.0


def phone_config(
    kamailio: Kamailio, user: str, password: str, transport: str = "udp", **sip: Any
) -> dict[str, Any]:
    """A config document for a lab phone registered with `kamailio`."""
    doc: dict[str, Any] = {
        "sip": {
            "domain": kamailio.domain,
            "registrar": kamailio.host,
            "port": kamailio.port(transport),
            "transport": transport,
            "user": user,
            "password": password,
            "tls_ca_file": str(kamailio.ca_cert),
            **sip,
        },
        "hardware": {"backend": "sim"},
        "phone": {"interdigit_s": 2.0},
    }
    return doc


def write_toml(path: Path, doc: dict[str, Any]) -> Path:
    """Minimal TOML writer for config documents (tables of scalars and lists); written 0600."""
    lines: list[str] = []

    def emit(table: dict[str, Any], prefix: str) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        if prefix:
            lines.append(f"[{prefix}]")
        lines.extend(f"{k} = {json.dumps(v)}" for k, v in scalars.items())
        for k, v in table.items():
            if isinstance(v, dict):
                emit(v, f"{prefix}.{k}" if prefix else k)

    emit(doc, "")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


class PhoneAgent:
    """One phone process. Every call blocks until the agent replies (bounded by `timeout`)."""

    def __init__(
        self, workdir: Path, name: str, config: dict[str, Any], *, extra_args: Sequence[str] = ()
    ) -> None:
        self.workdir = Path(workdir)
        self.extra_args = list(extra_args)  # e.g. ["--device-root", DIR] for provisioning tests
        self.name = name
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Each phone keeps its state (chat history, vCard cache, profiles) in its own directory.
        phone = {"state_dir": str(self.workdir / "state"), **config.get("phone", {})}
        self.config_path = write_toml(self.workdir / f"{name}.toml", {**config, "phone": phone})
        self.log_path = self.workdir / f"{name}.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._ids = itertools.count(1)
        self._buffer = b""
        self.started_at = 0.0

    def start(self) -> Self:
        self.started_at = time.perf_counter()
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "firmware.lab.agent",
                "--config",
                str(self.config_path),
                "--log",
                str(self.log_path),
                *self.extra_args,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(self.workdir / f"{self.name}.stderr", "wb"),  # noqa: SIM115 - lives with the process
        )
        ready = self._read_line(AGENT_START_TIMEOUT_S)
        if not ready.get("ready"):
            raise LabError(f"phone {self.name} did not start: {ready}")
        return self

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()  # EOF: the agent stops the phone cleanly (un-REGISTER, libDestroy)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def request(self, op: str, timeout: float = 10.0, **args: Any) -> Any:
        if self._proc is None or self._proc.stdin is None:
            raise LabError(f"phone {self.name} is not running")
        req_id = next(self._ids)
        self._proc.stdin.write((json.dumps({"id": req_id, "op": op, **args}) + "\n").encode())
        self._proc.stdin.flush()
        reply = self._read_line(timeout)
        if reply.get("id") != req_id:
            raise LabError(f"phone {self.name}: reply out of order: {reply}")
        if not reply["ok"]:
            raise LabError(f"phone {self.name}: {op} failed: {reply['error']}")
        return reply["result"]

    def _read_line(self, timeout: float) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + timeout
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise LabError(f"phone {self.name}: no reply within {timeout}s; log:\n{self.log_tail()}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise LabError(f"phone {self.name} exited; log:\n{self.log_tail()}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        result: dict[str, Any] = json.loads(line)
        return result

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # Convenience wrappers: the words a test reads like a person using the phone.
    def press(self, *keys: str) -> None:
        self.request("press", keys=list(keys))

    def lift(self) -> None:
        self.request("lift")

    def hang_up(self) -> None:
        self.request("hang_up")

    def dial(self, target: str) -> None:
        self.request("dial", target=target)

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("state")
        return result

    def screen(self) -> list[str]:
        result: list[str] = self.request("screen")
        return result

    def png(self) -> bytes:
        return base64.b64decode(self.request("png"))

    def wait(self, timeout: float = 5.0, **state: Any) -> dict[str, Any]:
        """Wait for state fields; dotted names reach into the call.

        Example: `wait(phase="in_call", **{"call.media_active": True})`.
        """
        result: dict[str, Any] = self.request(
            "wait", timeout=timeout + 2, state=state, **{"timeout_s": timeout}
        )
        return result


IN_CALL: dict[str, Any] = {"phase": "in_call", "call.media_active": True}


def connect(a: PhoneAgent, b: PhoneAgent, number: str) -> None:
    """A lifts and dials `number`; B rings and answers by lifting; both end in a call with media."""
    a.lift()
    a.press(*number, "#")
    b.wait(phase="ringing")
    b.lift()
    a.wait(**IN_CALL)
    b.wait(**IN_CALL)


def hang_up(first: PhoneAgent, second: PhoneAgent) -> None:
    """`first` hangs up, `second` sees the call end and hangs up too; both end idle."""
    first.hang_up()
    second.wait(phase="ended")
    second.hang_up()
    second.wait(phase="idle")
    first.wait(phase="idle")
