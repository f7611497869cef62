"""`deskphone demo`: a real Kamailio and a baresip second party on loopback, and this phone on the
sim board drawn in the terminal. Dial 1002 to call the second party (it answers by itself and
sends a tone); press `i` to have it call you."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from firmware import config as config_mod
from firmware.errors import FirmwareError
from firmware.lab import Lab
from firmware.lab.phone import phone_config, write_toml

YOU, PEER = "1001", "1002"


def run_demo(workdir: Path) -> int:
    workdir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        filename=workdir / "phone.log",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not sys.stdin.isatty():
        print("deskphone demo needs an interactive terminal (it reads keys from it)", file=sys.stderr)
        return 2
    try:
        with Lab(workdir / "lab") as lab:
            you = lab.add_account(YOU)
            peer = lab.baresip(PEER, answer="auto")
            peer.wait_registered()
            doc = phone_config(lab.kamailio, you.user, you.password, "tls")
            doc["phone"]["interdigit_s"] = 3.0
            doc["phone"]["state_dir"] = str(workdir / "state")
            config_mod.load(write_toml(workdir / "phone.toml", doc))  # the file a person can inspect
            print(
                f"lab: Kamailio on 127.0.0.1 (udp/tcp {lab.kamailio.udp_port}, tls {lab.kamailio.tls_port}); "
                f"you are {YOU}, baresip is {PEER}. Logs in {workdir}."
            )

            def call_me() -> None:
                peer.dial(f"sip:{YOU}@{lab.domain}")

            from firmware.cli import run_phone

            asyncio.run(run_phone(doc, terminal=True, actions={b"i": (f"{PEER} calls you", call_me)}))
    except FirmwareError as err:
        print(f"demo failed: {err}", file=sys.stderr)
        return 1
    return 0
