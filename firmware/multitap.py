"""Multi-tap text entry on a phone keypad, as a pure value: `press(entry, key) -> entry`.

Letters (modes abc, Abc, ABC):

    1  . , ? ! ' " - ( ) @ / : ; & + = _ 1      2 a b c 2   3 d e f 3
    4  g h i 4     5 j k l 5     6 m n o 6     7 p q r s 7
    8  t u v 8     9 w x y z 9   0 space 0

Pressing the same key again within the pause cycles through its characters; the character
being chosen is *pending* (the screen shows it inverted). A pause (the state machine's
MULTITAP timer, `commit`) or any other key makes it final.

    *     cycles the case: Abc (capital at the start of a sentence) -> abc -> ABC -> Abc
    #     toggles 123 mode: digits go in at once; there `*` cycles * + #
    BACK  drops the pending character, else deletes the last one

The text is bounded (`limit`, 500 by default): keys that would add a character beyond it are
ignored. Every character produced is printable ASCII, so the display font has all of them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from hal.types import Key

MAX_TEXT = 500


class Case(enum.Enum):
    SENTENCE = "Abc"  # a capital at the start of the text and after . ! ?
    LOWER = "abc"
    UPPER = "ABC"


CASE_CYCLE: tuple[Case, ...] = (Case.SENTENCE, Case.LOWER, Case.UPPER)
DIGITS_INDICATOR = "123"

LETTER_KEYS: Mapping[Key, str] = MappingProxyType(
    {
        Key.D1: ".,?!'\"-()@/:;&+=_1",
        Key.D2: "abc2",
        Key.D3: "def3",
        Key.D4: "ghi4",
        Key.D5: "jkl5",
        Key.D6: "mno6",
        Key.D7: "pqrs7",
        Key.D8: "tuv8",
        Key.D9: "wxyz9",
        Key.D0: " 0",
    }
)
DIGIT_KEYS: Mapping[Key, str] = MappingProxyType({k: k.value for k in LETTER_KEYS})
DIGIT_MODE_STAR = "*+#"
SENTENCE_END = ".!?"
TEXT_KEYS = frozenset({*LETTER_KEYS, Key.STAR, Key.HASH, Key.BACK})


@dataclass(frozen=True, slots=True)
class Entry:
    text: str = ""  # committed characters
    case: Case = Case.SENTENCE
    digits: bool = False  # 123 mode
    pending: Key | None = None  # the key being cycled, if any
    index: int = 0  # position in that key's characters
    limit: int = MAX_TEXT

    @property
    def pending_char(self) -> str:
        if self.pending is None:
            return ""
        chars = _cycle(self.pending, self.digits)
        return _cased(chars[self.index % len(chars)], self.case, self.text)

    @property
    def shown(self) -> str:
        """What the screen shows: the text and the pending character."""
        return self.text + self.pending_char

    @property
    def indicator(self) -> str:
        return DIGITS_INDICATOR if self.digits else self.case.value

    @property
    def full(self) -> bool:
        return len(self.text) >= self.limit


def _cycle(key: Key, digits: bool) -> str:
    if digits:
        return DIGIT_MODE_STAR if key is Key.STAR else DIGIT_KEYS[key]
    return LETTER_KEYS[key]


def at_sentence_start(text: str) -> bool:
    stripped = text.rstrip(" ")
    return not stripped or (stripped[-1] in SENTENCE_END and len(stripped) < len(text))


def _cased(ch: str, case: Case, before: str) -> str:
    if not ch.isalpha() or case is Case.LOWER:
        return ch
    if case is Case.UPPER or at_sentence_start(before):
        return ch.upper()
    return ch


def commit(entry: Entry) -> Entry:
    """The pending character becomes part of the text (the pause timer fired, or another key came)."""
    if entry.pending is None:
        return entry
    if entry.full:
        return replace(entry, pending=None, index=0)
    return replace(entry, text=entry.text + entry.pending_char, pending=None, index=0)


def press(entry: Entry, key: Key) -> Entry:
    """One key press. Keys that take no part in text entry leave the entry unchanged."""
    if key is Key.BACK:
        if entry.pending is not None:
            return replace(entry, pending=None, index=0)
        return replace(entry, text=entry.text[:-1])
    if key is Key.HASH:
        return replace(commit(entry), digits=not entry.digits)
    if key is Key.STAR and not entry.digits:
        done = commit(entry)
        return replace(done, case=CASE_CYCLE[(CASE_CYCLE.index(done.case) + 1) % len(CASE_CYCLE)])
    if key not in LETTER_KEYS and key is not Key.STAR:
        return entry
    if entry.pending is key:
        return replace(entry, index=(entry.index + 1) % len(_cycle(key, entry.digits)))
    done = commit(entry)
    if done.full:
        return done
    if entry.digits and key is not Key.STAR:
        return replace(done, text=done.text + key.value)  # 123 mode: no cycling, no pause
    return replace(done, pending=key, index=0)


def typed(entry: Entry, keys: list[Key]) -> Entry:
    """Press `keys` in order (a convenience for tests and the lab)."""
    for key in keys:
        entry = press(entry, key)
    return entry
