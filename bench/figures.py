"""From raw results to the table's rows: names, units and the note saying what each row measured."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.soak import kib_per_call
from bench.stats import Figure, fmt, summarize

Series = dict[str, list[float]]


@dataclass
class Results:
    inprocess: Series = field(default_factory=dict)
    phone_start: Series = field(default_factory=dict)
    baresip_start: Series = field(default_factory=dict)
    interpreter: Series = field(default_factory=dict)
    import_packages: Series = field(default_factory=dict)  # own import time (ms) per top-level package
    phone_calls: Series = field(default_factory=dict)
    phone_baresip_calls: Series = field(default_factory=dict)
    baresip_calls: Series = field(default_factory=dict)
    phone_rtt: dict[str, Series] = field(default_factory=dict)
    baresip_rtt: dict[str, Series] = field(default_factory=dict)
    idle: dict[str, Series] = field(default_factory=dict)
    cusax: dict[str, Series] = field(default_factory=dict)  # by roster size: "frame" (ms), "index_kib"
    state_memory: Series = field(default_factory=dict)  # by roster size: bytes (tracemalloc)
    roster_rss: Series = field(default_factory=dict)  # bench/roster.py: rss_<size>, vcards_<size>
    soak: Series = field(default_factory=dict)  # bench/soak.py: caller, callee (MiB per call), ...
    provisioning: list[Figure] = field(default_factory=list)  # from bench/provisioning.py


def _startup(res: Results) -> list[Figure]:
    ph, bs, py = res.phone_start, res.baresip_start, res.interpreter
    return [
        Figure(
            "1a",
            "exec -> registered",
            "ms",
            ph["exec_registered"],
            bs["exec_registered"],
            "phone: spawn of the agent (`python -m firmware.lab.agent`, real Phone + pjsua2, UDP) "
            "until `wait(registration='registered')` returns; baresip: exec until its REGISTER_OK "
            "event.",
        ),
        Figure(
            "1b",
            "exec -> REGISTER sent",
            "ms",
            ph["exec_ready"],
            bs["exec_ready"],
            "phone: until the agent's ready line (interpreter, imports, config, pjsua2 init, "
            "REGISTER sent); baresip: until the lab has created its account over ctrl_tcp "
            "(`uanew`, REGISTER sent), which includes the lab's 10 ms polling for the ctrl_tcp port.",
        ),
        Figure(
            "1c",
            "REGISTER sent -> registered",
            "ms",
            ph["ready_registered"],
            bs["ready_registered"],
            "digest auth: 401 challenge, then 200. phone: both answers are read by the engine's "
            "`libHandleEvents` poll (see Reading the figures); baresip reads its socket when it is "
            "readable.",
        ),
        Figure(
            "1d",
            "python -c pass",
            "ms",
            py["python_bare"],
            note="the venv's interpreter start and exit, nothing imported: the floor of 1b.",
        ),
        Figure(
            "1e",
            "imports while the agent starts",
            "ms",
            py["agent_imports"],
            note="every import until the ready line, also the ones `run()` makes late (provisioning, "
            "SIP and XMPP factories): `-X importtime`, top-level cumulative times summed. The "
            "instrumentation slows imports: in these runs imports took "
            f"{fmt(summarize(py['import_share']).median)} % of exec -> ready; the rest of 1b is the "
            "interpreter, config, Phone.start() (pjsua2 init, REGISTER) and the agent's set-up. Largest "
            f"packages by their modules' own import time (median): {_heaviest(res.import_packages)}.",
        ),
    ]


def _heaviest(packages: Series, count: int = 8) -> str:
    medians = {name: summarize(times).median for name, times in packages.items()}
    top = sorted(medians.items(), key=lambda item: -item[1])[:count]
    return ", ".join(f"{name} {fmt(ms)} ms" for name, ms in top)


def _local(res: Results) -> list[Figure]:
    ip = res.inprocess
    return [
        Figure(
            "2",
            "off-hook -> dial tone command",
            "ms",
            ip["off_hook_dial_tone"],
            note="in-process: `board.lift()` -> `play_tone(DIAL)` on the engine. Hardware adds the "
            "30 ms hook debounce.",
        ),
        Figure(
            "3",
            "keypress -> frame handed to the display",
            "ms",
            ip["key_frame"],
            note="in-process: `board.press(digit)` -> `show()` of the frame with the digit. Hardware "
            "adds the 20 ms key debounce + up to 5 ms scan, and the panel's wire time (I2C 400 kHz "
            "~23 ms, SPI ~1 ms).",
        ),
        Figure(
            "4a",
            "'#' -> make_call",
            "ms",
            ip["hash_make_call"],
            note="in-process: `board.press('#')` after 4 digits -> `make_call()` on the engine.",
        ),
        Figure(
            "5a",
            "IncomingCall -> ringing frame",
            "ms",
            ip["incoming_frame"],
            note="in-process: the event the engine posts from `onIncomingCall` -> `show()` of the "
            "'Incoming call' frame.",
        ),
    ]


def _calls(res: Results) -> list[Figure]:
    pp, pb, bb = res.phone_calls, res.phone_baresip_calls, res.baresip_calls
    rtt = fmt(pp["agent_rtt"][0])
    return [
        Figure(
            "4b/5b",
            "dial -> callee ringing (end to end)",
            "ms",
            pp["ringing"],
            bb["ringing"],
            "phone A '#' -> phone B in phase ringing (its ringing screen is drawn in the same step); "
            "baresip: `dial` command -> the callee's first event of the call (auto-answer: no CALL_INCOMING, "
            "the offer's CALL_REMOTE_SDP). Both through Kamailio, UDP, digest auth (INVITE challenged "
            "with 407 first).",
        ),
        Figure(
            "7a",
            "call setup phone -> phone",
            "ms",
            pp["setup"],
            bb["setup"],
            f"'#' -> both phones in call with media; B answers by lifting when it rings (one agent "
            f"round trip, {rtt} ms). baresip column: dial -> CALL_ESTABLISHED on both (auto-answer).",
        ),
        Figure(
            "7b",
            "call setup phone -> baresip",
            "ms",
            pb["setup"],
            bb["setup"],
            "phone '#' -> phone in call with media and baresip (auto-answer) CALL_ESTABLISHED; "
            "same baresip -> baresip column as 7a.",
        ),
    ]


def _rtt(res: Results) -> list[Figure]:
    ph, bs = res.phone_rtt, res.baresip_rtt
    method = "one value per run = median over the 8 bursts of one call (phones: 2 new agents per run)"

    def ranges(*series: Series) -> str:
        widest = [fmt(max(s["burst_range"])) for s in series]
        return f"widest spread of the bursts within one call: {' / '.join(widest)} ms (phone / baresip)"

    return [
        Figure(
            "6a",
            "media round trip, G.722 ptime 20",
            "ms",
            ph["20"]["rtt"],
            bs["20"]["rtt"],
            f"{method}; phone jitter buffer = firmware defaults (init 0, min pre 0, max pre 40, max "
            f"120 ms); {ranges(ph['20'], bs['20'])}.",
        ),
        Figure(
            "6b",
            "media round trip, G.722 ptime 10",
            "ms",
            ph["10"]["rtt"],
            bs["10"]["rtt"],
            f"{method}; baresip: `ptime=10` on the account; {ranges(ph['10'], bs['10'])}.",
        ),
        Figure(
            "6c",
            "media round trip, G.722 ptime 10, tuned jitter",
            "ms",
            ph["10-tuned"]["rtt"],
            note="jitter init 0, min pre 0, max pre 10, max 50 ms (the design notes' 22.8 ms setting); "
            f"widest spread of the bursts within one call: {fmt(max(ph['10-tuned']['burst_range']))} ms.",
        ),
    ]


def _resources(res: Results) -> list[Figure]:
    in_call_phone = [v for r in res.phone_rtt.values() for v in r["rss"]]
    in_call_baresip = [v for r in res.baresip_rtt.values() for v in r["rss"]]
    idle = res.idle
    totals = (
        f"utime+stime over the whole window: phone {fmt(idle['phone']['total'][0])} %, "
        f"baresip {fmt(idle['baresip']['total'][0])} %"
    )
    return [
        Figure(
            "8a",
            "RSS idle (just registered)",
            "MiB",
            res.phone_start["rss"],
            res.baresip_start["rss"],
            "VmRSS of the agent process (the whole phone: Python, pjsua2, UI, sim board) and of baresip.",
        ),
        Figure(
            "8b",
            "RSS in a call",
            "MiB",
            in_call_phone,
            in_call_baresip,
            "VmRSS of both ends of every round-trip call (G.722, media flowing, recorder running).",
        ),
        Figure(
            "8c",
            "idle CPU, registered",
            "% of a core",
            idle["phone"]["windows"],
            idle["baresip"]["windows"],
            f"1 s windows (sum of the threads' schedstat run time), both processes at once; {totals}. "
            f"Phone RSS after it: {fmt(idle['phone']['rss'][0])} MiB.",
        ),
    ]


def _cusax(res: Results) -> list[Figure]:
    rows = []
    for key, size in (("5c", "1000"), ("5d", "10000")):
        c = res.cusax[size]
        rows.append(
            Figure(
                key,
                f"INVITE -> ringing, verified caller ID, {int(size):,} contacts",
                "ms",
                c["frame"],
                note=f"in-process (bench/cusax.py): the state holds {int(size):,} roster contacts with "
                "their vCards' tels (2 each); `IncomingCall` for a random contact's number posted on the "
                "loop (what the engine does from `onIncomingCall`) -> `show()` of the frame with "
                f"'<name> \u2713' (RFC 7081 verified). Tel index: {fmt(c['index_kib'][0])} KiB.",
            )
        )
    return rows


def _memory(res: Results) -> list[Figure]:
    r, sm, soak = res.roster_rss, res.state_memory, res.soak
    calls = len(soak["caller"])
    left = fmt(summarize(r["vcards_1000"]).median)
    growth = ", ".join(
        f"{who} {fmt(soak[who][0])} -> {fmt(soak[who][-1])} MiB" for who in ("caller", "callee")
    )
    return [
        Figure(
            "8d",
            "RSS logged into XMPP, 1,000 contacts",
            "MiB",
            r["rss_1000"],
            note="VmRSS of a phone agent registered (SIP) and online on a lab Prosody whose roster "
            "for it holds 1,000 contacts (written to Prosody's storage); read 1 s after the roster "
            "was loaded and the vCard queue drained or 5 s passed (median vCard requests still "
            f"pending: {left}; the contacts have no cards). Same set-up with a 1-contact roster: "
            f"{fmt(summarize(r['rss_1']).median)} MiB (N={len(r['rss_1'])}); a fresh agent each run.",
        ),
        Figure(
            "8e",
            "state memory with 1,000 contacts + vCards (in-process)",
            "KiB",
            [b / 1024 for b in sm["1000"]],
            note="tracemalloc of the firmware's `PhoneState` after login with 1,000 contacts, their "
            "names and vCard tels (2 each) and the tel index, built while tracing (not a process "
            f"RSS); the same with an empty roster: {fmt(sm['0'][0] / 1024)} KiB.",
        ),
        Figure(
            "8f",
            f"RSS growth while pjsip holds the ended calls, {calls:,} calls, caller",
            "KiB/call",
            [kib_per_call(soak["caller"])],
            note=f"{calls:,} calls run (`--soak-calls N`; the issue's long variant is 1,000) between two "
            "phone agents through Kamailio, each answered with RTP both ways, then hung up; at most "
            f"15 calls/s (median {fmt(summarize(soak['call_ms']).median)} ms per call); least-squares "
            f"slope of VmRSS after each call, after 3 warm-up calls; {growth}. Over UDP pjsip keeps "
            "each ended call's transactions and dialog 32 s (64*T1), so this is what a call costs "
            "for 32 s, and the curve flattens once 32 s of calls are held. See the RSS plot.",
        ),
        Figure(
            "8g",
            f"RSS growth while pjsip holds the ended calls, {calls:,} calls, callee",
            "KiB/call",
            [kib_per_call(soak["callee"])],
            note="as 8f, the called phone.",
        ),
        Figure(
            "8h",
            f"RSS left per call once pjsip released them, {calls:,} calls, caller",
            "KiB/call",
            [_left_per_call(soak["caller_retained"], calls)],
            note="the soak of 8f: VmRSS after gc and malloc_trim (agent op `memory`) once pjsip holds "
            "no dialog (firmware/lab/soak.py `wait_released`, "
            f"{fmt(soak['release_s'][0])} s after the last call), after the warm-up and after the "
            f"counted calls: {_retained(soak, 'caller')}. What remains is heap fragmentation, a share of "
            "the peak; tests/resilience/test_soak.py holds it to a budget.",
        ),
        Figure(
            "8i",
            f"RSS left per call once pjsip released them, {calls:,} calls, callee",
            "KiB/call",
            [_left_per_call(soak["callee_retained"], calls)],
            note=f"as 8h, the called phone: {_retained(soak, 'callee')}.",
        ),
    ]


def _left_per_call(retained: list[float], calls: int) -> float:
    return (retained[-1] - retained[0]) / calls


def _retained(soak: Series, who: str) -> str:
    before, after = soak[f"{who}_retained"]
    return f"{fmt(before / 1024)} -> {fmt(after / 1024)} MiB"


PROVISIONING_KEYS = {
    "6a": ("9a", "unchanged-profile poll (304), warm connection: wall"),
    "6ac": ("9b", "unchanged-profile poll (304), warm connection: phone CPU"),
    "6b": ("9c", "unchanged-profile poll (304), new connection: wall"),
    "6bc": ("9d", "unchanged-profile poll (304), new connection: phone CPU"),
    "7a": ("9e", "reprovision trigger (agent op) -> applied and registered"),
    "7b": ("9f", "SIP NOTIFY check-sync (sipp) -> applied and registered"),
}
PROVISIONING_NOTES = {
    "9a": "bench/provisioning.py: the real `deskphone provision-server` in its own process, the "
    "phone's Provisioner in the bench process; `check_once()` answered 304, the HTTPS connection "
    "reused (keep-alive).",
    "9b": "CPU (process_time) of the phone side only, same polls as 9a.",
    "9c": "as 9a, the connection closed before each poll: TCP + TLS handshake each time (the "
    "hourly poll of a real phone).",
    "9d": "CPU of the phone side, same polls as 9c.",
    "9e": "Kamailio + the reference provisioning service + a phone agent polling hourly; the "
    "profile's SIP account changed, then the agent's `reprovision` op (what the XMPP command "
    "calls); until Kamailio holds the new account's contact.",
    "9f": "as 9e, the trigger a SIP NOTIFY (Event: check-sync) sent by sipp through Kamailio; "
    "includes sipp's own start.",
}


def _provisioning(res: Results) -> list[Figure]:
    rows = []
    for f in res.provisioning:
        key, name = PROVISIONING_KEYS[f.key]
        rows.append(Figure(key, name, f.unit, f.phone, note=PROVISIONING_NOTES[key]))
    return rows


def build(res: Results) -> list[Figure]:
    figures = [
        *_startup(res),
        *_local(res),
        *_cusax(res),
        *_calls(res),
        *_rtt(res),
        *_resources(res),
        *_memory(res),
        *_provisioning(res),
    ]
    for f in figures:  # fail loudly on an empty series rather than print a hole
        summarize(f.phone)
    return sorted(figures, key=lambda f: _order(f.key))


def _order(key: str) -> tuple[int, str]:
    digits = "".join(ch for ch in key.split("/", maxsplit=1)[0] if ch.isdigit())
    return int(digits), key
