"""Dialplan: what a person typed or picked -> the SIP URI the phone calls, or a short display error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.dialplan import MAX_DIGITS, DialplanError, to_uri

DOMAIN = "pbx.example.org"
DISPLAY_WIDTH = 21  # characters on one line of the display


@pytest.mark.parametrize(
    ("text", "uri"),
    [
        # keypad digits and star codes
        ("1002", f"sip:1002@{DOMAIN}"),
        ("0", f"sip:0@{DOMAIN}"),
        ("*69", f"sip:*69@{DOMAIN}"),
        ("*97", f"sip:*97@{DOMAIN}"),
        ("**", f"sip:**@{DOMAIN}"),
        ("  1002\n", f"sip:1002@{DOMAIN}"),
        ("1" * MAX_DIGITS, f"sip:{'1' * MAX_DIGITS}@{DOMAIN}"),
        # user@host becomes a sip: URI
        ("alice@example.org", "sip:alice@example.org"),
        ("alice@example.org:5070", "sip:alice@example.org:5070"),
        ("alice.smith@10.0.0.1", "sip:alice.smith@10.0.0.1"),
        ("1002@pbx.local;transport=tcp", "sip:1002@pbx.local;transport=tcp"),
        ("sipsmith@example.org", "sip:sipsmith@example.org"),  # a user called sips..., not sips:
        ("sipper@example.org", "sip:sipper@example.org"),
        # full URIs are returned unchanged
        ("sip:alice@example.org", "sip:alice@example.org"),
        ("sips:bob@example.org", "sips:bob@example.org"),
        ("sip:alice@example.org:5060", "sip:alice@example.org:5060"),
        ("sips:bob@example.org:5061;transport=tls", "sips:bob@example.org:5061;transport=tls"),
        ("sip:alice@example.org;transport=tcp;lr", "sip:alice@example.org;transport=tcp;lr"),
        ("sip:1002@192.168.1.10:5080;user=phone", "sip:1002@192.168.1.10:5080;user=phone"),
        ("sip:alice@[2001:db8::1]:5060", "sip:alice@[2001:db8::1]:5060"),
        ("sip:alice@[::1]", "sip:alice@[::1]"),
        ("sip:a%20b@example.org", "sip:a%20b@example.org"),
        ("sip:alice@example.org:1", "sip:alice@example.org:1"),
        ("sip:alice@example.org:65535", "sip:alice@example.org:65535"),
        ("SIP:Alice@Example.ORG", "SIP:Alice@Example.ORG"),  # the scheme is case-insensitive
        ("Sips:bob@example.org", "Sips:bob@example.org"),
        ("  sip:alice@example.org  ", "sip:alice@example.org"),
    ],
)
def test_valid_targets(text: str, uri: str) -> None:
    assert to_uri(text, DOMAIN) == uri


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Nothing dialled"),
        ("   ", "Nothing dialled"),
        ("\t\n", "Nothing dialled"),
        # too many digits
        ("1" * (MAX_DIGITS + 1), "Number too long"),
        ("1" * 100, "Number too long"),
        ("*" + "1" * MAX_DIGITS, "Number too long"),
        # spaces and stray characters
        ("10 02", "Invalid number"),
        ("1002#", "Invalid number"),
        ("+1 555 0100", "Invalid number"),
        ("alice", "Invalid number"),
        ("tel:+15550100", "Invalid number"),
        ("user:pw@example.org", "Invalid number"),
        ("\u0661\u0662\u0663", "Invalid number"),  # Arabic-Indic digits are not keypad digits
        ("\u00b2", "Invalid number"),  # superscript two: str.isdigit() is True for it
        ("\uff11\uff10\uff10\uff12", "Invalid number"),  # fullwidth digits
        # malformed addresses and URIs
        ("sip:", "Invalid address"),
        ("sips:", "Invalid address"),
        ("sip:@example.org", "Invalid address"),
        ("@example.org", "Invalid address"),
        ("alice@", "Invalid address"),
        ("alice @example.org", "Invalid address"),
        ("sip:alice@exa mple.org", "Invalid address"),
        ("sip:alice@example.org:", "Invalid address"),
        ("sip:alice@example.org:123456", "Invalid address"),
        ("sip:alice@example.org;", "Invalid address"),
        ("sip:alice@-example.org", "Invalid address"),
        ("<sip:alice@example.org>", "Invalid number"),
        ("sip:alice@example.org?subject=hi", "Invalid address"),
        ("sip:ålice@example.org", "Invalid address"),
        ("ålice@example.org", "Invalid address"),
        ("sip:alice@bücher.de", "Invalid address"),
        ("sip:\u212aelvin@example.org", "Invalid address"),  # Kelvin sign must not case-fold to k
        ("sip:alice@example.org:\uff15\uff10\uff16\uff10", "Invalid address"),  # fullwidth port digits
        ("sip:alice@example.org:5060\u0000", "Invalid address"),
        ("sip:alice@example.org\u200b", "Invalid address"),  # zero-width space
        ("sip:☎@example.org", "Invalid address"),
        # bad ports
        ("sip:alice@example.org:70000", "Invalid port"),
        ("sip:alice@example.org:65536", "Invalid port"),
        ("sip:alice@example.org:0", "Invalid port"),
        ("alice@example.org:99999", "Invalid port"),
        # no user part
        ("sip:example.org", "Address has no user"),
        ("sips:example.org:5061", "Address has no user"),
    ],
)
def test_invalid_targets(text: str, message: str) -> None:
    with pytest.raises(DialplanError) as err:
        to_uri(text, DOMAIN)
    assert str(err.value) == message
    assert 0 < len(str(err.value)) <= DISPLAY_WIDTH


def test_dialplan_error_is_a_value_error() -> None:
    assert issubclass(DialplanError, ValueError)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_gives_a_uri_or_a_short_error(text: str) -> None:
    try:
        uri = to_uri(text, DOMAIN)
    except DialplanError as err:
        assert 0 < len(str(err)) <= DISPLAY_WIDTH
    else:
        assert uri.lower().startswith(("sip:", "sips:"))
        assert uri.isascii()
        assert not any(ch.isspace() for ch in uri)
        assert "@" in uri


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789*", min_size=1, max_size=MAX_DIGITS))
def test_keypad_strings_always_dial(digits: str) -> None:
    assert to_uri(digits, DOMAIN) == f"sip:{digits}@{DOMAIN}"


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="0123456789*", min_size=MAX_DIGITS + 1, max_size=80))
def test_keypad_strings_too_long(digits: str) -> None:
    with pytest.raises(DialplanError, match=r"^Number too long$"):
        to_uri(digits, DOMAIN)
