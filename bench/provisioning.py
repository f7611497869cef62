"""Provisioning figures: what an unchanged-profile poll costs, and trigger -> new profile applied and
re-registered.  `.venv/bin/python -m bench.provisioning [--runs N]` prints them.

- poll cost: the real `deskphone provision-server` in its own process, the phone's Provisioner in
  this one; `check_once()` answered 304. "warm" reuses the HTTPS connection (polls closer than the
  keep-alive), "cold" opens a new one each time (the hourly poll of a real phone: TCP + TLS
  handshake). CPU is this process's (the phone's side) only. For scale, a changed profile (200,
  verify, parse, validate, fsync'ed store).
- trigger -> registered: Kamailio + the reference service + a phone agent that polls hourly. The
  profile file is changed (the SIP account alternates), then the trigger: the agent's
  `reprovision` op (what the XMPP command calls) or a real SIP NOTIFY check-sync from sipp through
  Kamailio (sipp's own start included); the clock stops when Kamailio holds the new account's
  contact.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.stats import Figure, summarize
from firmware.lab.certs import make_test_pki
from firmware.lab.kamailio import Kamailio
from firmware.lab.phone import PhoneAgent
from firmware.lab.ports import free_udp_tcp_port
from firmware.lab.provisioning import LabProvisioning, fake_device_root
from firmware.provisioning.provisioner import Provisioner
from firmware.provisioning.server import hash_password
from firmware.provisioning.store import ProfileStore
from firmware.provisioning.url import Device

MAC = "b827eb00be01"
USERS = {"1001": "pw-1001-bench", "1003": "pw-1003-bench"}
CHECK_SYNC = Path(__file__).resolve().parent.parent / "tests" / "e2e" / "check_sync.xml"


def _server_process(work: Path, pki: Any) -> tuple[subprocess.Popen[str], str]:
    profiles = work / "profiles"
    profiles.mkdir(parents=True)
    (profiles / f"{MAC}.json").write_text(
        json.dumps(
            {"sip": {"domain": "lab.test", "registrar": "127.0.0.1", "user": "1001", "transport": "udp"}}
        )
    )
    (work / "users.toml").write_text(
        f'[devices."{MAC}"]\nusername = "u"\npassword_hash = "{hash_password("p")}"\n'
    )
    (work / "server.toml").write_text(
        f'[server]\nport = 0\ncert = "{pki.server_cert}"\nkey = "{pki.server_key}"\n'
        f'profiles_dir = "{profiles}"\nsigning_key = "{work / "signing.key"}"\n'
        f'state_dir = "{work / "state"}"\n'
        f'users_file = "{work / "users.toml"}"\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "firmware.cli", "provision-server", "--config", str(work / "server.toml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "serving https://127.0.0.1:PORT/p/{mac}.json (signing key ...)"
    return proc, line.split()[1]


async def _polls(work: Path, pki: Any, url: str, runs: int) -> list[Figure]:
    local = {
        "provisioning": {
            "url": url,
            "ca_file": str(pki.ca_cert),
            "username": "u",
            "password": "p",
            "boot_file": str(work / "absent"),
        },
        "phone": {"state_dir": str(work / "phone")},
    }
    store = ProfileStore(work / "phone" / "provisioning")
    p = Provisioner(local, store=store, device=Device(MAC, ""))
    await p.check_once()  # first fetch: 200, key pinned
    figures = []
    for name, key in (("warm connection", "6a"), ("new connection each poll", "6b")):
        wall, cpu = [], []
        for _ in range(runs):
            if key == "6b" and p.fetcher is not None:
                await p.fetcher.aclose()  # keep-alive long expired: TCP + TLS handshake again
            sent = p.fetcher.requests if p.fetcher else 0
            w0, c0 = time.perf_counter(), time.process_time()
            status = await p.check_once()
            wall.append(1000 * (time.perf_counter() - w0))
            cpu.append(1000 * (time.process_time() - c0))
            assert status.state.value == "ok" and status.version == 1, status
            assert p.fetcher is not None and p.fetcher.requests == sent + 1  # one request, answered 304
        figures.append(
            Figure(f"{key}", f"unchanged-profile poll (304), {name}: wall", "ms", wall, note="1 request each")
        )
        figures.append(Figure(f"{key}c", f"unchanged-profile poll (304), {name}: phone CPU", "ms", cpu))
    await p.stop()
    return figures


def poll_cost(runs: int) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pki = make_test_pki(work / "pki")
        proc, url = _server_process(work / "server", pki)
        try:
            return asyncio.run(_polls(work, pki, url, runs))
        finally:
            proc.terminate()
            proc.wait(5)


def _sip(kam: Kamailio, user: str) -> dict[str, Any]:
    return {
        "sip": {
            "domain": kam.domain,
            "registrar": kam.host,
            "port": kam.udp_port,
            "transport": "udp",
            "user": user,
            "password": USERS[user],
        }
    }


def _until_registered(kam: Kamailio, user: str, timeout: float = 10.0) -> float:
    deadline = time.perf_counter() + timeout
    while not kam.contacts(user):
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{user} not registered")
        time.sleep(0.002)
    return time.perf_counter()


def trigger_to_registered(runs: int) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        kam = Kamailio(work / "kam")
        for user, password in USERS.items():
            kam.add_account(user, password)
        kam.start()
        prov = LabProvisioning(work / "prov", kam.tls_files).start()
        phone = None
        try:
            prov.add_device(MAC, "dev", "devpw", _sip(kam, "1001"))
            config = {
                "provisioning": prov.bootstrap("dev", "devpw", poll_interval_s=3600.0),
                "hardware": {"backend": "sim"},
                "phone": {"state_dir": str(work / "state")},
            }
            root = fake_device_root(work / "dev", MAC)
            phone = PhoneAgent(work / "phone", "p", config, extra_args=["--device-root", str(root)]).start()
            phone.wait(registration="registered", timeout=10)
            agent: list[float] = []
            notify: list[float] = []
            current = "1001"
            for i in range(2 * runs):
                current = "1003" if current == "1001" else "1001"
                kam.clear_registrations(current)  # the account the phone is about to take
                prov.write_profile(MAC, _sip(kam, current))
                time.sleep(2.1)  # past the provisioner's trigger coalescing gap
                t0 = time.perf_counter()
                if i % 2 == 0:
                    phone.request("reprovision")
                else:
                    subprocess.run(
                        [
                            "sipp",
                            "-sf",
                            str(CHECK_SYNC),
                            "-s",
                            "1001" if current == "1003" else "1003",
                            f"{kam.host}:{kam.udp_port}",
                            "-i",
                            "127.0.0.1",
                            "-p",
                            str(free_udp_tcp_port()),
                            "-m",
                            "1",
                            "-nostdin",
                            "-timeout",
                            "10",
                        ],
                        check=True,
                        capture_output=True,
                        timeout=20,
                    )
                ms = 1000 * (_until_registered(kam, current) - t0)
                (agent if i % 2 == 0 else notify).append(ms)
            return [
                Figure("7a", "trigger (agent op) -> new profile applied and registered", "ms", agent),
                Figure(
                    "7b",
                    "SIP NOTIFY check-sync (sipp) -> applied and registered",
                    "ms",
                    notify,
                    note="includes sipp's start and the 200 round trip",
                ),
            ]
        finally:
            if phone is not None:
                phone.stop()
            prov.stop()
            kam.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    figures = poll_cost(args.runs * 2) + trigger_to_registered(max(3, args.runs // 4))
    for f in figures:
        s = summarize(f.phone)
        print(
            f"{f.key:>4}  {f.name}: {s.median:.3g} {f.unit} ({s.low:.3g}-{s.high:.3g} {s.spread_kind}, "
            f"N={s.n}){'  [' + f.note + ']' if f.note else ''}"
        )


if __name__ == "__main__":
    main()
