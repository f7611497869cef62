"""Message history on disk: one small JSON file per conversation under the state directory.

The state machine stays pure: it emits `PersistChat(peer, messages, unread)` whenever a
conversation changes (and `PersistChat(peer, ())` when it forgets one), and reads the history
back as one `ChatHistoryLoaded` event at start (`load()`).

- Coalesced: a flood of 100 messages/s becomes one write per conversation every `delay_s`; only
  the latest state of each conversation is written.
- Off the event loop: writes run on one worker thread (in order), so an SD card's fsync never
  stalls the loop that pumps SIP.
- Atomic and private: each file is written to a temporary file (mode 0600), fsync'ed, renamed
  over the old one, and the directory (mode 0700) fsync'ed: a power cut leaves the old file or the
  new one, never half of one.
- Bounded and defensive on load: at most MAX_FILES conversations (the most recent), files above
  MAX_FILE_BYTES skipped, anything malformed skipped with a log line.

File names are a hash of the peer's JID (a JID may hold any character); the JID is inside.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from firmware.events import ChatHistoryLoaded, SavedChat
from firmware.fsutil import atomic_write, sync_directory
from firmware.xmpp.model import ChatMessage

log = logging.getLogger(__name__)

VERSION = 1
SUFFIX = ".chat.json"
MAX_FILES = 200
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_MESSAGES = 200  # per file on load (the state machine keeps fewer)
DELAY_S = 2.0

Schedule = Callable[[float, Callable[[], None]], object]


def file_name(peer: str) -> str:
    return hashlib.sha256(peer.encode("utf-8", "surrogatepass")).hexdigest()[:32] + SUFFIX


def encode(peer: str, messages: tuple[ChatMessage, ...], unread: int) -> bytes:
    doc = {
        "version": VERSION,
        "peer": peer,
        "unread": unread,
        "messages": [
            {
                "body": m.body,
                "at": m.at.isoformat(),
                "outgoing": m.outgoing,
                "groupchat": m.groupchat,
                "sender": m.sender,
                "id": m.id,
                "truncated": m.truncated,
            }
            for m in messages
        ],
    }
    return json.dumps(doc, ensure_ascii=True, separators=(",", ":")).encode()


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("not a boolean")
    return value


def decode(data: bytes) -> SavedChat:
    """A file's content as a SavedChat; raises ValueError or TypeError on anything unexpected."""
    doc = json.loads(data)
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        raise ValueError("unknown format")
    peer = _str(doc["peer"])
    unread = doc.get("unread", 0)
    if not isinstance(unread, int) or isinstance(unread, bool) or unread < 0:
        raise ValueError("bad unread count")
    raw = doc["messages"]
    if not isinstance(raw, list):
        raise TypeError("messages is not a list")
    messages = []
    for item in raw[-MAX_MESSAGES:]:
        if not isinstance(item, dict):
            raise TypeError("message is not an object")
        at = datetime.fromisoformat(_str(item["at"]))
        messages.append(
            ChatMessage(
                peer=peer,
                body=_str(item["body"]),
                at=at,
                outgoing=_bool(item.get("outgoing", False)),
                groupchat=_bool(item.get("groupchat", False)),
                sender=_str(item.get("sender", "")),
                id=_str(item.get("id", "")),
                truncated=_bool(item.get("truncated", False)),
            )
        )
    return SavedChat(peer, tuple(messages), unread)


def _last_at(chat: SavedChat) -> float:
    if not chat.messages:
        return 0.0
    at = chat.messages[-1].at
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp()


class ChatStore:
    """The conversations' files in `directory`. `save` from the event loop; `close` at shutdown."""

    def __init__(self, directory: Path, schedule: Schedule | None = None, delay_s: float = DELAY_S) -> None:
        self.directory = directory
        self._schedule = schedule  # None: write at once (tests, tools)
        self._delay_s = delay_s
        self._pending: dict[str, tuple[tuple[ChatMessage, ...], int]] = {}
        self._scheduled = False
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chat-store")
        self.writes = 0  # files written or removed (tests, benchmarks)

    @classmethod
    def on_loop(cls, directory: Path, loop: asyncio.AbstractEventLoop, delay_s: float = DELAY_S) -> ChatStore:
        return cls(directory, loop.call_later, delay_s)

    # --- writing ------------------------------------------------------------------------

    def save(self, peer: str, messages: tuple[ChatMessage, ...], unread: int = 0) -> None:
        """Remember the conversation's latest state; it is written a moment later (or at once)."""
        self._pending[peer] = (messages, unread)
        if self._schedule is None:
            self.flush(wait=True)
        elif not self._scheduled:
            self._scheduled = True
            self._schedule(self._delay_s, self.flush)

    def flush(self, wait: bool = False) -> None:
        """Hand every pending conversation to the writer thread (and wait for it if `wait`)."""
        self._scheduled = False
        pending, self._pending = self._pending, {}
        if not pending:
            return
        future = self._worker.submit(self._write_all, pending)
        if wait:
            future.result()

    def close(self) -> None:
        """Write what is pending and stop the writer thread."""
        self.flush()
        self._worker.shutdown(wait=True)

    def _write_all(self, pending: dict[str, tuple[tuple[ChatMessage, ...], int]]) -> None:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            log.exception("chat history: cannot create %s", self.directory)
            return
        for peer, (messages, unread) in pending.items():
            try:
                if messages:
                    self._write(file_name(peer), encode(peer, messages, unread))
                else:
                    with contextlib.suppress(FileNotFoundError):
                        (self.directory / file_name(peer)).unlink()
                self.writes += 1
            except OSError:
                log.exception("chat history: cannot save %s", peer[:80])
        self._sync_directory()

    def _write(self, name: str, data: bytes) -> None:
        atomic_write(self.directory / name, data, sync_dir=False)  # one directory sync per batch

    def _sync_directory(self) -> None:
        with contextlib.suppress(OSError):
            sync_directory(self.directory)

    # --- reading ------------------------------------------------------------------------

    def load(self) -> ChatHistoryLoaded:
        """Every readable conversation, least recently active first (at most MAX_FILES)."""
        chats: list[SavedChat] = []
        try:
            paths = [p for p in self.directory.iterdir() if p.name.endswith(SUFFIX)]
        except OSError:
            return ChatHistoryLoaded(())
        for path in paths:
            try:
                if path.stat().st_size > MAX_FILE_BYTES:
                    log.warning("chat history: %s too large, skipped", path.name)
                    continue
                chat = decode(path.read_bytes())
            except (OSError, ValueError, TypeError, KeyError, RecursionError) as err:
                log.warning("chat history: %s unreadable, skipped: %s", path.name, err)
                continue
            if path.name != file_name(chat.peer):
                log.warning("chat history: %s is not %s's file, skipped", path.name, chat.peer[:80])
                continue
            chats.append(chat)
        chats.sort(key=_last_at)
        return ChatHistoryLoaded(tuple(chats[-MAX_FILES:]))
