"""The status screen and the sign-in dialog beyond their goldens (tests/ui/status_cases.py): the
password never on the panel, hostile provisioning data, every scroll position, time zones.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from firmware.events import CredentialsRequested, ProvisioningChanged, RegistrationChanged, RegState
from firmware.machine import step
from firmware.provisioning.events import ProvState
from firmware.state import View
from firmware.ui.status_text import max_status_scroll, status_lines, when
from hal.types import Key, KeyPressed

from .cases import CASES
from .status_cases import FAILED, NEEDS, PROVISIONED, REALM, feed
from .test_screens import HOSTILE, SIZES, assert_renders, frame_text


def test_the_password_is_never_on_the_panel() -> None:
    # "qz9" typed in the password field: q (7 x2), z (9 x4), then 123 mode and 9.
    keys = [Key.D1, Key.SELECT, Key.D7, Key.D7, Key.D9, Key.D9, Key.D9, Key.D9, Key.HASH, Key.D9]
    state = feed(PROVISIONED, [NEEDS, CredentialsRequested(REALM), *keys])
    assert state.provisioning.sign_in.password.text == "qz9"
    for size in SIZES:
        text = frame_text(state, size)
        assert "***" in text and "q" not in text.split("Password", 1)[1].split("\n", 1)[0]
    pending = feed(state, [Key.HASH, Key.D2])  # letters again: "a" is being chosen, shown in clear
    assert "a" in frame_text(pending).split("Password", 1)[1].split("\n", 1)[0]


@pytest.mark.parametrize("size", SIZES, ids=["128x64", "256x64"])
@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_provisioning_data(text: str, size: tuple[int, int]) -> None:
    event = ProvisioningChanged(ProvState.FAILED, 2**40, error=text, warnings=(text, text), url=text)
    base = feed(PROVISIONED, [event, RegistrationChanged(RegState.FAILED, 503, text)])
    base = replace(base, settings=replace(base.settings, sip_account=text, chat_account=text))
    status = feed(base, [Key.MENU])
    assert status.nav.view is View.STATUS
    for scroll in range(max_status_scroll(status, size) + 1):
        assert_renders(replace(status, provisioning=replace(status.provisioning, scroll=scroll)), size)
    dialog = feed(base, [CredentialsRequested(text), *[Key.D7] * 3, Key.SELECT, *[Key.D2] * 200])
    assert dialog.nav.view is View.CREDENTIALS
    assert_renders(dialog, size)
    assert_renders(replace(dialog, notice=text), size)


@pytest.mark.parametrize("k", list(Key), ids=lambda k: k.name)
@pytest.mark.parametrize("name", [n for n in CASES if n.startswith(("status_", "sign_in_"))])
def test_every_key_on_the_new_screens_still_draws(name: str, k: Key) -> None:
    state, _ = step(CASES[name], KeyPressed(k))
    for size in SIZES:
        assert_renders(state, size)


def test_long_entries_wrap_with_an_indent_and_urls_break_at_slashes() -> None:
    state = feed(PROVISIONED, [FAILED])
    lines = status_lines(state, 21)
    assert all(len(line) <= 21 for line in lines)
    assert lines[1] == "Error: cannot reach" and lines[2].startswith(" prov.example.org")
    server = next(line for line in lines if line.startswith("Server:"))
    assert server.endswith(("/", ".")) or len(server) == 21


def test_times_in_the_phone_time_zone() -> None:
    now = datetime(2024, 5, 17, 14, 5, tzinfo=timezone(timedelta(hours=2)))
    assert when(datetime(2024, 5, 17, 10, 0, tzinfo=UTC), now) == "17 May 12:00"
    assert when(datetime(2023, 12, 31, 23, 30, tzinfo=UTC), now) == "1 Jan 01:30"  # 2024 at +02:00
    assert when(datetime(2022, 3, 1, tzinfo=UTC), now) == "1 Mar 2022"
