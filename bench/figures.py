"""From raw results to the table's rows: names, units and the note saying what each row measured."""

from __future__ import annotations

from dataclasses import dataclass, field

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


def build(res: Results) -> list[Figure]:
    figures = [*_startup(res), *_local(res), *_calls(res), *_rtt(res), *_resources(res)]
    for f in figures:  # fail loudly on an empty series rather than print a hole
        summarize(f.phone)
    return sorted(figures, key=lambda f: _order(f.key))


def _order(key: str) -> tuple[int, str]:
    digits = "".join(ch for ch in key.split("/", maxsplit=1)[0] if ch.isdigit())
    return int(digits), key
