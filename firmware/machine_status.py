"""The status screen and the provisioning sign-in dialog (issue 4), as pure state machine parts.

Merged by firmware/machine.py into its tables, like firmware/machine_chat.py:

- STATUS_COMMON: `ProvisioningChanged` (the provisioner's status, kept in `state.provisioning`
  for the status screen) and `CredentialsRequested` (HTTP 401: open the sign-in dialog), in
  every phase. Neither ever touches a call.
- STATUS_TIMERS: the sign-in dialog's multi-tap pause (Timer.SIGN_IN_TAP).
- with_status_keys: wraps the idle phase's key handler. The status screen and the dialog take
  their keys first; MENU opens the status screen from the chat list, or from the home screen
  of a phone without an XMPP account (with one, MENU there opens the chat list as before).
  Keys these screens do not use keep their home-screen meaning (SPEAKER, REDIAL, volume, and on
  the status screen the digits, which pre-dial), so a call can always be made.
- sign_in_shown: the one rule for the dialog: while it is open and the phone is idle, it is on
  screen. A call hides it; it comes back when the phone is idle again, with what was typed.

Keys, status screen: UP/DOWN scroll a line, LEFT/RIGHT and * / # a page, SELECT "Update now"
(`ReprovisionNow`; "Sign in" while the server wants credentials), BACK and MENU go home.

Keys, sign-in dialog: multi-tap text entry (firmware/multitap.py; the user ID starts in 123 mode,
the password in lower-case letters; # toggles 123, * the case), RIGHT ends the pending letter
at once, UP/DOWN change field, SELECT goes to the password then signs in
(`SubmitCredentials`), BACK deletes; on an empty password it goes back to the user ID, on an
empty user ID it closes the dialog (not opened again by itself until a check succeeds; the
status screen's SELECT opens it).

The password is in no Log command, no repr() (SignIn.password and SubmitCredentials.password
are repr=False) and never on screen but for the letter being chosen.
"""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import urlsplit

from firmware import commands as c
from firmware.events import CredentialsRequested, Event, ProvisioningChanged, Timer
from firmware.multitap import TEXT_KEYS, Entry, commit, press
from firmware.provisioning.events import ProvisioningStatus, ProvState
from firmware.state import Phase, PhoneState, SignIn, View, new_password_entry
from firmware.transition import Commands, Handler, Result
from firmware.ui.status_text import max_status_scroll, status_grid
from hal.types import Key, KeyPressed

MAX_REALM = 100
MAX_ERROR = 300
MAX_URL = 300
MAX_WARNINGS = 20
MAX_WARNING = 200

SIGN_IN_NEEDED = "Sign-in needed"  # a call hides the dialog: this says why it will appear
SIGN_IN_REJECTED = "Sign-in rejected"
SIGNING_IN = "Signing in\u2026"
SIGNED_IN = "Signed in"
CHECKING = "Checking now\u2026"
PROVISIONING_OFF = "Provisioning is off"
ENTER_USER = "Enter your user ID"
ENTER_PASSWORD = "Enter your password"  # noqa: S105 (a prompt)

# ---------------------------------------------------------------- from the provisioner (runtime)

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*@")
_QUERY = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s?#]*)[?#]\S*")


def scrub(text: str) -> str:
    """`text` without what a URL in it may carry for a server only: user info, query, fragment."""
    return _QUERY.sub(r"\1", _USERINFO.sub(r"\1", text))


