"""Matching a SIP caller to a vCard tel (RFC 7081 section 3.5): tel_key and tel_uri."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.xmpp.tel import MAX_INPUT, tel_key, tel_uri

SAME_PARTY = [
    # (written one way, written another way)
    ("sip:+49 30 1234@example.org;user=phone", "tel:+49-30-1234"),
    ("tel:+49-30-1234", "+49 (30) 1234"),
    ("sip:%2B49301234@provider.net", "tel:+49.30.1234"),
    ("sips:+49301234@example.org", "tel:+49301234;phone-context=+49"),
    ("sip:alice@Example.org", "sip:alice@example.org"),
    ("sip:alice@example.org:5061;transport=tls", "<sip:alice@example.org>"),
    ('"Alice" <sips:Alice@EXAMPLE.ORG>;tag=1234', "sip:alice@example.org"),
    ("alice@example.org", "sip:alice@example.org?subject=hi"),
    ("tel:sip:bob@lab.test", "sip:bob@lab.test"),  # what Prosody's vcard_legacy makes of a SIP NUMBER
    ("tel:1234;ext=56", "1234"),
    ("tel:+1\u2011800\u2011555", "+1 800 555"),  # non-breaking hyphen
]


@pytest.mark.parametrize(("one", "other"), SAME_PARTY)
def test_the_same_party_gets_the_same_key(one: str, other: str) -> None:
    assert tel_key(one) == tel_key(other) != ""


def test_numbers_in_the_phones_own_domain_match_plain_numbers() -> None:
    assert tel_key("sip:1002@lab.test", "lab.test") == tel_key("1002") == "tel:1002"
    assert tel_key("sip:1002@LAB.test", "lab.test") == "tel:1002"
    # ... but a numeric user elsewhere stays a SIP address: 1002 at another domain is someone else.
    assert tel_key("sip:1002@elsewhere.example", "lab.test") == "sip:1002@elsewhere.example"
    assert tel_key("sip:1002@elsewhere.example;user=phone", "lab.test") == "tel:1002"


@pytest.mark.parametrize(
    ("different", "other"),
    [
        ("tel:+49301234", "tel:+49301235"),
        ("tel:0301234", "tel:+49301234"),  # national vs international: needs a dial plan
        ("sip:alice@example.org", "sip:alice@example.com"),
        ("sip:alice@example.org", "sip:alicia@example.org"),
    ],
)
def test_different_parties_do_not_match(different: str, other: str) -> None:
    assert tel_key(different) != tel_key(other)


@pytest.mark.parametrize(
    "junk",
    ["", "   ", "+", "mailto:a@b.c", "xmpp:alice@example.org", "http://x", "sip:@x", "sip:bob@", "tel:",
     "tel:abc", "hello world", "sip:bob@ex ample.org", "1234\x00", "sip:al\x07ice@x.org",
     "x" * (MAX_INPUT + 1)],
)  # fmt: skip
def test_what_is_no_phone_address_has_no_key(junk: str) -> None:
    assert tel_key(junk) == ""
    assert tel_uri(junk) is None or junk in ("tel:abc",)  # letters are dialable in a local tel URI


@pytest.mark.parametrize(
    ("value", "uri"),
    [
        ("+49 30 1234", "tel:+49301234"),
        ("tel:+49-30-1234", "tel:+49301234"),
        ("tel:1234;phone-context=example.com", "tel:1234;phone-context=example.com"),
        ("sip:+49 30 1234@Example.ORG;user=phone", "sip:+49301234@example.org;user=phone"),
        ("SIP:bob@LAB.test:5060", "sip:bob@lab.test:5060"),
        ("tel:sip:bob@lab.test", "sip:bob@lab.test"),
        ("  <sip:bob@lab.test>  ", "sip:bob@lab.test"),
        ("alice@example.org", "sip:alice@example.org"),
    ],
)
def test_tel_uri_makes_a_dialable_uri(value: str, uri: str) -> None:
    assert tel_uri(value) == uri


digits = st.text(alphabet="0123456789", min_size=1, max_size=15)
separators = st.sampled_from(["", " ", "-", ".", "(", ")", "/", "\u00a0", "\u2011"])


@given(st.booleans(), st.lists(st.tuples(digits, separators), min_size=1, max_size=5))
def test_separators_never_change_the_key(plus: bool, parts: list[tuple[str, str]]) -> None:
    bare = ("+" if plus else "") + "".join(d for d, _ in parts)
    written = ("+" if plus else "") + "".join(d + sep for d, sep in parts)
    assert tel_key(written) == tel_key("tel:" + written) == f"tel:{bare}"
    assert tel_key(f"sip:{bare}@any.example;user=phone") == f"tel:{bare}"


@given(st.text(max_size=300))
def test_any_text_gives_a_bounded_key_or_none_and_never_raises(text: str) -> None:
    key = tel_key(text, "lab.test")
    assert len(key) <= MAX_INPUT + 4
    uri = tel_uri(text)
    if uri is not None:
        assert uri.startswith(("tel:", "sip:", "sips:"))
        assert tel_key(uri, "lab.test") == key or key == ""  # the URI form keeps the identity


@given(
    st.from_regex(r"[a-z][a-z0-9._-]{0,10}", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9-]{0,10}\.[a-z]{2,5}", fullmatch=True),
)
def test_host_case_ports_and_parameters_do_not_matter(user: str, host: str) -> None:
    key = tel_key(f"sip:{user}@{host}")
    assert key == f"sip:{user}@{host}"
    assert tel_key(f"sips:{user}@{host.upper()}:5061;transport=tls?x=y") == key
    assert tel_key(f"<sip:{user}@{host}>;tag=abc") == key
    assert tel_key(tel_uri(f"sip:{user}@{host.upper()}") or "") == key
