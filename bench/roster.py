"""RSS of a phone agent logged into a lab Prosody, with a 1-contact and a 1,000-contact roster.

The roster is written straight into Prosody's storage (`Prosody.make_contacts`, as the 5,000-contact
test in tests/xmpp does); the contacts have no accounts and no vCards, so the phone's vCard requests
are answered with errors. The RSS is read once the phone holds the whole roster and its vCard queue
has drained (or after VCARD_WAIT_S).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.lab import BenchLab
from bench.procstat import rss_mb
from firmware.lab.phone import PhoneAgent, phone_config
from firmware.lab.prosody import Prosody

VCARD_WAIT_S = 5.0
SETTLE_S = 1.0


def _stats(phone: PhoneAgent) -> dict[str, Any]:
    stats = phone.request("xmpp_stats")
    return stats if isinstance(stats, dict) else {}


def _until(phone: PhoneAgent, check: Any, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stats = _stats(phone)
        if check(stats) or time.monotonic() > deadline:
            return stats
        time.sleep(0.05)


def _owner(size: int) -> str:
    return f"deskphone{size}"


def _one(lab: BenchLab, server: Prosody, size: int, n: int) -> tuple[float, dict[str, Any]]:
    doc = phone_config(lab.kamailio, "1003", lab.passwords["1003"], "udp")
    doc["xmpp"] = {
        "jid": server.jid(_owner(size)),
        "password": server.passwords[_owner(size)],
        "host": server.host,
        "port": server.c2s_port,
        "ca_file": str(server.ca_cert),
        "login_timeout_s": 10.0,
    }
    name = f"roster-{size}-{n}"
    phone = PhoneAgent(lab.workdir / name, name, doc).start()
    try:
        phone.wait(registration="registered", timeout=10)
        phone.wait(timeout=20, **{"chat.state": "online"})
        stats = _until(phone, lambda s: s.get("roster_size") == size, 20.0)
        if stats.get("roster_size") != size:
            raise RuntimeError(f"roster of {size} not loaded: {stats}")
        stats = _until(
            phone, lambda s: not s.get("vcard_queue") and not s.get("vcard_in_flight"), VCARD_WAIT_S
        )
        time.sleep(SETTLE_S)
        assert phone.pid is not None
        return rss_mb(phone.pid), stats
    finally:
        phone.stop()


def measure(lab: BenchLab, runs: int, sizes: tuple[int, ...] = (1, 1000)) -> dict[str, list[float]]:
    """For each roster size: "rss_<size>" (MiB, one per run: a fresh agent each time) and
    "vcards_<size>" (vCard requests left unanswered when the RSS was read: 0 = queue drained)."""
    out: dict[str, list[float]] = {}
    with Prosody(lab.workdir / "prosody") as server:
        # one owner per size, rosters written before anyone logs in (Prosody keeps a logged-in
        # user's roster in memory, and a stopped agent's session may hibernate)
        server.add_users({_owner(size): "bench-deskphone-pw" for size in sizes})
        for size in sizes:
            contacts = {f"c{i:05d}": f"Contact {i:05d}" for i in range(size)}
            server.make_contacts(_owner(size), contacts, both_ways=False)
        for size in sizes:
            for n in range(runs):
                rss, stats = _one(lab, server, size, n)
                out.setdefault(f"rss_{size}", []).append(rss)
                left = int(stats.get("vcard_queue", 0) or 0) + int(stats.get("vcard_in_flight", 0) or 0)
                out.setdefault(f"vcards_{size}", []).append(float(left))
    return out


def main() -> None:
    import shutil
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="deskphone-roster-"))
    try:
        with BenchLab(work) as lab:
            print(measure(lab, 2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
