"""How a conversation breaks into display lines: shared by the conversation screen and the state
machine (which scrolls by these lines and must know where the top is). Pure and cached.

A panel of `size` holds a grid of `conversation_grid(size)` (columns, rows) of small text below
the status bar: 21 x 5 on 128x64, 42 x 5 on 256x64. Each message is word-wrapped on its own
lines; a room message starts with the sender's nick.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from firmware.ui.drawing import FontName
from firmware.ui.fonts import ELLIPSIS, METRICS, wrap
from firmware.xmpp.model import ChatMessage

SMALL = FontName.SMALL
TOP = 12  # first text row below the status bar's rule
MARGIN = 2  # columns of pixels for the message bar on the left (incoming) or right (outgoing)
MAX_MESSAGE_LINES = 60  # a longer message is cut with '...' (bodies are bounded before this anyway)


def conversation_grid(size: tuple[int, int]) -> tuple[int, int]:
    """(columns, rows) of message text on a panel of `size`."""
    width, height = size
    m = METRICS[SMALL]
    return max(1, (width - MARGIN) // m.char_w), max(1, (height - TOP) // m.line_h)


def message_text(message: ChatMessage) -> str:
    body = message.body
    if message.truncated and not body.endswith(ELLIPSIS):
        body += ELLIPSIS
    if message.groupchat and message.sender and not message.outgoing:
        return f"{message.sender}: {body}"
    return body


@lru_cache(maxsize=4096)
def message_lines(message: ChatMessage, cols: int) -> tuple[str, ...]:
    """The message word-wrapped to `cols` characters (at least one line, even when empty)."""
    lines = wrap(message_text(message), cols * METRICS[SMALL].char_w, SMALL, MAX_MESSAGE_LINES)
    return lines or ("",)


def total_lines(messages: Sequence[ChatMessage], cols: int) -> int:
    return sum(len(message_lines(m, cols)) for m in messages)


def max_scroll(messages: Sequence[ChatMessage], size: tuple[int, int]) -> int:
    """How many lines a conversation can scroll back: until its first line is at the top."""
    cols, rows = conversation_grid(size)
    return max(0, total_lines(messages, cols) - rows)
