"""The `deskphone` command: run the phone, check a config file, or run the demo lab."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from firmware import config as config_mod
from firmware.errors import ConfigError, FirmwareError
from hal import HalError

log = logging.getLogger("deskphone")

DEFAULT_CONFIG = Path("/etc/deskphone/config.toml")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def check_config(path: Path) -> int:
    try:
        config = config_mod.load(path)
    except ConfigError as err:
        print(f"{path}: invalid configuration:\n{err}", file=sys.stderr)
        return 1
    for warning in config_mod.permission_warnings(path):
        print(f"warning: {warning}", file=sys.stderr)
    sip = config.sip
    account = (
        f"sip:{sip.user}@{sip.domain} via {sip.transport} {sip.registrar}:{sip.effective_port}"
        if sip is not None
        else "SIP account from provisioning"
    )
    print(f"{path}: OK ({account}, board {config.hardware.backend})")
    return 0


async def run_phone(
    local_doc: Mapping[str, Any],
    *,
    terminal: bool,
    actions: Mapping[bytes, tuple[str, Callable[[], None]]] | None = None,
) -> None:
    """Run until SIGTERM/SIGINT (or 'q' in the terminal simulator).

    `local_doc` is the config file as read; with a [provisioning] section the phone starts from
    the last good profile and follows the server (firmware/provisioning/)."""
    from firmware.assembly import assemble
    from firmware.service import Service

    assembly = assemble(local_doc)
    service = Service.from_environment()  # systemd: READY, STATUS, watchdog (no-op elsewhere)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    console = None
    if terminal:
        from hal.backends.sim import SimBoard
        from hal.backends.terminal import TerminalConsole

        if not isinstance(assembly.board, SimBoard):
            raise ConfigError('--terminal needs the sim board (hardware.backend = "sim")')
        console = TerminalConsole(assembly.board, sys.stdout, on_quit=stop.set, actions=actions)
        console.attach(loop, sys.stdin.fileno())
    service.start_watchdog()
    await assembly.start()
    service.ready(assembly.phone)
    try:
        await stop.wait()
    finally:
        service.stopping()
        if console is not None:
            console.detach()
        await assembly.stop()
        service.close()


def _setup_logging(level: str, log_file: Path | None) -> None:
    from firmware.service import JournalHandler, stderr_is_journal

    if log_file is None and stderr_is_journal():  # under systemd: structured fields in the journal
        logging.basicConfig(level=level.upper(), handlers=[JournalHandler()])
        return
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT, filename=log_file)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deskphone", description="CUSAX desk phone firmware")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the phone")
    run.add_argument("--config", type=Path, default=Path(os.environ.get("DESKPHONE_CONFIG", DEFAULT_CONFIG)))
    run.add_argument(
        "--terminal", action="store_true", help="sim board: draw the OLED and read keys in this terminal"
    )
    run.add_argument("--log-file", type=Path, help="log here instead of stderr (use with --terminal)")
    check = sub.add_parser("check-config", help="validate a config file and exit")
    check.add_argument("file", type=Path)
    demo = sub.add_parser(
        "demo", help="lab servers + a second party + this phone on the sim board in the terminal"
    )
    demo.add_argument("--workdir", type=Path, default=Path(".demo"))
    prov = sub.add_parser("provision-server", help="run the reference provisioning service (HTTPS)")
    prov.add_argument("--config", type=Path, required=True, help="server TOML (docs/provisioning.md)")
    prov.add_argument("--public-key", action="store_true", help="print the signing public key and exit")
    args = parser.parse_args(argv)

    if args.command == "check-config":
        return check_config(args.file)
    if args.command == "demo":
        from firmware.lab.demo import run_demo

        return run_demo(args.workdir.resolve())
    if args.command == "provision-server":
        from firmware.provisioning.server import run_server

        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
        try:
            return run_server(args.config, public_key=args.public_key)
        except FirmwareError as err:
            print(f"provision-server: {err}", file=sys.stderr)
            return 2
    try:
        local_doc = config_mod.load_document(args.config)
        config = config_mod.parse(local_doc)
    except ConfigError as err:
        print(f"{args.config}: invalid configuration:\n{err}", file=sys.stderr)
        return 2
    _setup_logging(config.phone.log_level, args.log_file)
    for warning in config_mod.permission_warnings(args.config):
        log.warning("%s", warning)
    try:
        asyncio.run(run_phone(local_doc, terminal=args.terminal))
    except (FirmwareError, HalError) as err:
        log.error("%s", err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