def display_url(url: str) -> str:
    """The provisioning URL as a person reads it: host (and port) and path, no credentials."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    return (parts.netloc.rpartition("@")[2] + parts.path)[:MAX_URL]


def provisioning_changed(status: ProvisioningStatus) -> ProvisioningChanged:
    """The event for the state machine, bounded and without secrets (events may be logged)."""
    return ProvisioningChanged(
        state=status.state,
        version=status.version,
        last_update=status.last_update,
        last_check=status.last_check,
        error=scrub(status.error)[:MAX_ERROR],
        warnings=tuple(scrub(w)[:MAX_WARNING] for w in status.warnings[:MAX_WARNINGS]),
        url=display_url(status.url),
    )


# ---------------------------------------------------------------- events (every phase)


def _notice(state: PhoneState, text: str) -> Result:
    return replace(state, notice=text), (c.StartTimer(Timer.NOTICE, state.settings.notice_s),)


def _with_sign_in(state: PhoneState, sign: SignIn) -> PhoneState:
    return replace(state, provisioning=replace(state.provisioning, sign_in=sign))


def _on_provisioning_changed(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, ProvisioningChanged)
    sign = state.provisioning.sign_in
    was_submitted = sign.submitted
    if event.state is ProvState.OK:  # signed in (or no longer asked): the dialog has done its work
        sign = SignIn(user=commit(sign.user))
    elif event.state is ProvState.FAILED:
        sign = replace(sign, submitted=False)  # an answer, though not about the credentials
    new = replace(
        state,
        provisioning=replace(
            state.provisioning,
            state=event.state,
            version=max(0, event.version),
            last_update=event.last_update,
            last_check=event.last_check,
            error=scrub(event.error)[:MAX_ERROR],
            warnings=tuple(scrub(w)[:MAX_WARNING] for w in event.warnings[:MAX_WARNINGS]),
            url=display_url(event.url),
            sign_in=sign,
        ),
    )
    if was_submitted and event.state is ProvState.OK:
        return _notice(new, SIGNED_IN)
    return new, ()


def _on_credentials_requested(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, CredentialsRequested)
    sign = state.provisioning.sign_in
    realm = " ".join(event.realm.split())[:MAX_REALM]
    if (sign.submitted and not event.rejected) or sign.dismissed:
        # A check that began before the credentials were typed, or the person said "not now".
        return _with_sign_in(state, replace(sign, realm=realm)), ()
    if sign.open:  # asked again (polls go on) while the person is typing: keep what is typed
        return _with_sign_in(state, replace(sign, realm=realm, rejected=event.rejected)), ()
    opened = replace(
        sign,
        open=True,
        realm=realm,
        rejected=event.rejected,
        on_password=False,
        password=new_password_entry(),
        message="",
        submitted=False,
        dismissed=False,
    )
    new = _with_sign_in(state, opened)
    if state.phase is not Phase.IDLE:
        return _notice(new, SIGN_IN_REJECTED if event.rejected else SIGN_IN_NEEDED)
    if new.notice == SIGNING_IN:
        new = replace(new, notice="")
    return new, (c.CancelTimer(Timer.CHAT_IDLE),)  # a chat screen under it must not time it out


STATUS_COMMON: dict[type, Handler] = {
    ProvisioningChanged: _on_provisioning_changed,
    CredentialsRequested: _on_credentials_requested,
}


# ---------------------------------------------------------------- timers


def _on_sign_in_tap(state: PhoneState, event: Event) -> Result:
    sign = state.provisioning.sign_in
    if sign.user.pending is None and sign.password.pending is None:
        return state, ()
    return _with_sign_in(state, replace(sign, user=commit(sign.user), password=commit(sign.password))), ()


STATUS_TIMERS: dict[tuple[Phase, Timer], Handler] = {
    (phase, Timer.SIGN_IN_TAP): _on_sign_in_tap for phase in Phase
}


# ---------------------------------------------------------------- the dialog on screen


def sign_in_shown(state: PhoneState) -> PhoneState:
    """While the dialog is open and the phone is idle, the dialog is what the display shows."""
    if state.phase is not Phase.IDLE:
        return state
    nav, opened = state.nav, state.provisioning.sign_in.open
    if opened and nav.view is not View.CREDENTIALS:
        return replace(state, nav=replace(nav, view=View.CREDENTIALS, entry=commit(nav.entry)))
    if not opened and nav.view is View.CREDENTIALS:
        return replace(state, nav=replace(nav, view=View.HOME))
    return state


# ---------------------------------------------------------------- keys (IDLE phase only)


def _home(state: PhoneState, *extra: c.Command) -> Result:
    return replace(state, nav=replace(state.nav, view=View.HOME)), (*extra, c.CancelTimer(Timer.CHAT_IDLE))


def _status(state: PhoneState, scroll: int, *extra: c.Command) -> Result:
    """Show the status screen at `scroll`; no key for a while: home (the chat screens' timer)."""
    top = max_status_scroll(state, state.settings.display_size)
    prov = replace(state.provisioning, scroll=max(0, min(top, scroll)))
    new = replace(state, nav=replace(state.nav, view=View.STATUS), provisioning=prov)
    return new, (*extra, c.StartTimer(Timer.CHAT_IDLE, state.settings.chat_idle_s))


def open_sign_in(state: PhoneState) -> Result:
    """The dialog, asked for by the person (the status screen's SELECT)."""
    sign = state.provisioning.sign_in
    opened = replace(sign, open=True, dismissed=False, submitted=False, on_password=False, message="")
    return sign_in_shown(_with_sign_in(state, opened)), (c.CancelTimer(Timer.CHAT_IDLE),)


_SCROLL = {Key.UP: -1, Key.DOWN: 1}
_PAGE = {Key.LEFT: -1, Key.STAR: -1, Key.RIGHT: 1, Key.HASH: 1}


def _status_key(state: PhoneState, key: Key) -> Result | None:
    prov = state.provisioning
    if key in _SCROLL:
        return _status(state, prov.scroll + _SCROLL[key])
    if key in _PAGE:
        _, rows = status_grid(state, state.settings.display_size)
        return _status(state, prov.scroll + _PAGE[key] * rows)
    if key is Key.SELECT:
        if prov.state is None:
            noticed, cmds = _notice(state, PROVISIONING_OFF)
            return _status(noticed, prov.scroll, *cmds)
        if prov.state is ProvState.NEEDS_CREDENTIALS:
            return open_sign_in(state)
        noticed, cmds = _notice(state, CHECKING)
        return _status(noticed, prov.scroll, c.ReprovisionNow("keypad"), *cmds)
    if key in (Key.BACK, Key.MENU):
        return _home(state)
    return None


def _active(sign: SignIn) -> Entry:
    return sign.password if sign.on_password else sign.user


def _set_active(sign: SignIn, entry: Entry) -> SignIn:
    return replace(sign, password=entry) if sign.on_password else replace(sign, user=entry)


def _dialog(state: PhoneState, sign: SignIn) -> Result:
    """The dialog with `sign`; the pause timer cancelled when no letter is pending any more."""
    old = state.provisioning.sign_in
    was_pending = old.user.pending is not None or old.password.pending is not None
    pending = sign.user.pending is not None or sign.password.pending is not None
    cmds: Commands = (c.CancelTimer(Timer.SIGN_IN_TAP),) if was_pending and not pending else ()
    return _with_sign_in(state, sign), cmds


def _switch(sign: SignIn, to_password: bool, message: str = "") -> SignIn:
    return replace(
        sign, user=commit(sign.user), password=commit(sign.password), on_password=to_password, message=message
    )


def _submit(state: PhoneState) -> Result:
    sign = _switch(state.provisioning.sign_in, state.provisioning.sign_in.on_password)
    user, password = sign.user.text, sign.password.text
    if not user:
        return _dialog(state, _switch(sign, False, ENTER_USER))
    if not password:
        return _dialog(state, _switch(sign, True, ENTER_PASSWORD))
    done = replace(
        sign, open=False, submitted=True, rejected=False, on_password=False, password=new_password_entry()
    )
    new, cmds = _dialog(state, done)
    new, shown = _notice(replace(new, nav=replace(new.nav, view=View.HOME)), SIGNING_IN)
    log = c.Log("info", f"provisioning sign-in entered for user {user[:40]!r}")
    return new, (*cmds, c.SubmitCredentials(user, password), log, *shown)


def _cancel(state: PhoneState) -> Result:
    sign = state.provisioning.sign_in
    closed = replace(sign, open=False, dismissed=True, on_password=False, message="")
    new, cmds = _dialog(state, replace(closed, password=new_password_entry(), user=commit(sign.user)))
    return _home(new, *cmds, c.Log("info", "provisioning sign-in cancelled"))


def _sign_in_key(state: PhoneState, key: Key) -> Result | None:
    sign = state.provisioning.sign_in
    entry = _active(sign)
    if key is Key.SELECT:
        return _submit(state) if sign.on_password else _dialog(state, _switch(sign, True))
    if key is Key.BACK and not entry.shown:
        return _dialog(state, _switch(sign, False)) if sign.on_password else _cancel(state)
    if key in TEXT_KEYS:
        new = press(entry, key)
        cmds: Commands = ()
        if new.pending is not None and (new.pending is not entry.pending or new.index != entry.index):
            cmds = (c.StartTimer(Timer.SIGN_IN_TAP, state.settings.multitap_s),)
        shown, cancel = _dialog(state, replace(_set_active(sign, new), message=""))
        return shown, (*cancel, *cmds)
    if key in (Key.UP, Key.DOWN):
        return _dialog(state, _switch(sign, key is Key.DOWN))
    if key is Key.RIGHT:
        return _dialog(state, _set_active(sign, commit(entry)))
    if key in (Key.LEFT, Key.MENU, Key.CONTACTS):
        return state, ()  # the dialog stays: nothing behind it opens
    return None  # SPEAKER, REDIAL, volume...: their idle meaning


def _open_status(state: PhoneState) -> Result:
    nav = state.nav
    return _status(replace(state, nav=replace(nav, entry=commit(nav.entry))), 0)


def _as_home(state: PhoneState, event: Event, idle_key: Handler) -> Result:
    """A key the status screen or the dialog does not use: what it does on the home screen; if
    that leaves the phone on the home screen (volume...), the screen stays."""
    view = state.nav.view
    new, cmds = idle_key(replace(state, nav=replace(state.nav, view=View.HOME)), event)
    if new.phase is Phase.IDLE and new.nav.view is View.HOME:
        new = replace(new, nav=replace(new.nav, view=view))
    return new, cmds


def with_status_keys(idle_key: Handler) -> Handler:
    """The idle phase's key handler with the status screen and the sign-in dialog in front."""

    def handler(state: PhoneState, event: Event) -> Result:
        assert isinstance(event, KeyPressed)
        key, view = event.key, state.nav.view
        if view is View.CREDENTIALS and state.provisioning.sign_in.open:
            result = _sign_in_key(state, key)
        elif view is View.STATUS:
            result = _status_key(state, key)
        elif view is View.CREDENTIALS:  # closed underneath (cannot happen: sign_in_shown)
            return idle_key(replace(state, nav=replace(state.nav, view=View.HOME)), event)
        elif key is Key.MENU and (view is View.CHATS or (view is View.HOME and not state.chat.enabled)):
            return _open_status(state)
        else:
            return idle_key(state, event)
        return result if result is not None else _as_home(state, event, idle_key)

    return handler


__all__ = [
    "STATUS_COMMON",
    "STATUS_TIMERS",
    "display_url",
    "open_sign_in",
    "provisioning_changed",
    "scrub",
    "sign_in_shown",
    "with_status_keys",
]
