"""The SIP side of RFC 7081: Call-Info hints read from hostile messages, SIP IM/presence refused,
and the 200 OK of a call read for its grouptextchat room."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.sip.call_info import MAX_VALUES, CallInfo, header_values, parse_call_info, xmpp_jid


def invite(*headers: str) -> str:
    start = [
        "INVITE sip:1002@lab.test SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5060",
        "From: <sip:1001@lab.test>;tag=1",
    ]
    head = "\r\n".join([*start, *headers, "Content-Length: 0"])
    return head + "\r\n\r\nv=0\r\nCall-Info: <xmpp:body@x.y>;purpose=impp\r\n"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["Call-Info: <xmpp:alice@lab.test>;purpose=impp"], CallInfo("alice@lab.test")),
        (['call-info:<xmpp:Alice@Lab.Test/phone>; PURPOSE = "IMPP"'], CallInfo("alice@lab.test")),
        (
            ["Call-Info: <http://x/icon.png>;purpose=icon, <xmpp:bob@lab.test>;purpose=impp"],
            CallInfo("bob@lab.test"),
        ),
        (["Call-Info: <xmpp:a@x.y>;purpose=impp", "Call-Info: <xmpp:b@x.y>;purpose=impp"], CallInfo("a@x.y")),
        (
            ["Call-Info: <xmpp:room@conference.lab.test?join>;purpose=grouptextchat"],
            CallInfo(None, "room@conference.lab.test"),
        ),
        (["Call-Info: <xmpp://alice%40lab.test>;purpose=impp"], CallInfo("alice@lab.test")),
        (["Call-Info: <xmpp:alice@lab.test>", "Call-Info: xmpp:bob@lab.test;purpose=impp"], CallInfo()),
        (["Call-Info: <sip:alice@lab.test>;purpose=impp"], CallInfo()),
        (["Call-Info: <xmpp:lab.test>;purpose=impp"], CallInfo()),  # a server, not a person
        (['Call-Info: <xmpp:"><script>@x>;purpose=impp, garbage;;;'], CallInfo()),
        (["Call-Info: <xmpp:a b@x.y>;purpose=impp"], CallInfo()),
        (["Call-Info: <xmpp:a@x_y>;purpose=impp"], CallInfo()),
        (["Call-Info: <xmpp:%ff%fe@x.y>;purpose=impp"], CallInfo()),
        (["Call-Info: <xmpp:" + "a" * 2000 + "@x.y>;purpose=impp"], CallInfo()),
        (["Call-Info: <xmpp:alice@lab.test", " >;purpose=impp"], CallInfo("alice@lab.test")),  # folded line
        ([], CallInfo()),
    ],
)
def test_call_info_hints(headers: list[str], expected: CallInfo) -> None:
    assert parse_call_info(invite(*headers)) == expected


def test_bounded_against_floods() -> None:
    flood = "Call-Info: " + ", ".join(["<http://x>;purpose=icon"] * 10_000) + ", <xmpp:a@x.y>;purpose=impp"
    assert len(header_values(invite(flood))) == MAX_VALUES
    assert parse_call_info(invite(flood)) == CallInfo()  # the claim beyond the bound is not read
    huge = invite("X-Pad: " + "p" * 200_000, "Call-Info: <xmpp:a@x.y>;purpose=impp")
    assert parse_call_info(huge) == CallInfo()  # past the bytes read


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_header_text_parses_without_raising(value: str) -> None:
    info = parse_call_info(invite("Call-Info: " + value.replace("\r", "").replace("\n", "")))
    for jid in (info.impp, info.group_chat):
        assert not jid or ("@" in jid and jid == jid.lower() and " " not in jid)


@pytest.mark.parametrize(
    ("uri", "jid"),
    [("xmpp:a@b.c", "a@b.c"), ("XMPP:A@B.C/res", "a@b.c"), ("xmpp:b.c", "b.c"), ("mailto:a@b.c", None),
     ("xmpp:@b.c", None), ("xmpp:a@", None), ("xmpp:a@b.c?message;body=hi", "a@b.c"), ("xmpp:a<@b.c", None)],
)  # fmt: skip
def test_xmpp_uri(uri: str, jid: str | None) -> None:
    assert xmpp_jid(uri) == jid


def test_sip_im_and_presence_subscriptions_are_refused() -> None:
    from firmware.sip.sip_im import refusal

    assert refusal("MESSAGE", "") == (403, b"IM over SIP is off: use XMPP")
    assert refusal("SUBSCRIBE", "presence;id=1") == (489, b"Bad Event")
    assert refusal("SUBSCRIBE", "Presence.winfo") == (489, b"Bad Event")
    assert refusal("SUBSCRIBE", "message-summary") is None  # voicemail indication: pjsua's
    assert refusal("SUBSCRIBE", "dialog") is None
    assert refusal("NOTIFY", "check-sync") is None
    assert refusal("INVITE", "") is None


def _prm(kind: int, rx: int, text: str) -> Any:
    rdata = SimpleNamespace(wholeMsg=text)
    tsx = SimpleNamespace(type=rx, src=SimpleNamespace(rdata=rdata))
    return SimpleNamespace(e=SimpleNamespace(type=kind, body=SimpleNamespace(tsxState=tsx)))


def test_the_200_ok_of_an_outgoing_call_is_read_for_its_group_chat() -> None:
    import pjsua2 as pj

    from firmware.sip.callbacks import _received

    ok = "SIP/2.0 200 OK\r\nCall-Info: <xmpp:huddle@conference.lab.test?join>;purpose=grouptextchat\r\n\r\n"
    assert parse_call_info(
        _received(_prm(pj.PJSIP_EVENT_TSX_STATE, pj.PJSIP_EVENT_RX_MSG, ok))
    ).group_chat == ("huddle@conference.lab.test")
    assert _received(_prm(pj.PJSIP_EVENT_TSX_STATE, pj.PJSIP_EVENT_TX_MSG, ok)) == ""
    assert _received(_prm(pj.PJSIP_EVENT_TIMER, pj.PJSIP_EVENT_RX_MSG, ok)) == ""
    assert _received(SimpleNamespace()) == ""
