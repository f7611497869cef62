"""Message history on disk (firmware/chat_store.py) and its wiring in the dispatcher."""

from __future__ import annotations

import asyncio
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from firmware import commands as c
from firmware.chat_store import MAX_FILE_BYTES, MAX_FILES, ChatStore, decode, encode, file_name
from firmware.dispatcher import Dispatcher, Timers
from firmware.events import ChatHistoryLoaded, Event, SavedChat
from firmware.machine import step
from firmware.state import PhoneState
from firmware.xmpp.model import ChatMessage

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
PEER = "alice@example.org"


def msg(body: str, **kw: Any) -> ChatMessage:
    return ChatMessage(PEER, body, kw.pop("at", T0), **kw)


MESSAGES = (
    msg("hello"),
    msg("\u05e9\u05dc\u05d5\u05dd \U0001f4de \x07", outgoing=True, id="x1"),
    msg("cut", truncated=True, groupchat=True, sender="nick"),
)


def test_round_trip(tmp_path: Path) -> None:
    store = ChatStore(tmp_path / "chat")
    store.save(PEER, MESSAGES, 2)
    loaded = ChatStore(tmp_path / "chat").load()
    assert loaded == ChatHistoryLoaded((SavedChat(PEER, MESSAGES, 2),))


def test_files_and_directory_are_private(tmp_path: Path) -> None:
    store = ChatStore(tmp_path / "chat")
    store.save(PEER, MESSAGES)
    path = tmp_path / "chat" / file_name(PEER)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "chat").stat().st_mode) == 0o700
    assert [p.name for p in (tmp_path / "chat").iterdir()] == [path.name]  # no temporary file left


def test_no_messages_forgets_the_conversation(tmp_path: Path) -> None:
    store = ChatStore(tmp_path)
    store.save(PEER, MESSAGES)
    store.save(PEER, ())
    store.save("never-saved@x", ())
    assert list(tmp_path.iterdir()) == []
    assert store.load() == ChatHistoryLoaded(())


def test_load_skips_what_it_cannot_trust(tmp_path: Path) -> None:
    store = ChatStore(tmp_path)
    store.save(PEER, MESSAGES)
    (tmp_path / ("0" * 32 + ".chat.json")).write_text("{not json")
    (tmp_path / ("1" * 32 + ".chat.json")).write_bytes(encode("bob@x", MESSAGES, 1))  # wrong name
    (tmp_path / file_name("big@x")).write_bytes(b" " * (MAX_FILE_BYTES + 1))
    (tmp_path / file_name("neg@x")).write_text('{"version":1,"peer":"neg@x","unread":-1,"messages":[]}')
    (tmp_path / file_name("deep@x")).write_text("[" * 100_000)
    (tmp_path / "unrelated.txt").write_text("x")
    assert [chat.peer for chat in store.load().chats] == [PEER]


@pytest.mark.parametrize(
    "doc",
    [
        b'{"version":2,"peer":"a","messages":[]}',
        b'{"version":1,"peer":5,"messages":[]}',
        b'{"version":1,"peer":"a","messages":{}}',
        b'{"version":1,"peer":"a","messages":[{"body":"x","at":"yesterday"}]}',
        b'{"version":1,"peer":"a","messages":[{"body":1,"at":"2030-01-01T00:00:00"}]}',
        b'{"version":1,"peer":"a","messages":[{"body":"x","at":"2030-01-01T00:00:00","outgoing":"yes"}]}',
        b"[]",
    ],
)
def test_decode_rejects_malformed_documents(doc: bytes) -> None:
    with pytest.raises((ValueError, TypeError, KeyError)):
        decode(doc)


def test_load_keeps_the_most_recent_conversations_oldest_first(tmp_path: Path) -> None:
    store = ChatStore(tmp_path)
    for i in range(MAX_FILES + 5):
        peer = f"p{i}@x"
        store.save(peer, (ChatMessage(peer, "hi", datetime(2030, 1, 1, tzinfo=UTC) + timedelta(minutes=i)),))
    chats = store.load().chats
    assert len(chats) == MAX_FILES
    assert chats[0].peer == "p5@x" and chats[-1].peer == f"p{MAX_FILES + 4}@x"


def test_saves_are_coalesced_until_the_delay(tmp_path: Path) -> None:
    scheduled: list[Any] = []
    store = ChatStore(tmp_path, lambda delay, fn: scheduled.append((delay, fn)), delay_s=2.0)
    for i in range(100):
        store.save(PEER, (msg(f"m{i}"),), i)
    assert len(scheduled) == 1 and scheduled[0][0] == 2.0
    assert not list(tmp_path.iterdir())
    scheduled[0][1]()  # the delay is over
    store.close()
    assert store.writes == 1
    assert store.load().chats == (SavedChat(PEER, (msg("m99"),), 99),)


def test_close_writes_what_is_pending(tmp_path: Path) -> None:
    store = ChatStore(tmp_path, lambda delay, fn: None)
    store.save(PEER, MESSAGES)
    store.close()
    assert len(store.load().chats) == 1


def test_unwritable_directory_is_logged_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store = ChatStore(blocker / "chat")
    store.save(PEER, MESSAGES)  # cannot create a directory under a file: logged
    assert store.load() == ChatHistoryLoaded(())


# --- wiring: state machine -> dispatcher -> store -> ChatHistoryLoaded -> state machine -------------


class _NoSip:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"SIP used: {name}")


class _NoAudio:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"audio used: {name}")


def test_persisted_history_comes_back_after_a_restart(tmp_path: Path) -> None:
    from firmware.events import ChatConnectionChanged, MessageReceived
    from firmware.xmpp.model import ChatState

    async def main() -> None:
        loop = asyncio.get_running_loop()
        posted: list[Event] = []
        store = ChatStore(tmp_path / "chat")
        dispatcher = Dispatcher(_NoSip(), _NoAudio(), Timers(loop, posted.append), chat_store=store)  # type: ignore[arg-type]
        state = PhoneState()
        for event in (ChatConnectionChanged(ChatState.ONLINE), MessageReceived(msg("before the restart"))):
            state, cmds = step(state, event)
            chat_cmds = tuple(cmd for cmd in cmds if isinstance(cmd, c.PersistChat))
            assert dispatcher.run(chat_cmds) == []
        store.close()

    asyncio.run(main())
    restarted, _ = step(PhoneState(), ChatStore(tmp_path / "chat").load())
    assert [m.body for m in restarted.chat.history[PEER]] == ["before the restart"]
    assert restarted.chat.unread_total == 1


def test_dispatcher_without_a_store_ignores_persist_chat() -> None:
    async def main() -> None:
        dispatcher = Dispatcher(_NoSip(), _NoAudio(), Timers(asyncio.get_running_loop(), lambda e: None))  # type: ignore[arg-type]
        assert dispatcher.run((c.PersistChat(PEER, MESSAGES, 1),)) == []

    asyncio.run(main())
