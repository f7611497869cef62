"""The status screen's text (issue 4): what the phone knows about its provisioning and its two
accounts, as lines of small text. Pure; the state machine uses it to bound scrolling
(firmware/machine_status.py), the screen to draw (firmware/ui/status_screens.py).

    Provisioning: failed          Provisioning: ok
    Error: cannot reach           Profile: v42
     prov.example.org: ...        Updated: 17 May 14:05
    Profile: v42                  Checked: 17 May 15:05
    ...                           Server: prov.example.org/p/b827eb123456.json
    Phone: registered             Phone: registered
     1001@pbx.example.com          1001@pbx.example.com
    Chat: online                  Chat: online
     alice@example.org             alice@example.org

Each entry is "Label: value", word-wrapped; its further lines are indented by one column.
"""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType

from firmware.events import RegState
from firmware.provisioning.events import ProvState
from firmware.state import PhoneState
from firmware.ui.fonts import ELLIPSIS, METRICS, sanitize
from firmware.ui.layout import SMALL, Layout
from firmware.xmpp.model import ChatState

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MAX_ENTRY_LINES = 12  # a 200-character error (the provisioner's bound) shows whole on 21 columns

PROV_WORDS = MappingProxyType(
    {
        ProvState.STARTING: "checking",
        ProvState.OK: "ok",
        ProvState.FAILED: "failed",
        ProvState.NEEDS_CREDENTIALS: "sign-in needed",
    }
)
REG_WORDS = MappingProxyType(
    {
        RegState.UNCONFIGURED: "not configured",
        RegState.REGISTERING: "connecting",
        RegState.REGISTERED: "registered",
        RegState.AUTH_FAILED: "wrong password",
        RegState.UNREACHABLE: "unreachable",
        RegState.FAILED: "failed",
    }
)
CHAT_WORDS = MappingProxyType(
    {
        ChatState.DISABLED: "off",
        ChatState.WAITING: "waiting for Phone",
        ChatState.CONNECTING: "connecting",
        ChatState.ONLINE: "online",
        ChatState.AUTH_FAILED: "wrong password",
        ChatState.TLS_FAILED: "TLS error",
        ChatState.UNREACHABLE: "unreachable",
        ChatState.FAILED: "failed",
    }
)


def when(moment: datetime, now: datetime) -> str:
    """ "17 May 14:05" in the phone's time zone (that of `now`); the year instead of the time when
    it is not this year's."""
    if moment.tzinfo is not None and now.tzinfo is not None:
        moment = moment.astimezone(now.tzinfo)
    date = f"{moment.day} {_MONTHS[moment.month - 1]}"
    if moment.year != now.year:
        return f"{date} {moment.year}"
    return f"{date} {moment.hour:02d}:{moment.minute:02d}"


def _wrapped(text: str, cols: int, first_cols: int) -> list[str]:
    """`text` on lines of `cols` characters (the first of `first_cols`), broken at a space unless that
    would leave a line less than half full (a URL breaks anywhere); at most MAX_ENTRY_LINES."""
    rest = sanitize(text[: cols * MAX_ENTRY_LINES * 2])
    lines: list[str] = []
    width = first_cols
    while rest:
        if len(lines) == MAX_ENTRY_LINES - 1 and len(rest) > width:
            lines.append(rest[: width - 1].rstrip() + ELLIPSIS)
            break
        if len(rest) <= width:
            lines.append(rest)
            break
        space = rest.rfind(" ", 0, width + 1)
        slash = max(rest.rfind("/", 0, width), rest.rfind(".", 0, width)) + 1  # in a URL: after / or .
        cut = space if space > width // 2 else slash if slash > width // 2 else width
        lines.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
        width = cols
    return lines


def _entry(label: str, value: str, cols: int, *more: str) -> list[str]:
    """ "Label: value" wrapped to `cols`, its further lines and then each of `more` indented by one."""
    first = _wrapped(f"{label}: {value}", cols - 1, cols)
    lines = first[:1] + [" " + line for line in first[1:]]
    for text in more:
        if text:
            lines += [" " + line for line in _wrapped(text, cols - 1, cols - 1)]
    return lines


def _registration(state: PhoneState) -> str:
    reg = state.registration
    words = REG_WORDS[reg.state]
    detail = " ".join(part for part in (str(reg.code) if reg.code else "", reg.reason) if part)
    if reg.state in (RegState.FAILED, RegState.UNCONFIGURED) and detail:
        words += f" ({detail})"
    return words


def _chat(state: PhoneState) -> str:
    chat = state.chat
    words = CHAT_WORDS[chat.state]
    if chat.state is ChatState.FAILED and chat.reason:
        words += f": {chat.reason}"
    return words


def status_lines(state: PhoneState, cols: int) -> tuple[str, ...]:
    """Every line of the status screen, top to bottom, for a width of `cols` characters."""
    prov, settings = state.provisioning, state.settings
    lines: list[str] = []
    if prov.state is None:
        lines += _entry("Provisioning", "off", cols)
    else:
        lines += _entry("Provisioning", PROV_WORDS[prov.state], cols)
        if prov.error:
            lines += _entry("Error", prov.error, cols)
        lines += _entry("Profile", f"v{prov.version}" if prov.version else "none", cols)
        if prov.last_update is not None:
            lines += _entry("Updated", when(prov.last_update, state.now), cols)
        if prov.last_check is not None:
            lines += _entry("Checked", when(prov.last_check, state.now), cols)
        if prov.warnings:
            lines += _entry("Warnings", str(len(prov.warnings)), cols, *prov.warnings)
        if prov.url:
            lines += _entry("Server", prov.url, cols)
    lines += _entry("Phone", _registration(state), cols, settings.sip_account)
    if state.chat.enabled:
        lines += _entry("Chat", _chat(state), cols, settings.chat_account)
    security = settings.cusax.security  # RFC 7081 section 8: how each leg is protected
    if security.sip is not None and security.xmpp is not None:
        legs = (f"Phone: {security.sip.describe()}", f"Chat: {security.xmpp.describe()}")
        lines += _entry("Security", security.summary(), cols, *legs)
    return tuple(lines)


def status_hint(state: PhoneState) -> str:
    """What SELECT does on the status screen ("" when nothing)."""
    prov = state.provisioning.state
    if prov is None:
        return ""
    return "Select: sign in" if prov is ProvState.NEEDS_CREDENTIALS else "Select: update now"


def status_grid(state: PhoneState, size: tuple[int, int]) -> tuple[int, int]:
    """(columns, rows) of the status screen's text on a panel of `size`: the list rows under the
    status bar, one fewer when the footer has a hint."""
    lay = Layout(*size)
    cols = max(2, (lay.width - 2) // METRICS[SMALL].char_w)
    rows = lay.list_rows - (1 if status_hint(state) else 0)
    return cols, max(1, rows)


def max_status_scroll(state: PhoneState, size: tuple[int, int]) -> int:
    cols, rows = status_grid(state, size)
    return max(0, len(status_lines(state, cols)) - rows)
