"""Multi-tap text entry (firmware/multitap.py): tables, modes, bounds, and hypothesis properties."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.multitap import (
    CASE_CYCLE,
    LETTER_KEYS,
    MAX_TEXT,
    TEXT_KEYS,
    Case,
    Entry,
    at_sentence_start,
    commit,
    press,
    typed,
)
from hal.types import Key

D = {ch: Key(ch) for ch in "0123456789"}


def keys(spec: str) -> list[Key]:
    """'44 444' -> the key presses; a space in the spec is the pause (handled by `enter`)."""
    return [D[ch] if ch in D else Key(ch) for ch in spec]


def enter(entry: Entry, spec: str) -> Entry:
    """Type groups of presses separated by pauses: '44 444' is h, pause, i."""
    for group in spec.split(" "):
        entry = commit(typed(entry, keys(group)))
    return entry


LOWER = Entry(case=Case.LOWER)


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        ("44 444", "hi"),
        ("2 22 222 2222", "abc2"),
        ("7777 77777", "s7"),
        ("9999 99999", "z9"),
        ("0 00", " 0"),
        ("1 11 111 1111", ".,?!"),
        ("222 2 8", "cat"),
        ("", ""),
    ],
)
def test_lower_case_letters(spec: str, text: str) -> None:
    assert enter(LOWER, spec).text == text


def test_every_letter_and_digit_is_reachable() -> None:
    produced = set("".join(LETTER_KEYS.values()))
    assert set(string.ascii_lowercase) <= produced
    assert set(string.digits) <= produced
    assert " " in produced


def test_another_key_commits_without_a_pause() -> None:
    entry = typed(LOWER, keys("4433"))  # h then e, no pause between different keys
    assert entry.text == "h" and entry.pending_char == "e"
    assert commit(entry).text == "he"


def test_same_key_cycles_and_wraps() -> None:
    entry = typed(LOWER, [Key.D2] * 5)  # a b c 2 a
    assert entry.pending_char == "a" and entry.text == ""


def test_sentence_case_capitalises_sentence_starts() -> None:
    entry = enter(Entry(), "44 444 1111 0 44 444")  # "Hi! hi" typed in Abc mode
    assert entry.text == "Hi! Hi"
    assert enter(Entry(), "44 444 0 44").text == "Hi h"


def test_star_cycles_the_case() -> None:
    entry = Entry()
    seen = []
    for _ in range(len(CASE_CYCLE) + 1):
        seen.append(entry.indicator)
        entry = press(entry, Key.STAR)
    assert seen == ["Abc", "abc", "ABC", "Abc"]
    upper = press(press(Entry(), Key.STAR), Key.STAR)
    assert enter(upper, "44 444").text == "HI"


def test_star_commits_the_pending_character() -> None:
    entry = press(typed(LOWER, [Key.D4]), Key.STAR)
    assert entry.text == "g" and entry.pending is None and entry.case is Case.UPPER


def test_hash_toggles_digits_mode() -> None:
    entry = press(typed(LOWER, [Key.D4]), Key.HASH)
    assert entry.indicator == "123" and entry.text == "g"
    entry = typed(entry, keys("1002"))
    assert entry.text == "g1002" and entry.pending is None  # digits go in at once
    entry = press(entry, Key.HASH)
    assert entry.indicator == "abc"


def test_star_in_digits_mode_cycles_symbols() -> None:
    entry = typed(Entry(digits=True), [Key.STAR, Key.STAR])
    assert entry.pending_char == "+"
    assert commit(typed(entry, [Key.D4])).text == "+4"


def test_back_drops_pending_then_deletes() -> None:
    entry = typed(LOWER, keys("44"))
    entry = commit(entry)
    entry = typed(entry, keys("33"))
    assert entry.shown == "he"
    entry = press(entry, Key.BACK)
    assert entry.shown == "h" and entry.pending is None
    entry = press(entry, Key.BACK)
    assert entry.shown == ""
    assert press(entry, Key.BACK) == entry


def test_length_is_bounded() -> None:
    entry = Entry(limit=3)
    entry = enter(entry, "2 2 2 2 2")
    assert entry.text == "Aaa"
    assert press(entry, Key.D2).pending is None  # nothing starts beyond the limit
    assert typed(press(entry, Key.HASH), keys("123")).text == "Aaa"


def test_non_text_keys_change_nothing() -> None:
    entry = typed(LOWER, keys("44"))
    for key in set(Key) - TEXT_KEYS:
        assert press(entry, key) == entry


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("", True),
        ("Hi", False),
        ("Hi. ", True),
        ("Hi.", False),
        ("Hi!  ", True),
        ("e.g", False),
        ("   ", True),
    ],
)
def test_sentence_start(text: str, start: bool) -> None:
    assert at_sentence_start(text) is start


# --- hypothesis ---------------------------------------------------------------------------

ACTIONS = st.lists(st.one_of(st.sampled_from(sorted(TEXT_KEYS, key=lambda k: k.value)), st.just("pause")))
PRINTABLE = set(string.printable) - set("\t\n\r\x0b\x0c")


@settings(max_examples=300, deadline=None)
@given(ACTIONS, st.integers(min_value=0, max_value=40))
def test_any_key_sequence_stays_bounded_and_printable(actions: list[object], limit: int) -> None:
    entry = Entry(limit=limit)
    for action in actions:
        before = entry
        entry = commit(entry) if action == "pause" else press(entry, action)  # type: ignore[arg-type]
        assert len(entry.text) <= limit
        assert set(entry.shown) <= PRINTABLE
        assert entry.pending is None or entry.pending in (*LETTER_KEYS, Key.STAR)
        assert commit(commit(entry)) == commit(entry)  # committing is idempotent
        if action == Key.BACK:
            assert len(entry.shown) == max(0, len(before.shown) - 1)


_CHAR_KEYS = {ch: (key, i) for key, chars in LETTER_KEYS.items() for i, ch in enumerate(chars)}


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=string.ascii_lowercase + " .,?!0123456789", max_size=60))
def test_typing_any_lower_case_text_round_trips(text: str) -> None:
    """Every character typed as its key pressed i+1 times, then a pause: the text comes back."""
    entry = LOWER
    for ch in text:
        key, index = _CHAR_KEYS[ch]
        entry = commit(typed(entry, [key] * (index + 1)))
    assert entry.text == text


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=30))
def test_upper_mode_types_upper_case(text: str) -> None:
    entry = Entry(case=Case.UPPER)
    for ch in text:
        key, index = _CHAR_KEYS[ch]
        entry = commit(typed(entry, [key] * (index + 1)))
    assert entry.text == text.upper()


def test_max_text_default() -> None:
    assert Entry().limit == MAX_TEXT == 500
