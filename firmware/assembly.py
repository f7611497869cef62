"""Putting a phone together from its configuration document: what `deskphone run` and the lab's
phone agent share, so the process under test is wired exactly like the one on the desk.

    assembly = assemble(local_doc)      # validated; with [provisioning], the last good profile
    await assembly.start()              # phone, then the provisioner
    ...
    await assembly.stop()               # the reverse
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from firmware import config as config_mod
from firmware.app import ChatEngineFactory, Phone
from firmware.config import Config
from firmware.sip.factory import sip_engines
from firmware.xmpp.factory import ClientExtension, xmpp_factory
from hal import Board, make_board

if TYPE_CHECKING:  # the provisioning stack (httpx, cryptography) loads only when configured
    from firmware.provisioning.provisioner import Provisioner
    from firmware.provisioning.runtime import PhoneBridge

log = logging.getLogger(__name__)


@dataclass
class Assembly:
    phone: Phone
    board: Board
    provisioner: Provisioner | None
    bridge: PhoneBridge | None = field(default=None)

    async def start(self) -> None:
        await self.phone.start()
        if self.provisioner is not None:
            from firmware.provisioning.runtime import PhoneBridge

            self.bridge = PhoneBridge(self.phone)
            self.bridge(self.provisioner.status)  # the status screen knows the stored profile at once
            self.provisioner.start(self.bridge)

    async def stop(self) -> None:
        if self.provisioner is not None:
            await self.provisioner.stop()
        await self.phone.stop()


def _chat_factory(provisioner: Provisioner | None) -> Callable[[Config], ChatEngineFactory | None]:
    """The XMPP engine for a configuration, offering the XEP-0050 "reprovision" command to the
    profile's admin JIDs when the phone is provisioned."""

    def chat_for(config: Config) -> ChatEngineFactory | None:
        extensions: list[ClientExtension] = []
        if provisioner is not None and config.provisioning is not None and config.provisioning.admin_jids:
            from firmware.provisioning import xmpp_command

            extensions.append(
                partial(
                    xmpp_command.install,
                    admin_jids=config.provisioning.admin_jids,
                    on_reprovision=provisioner.trigger,
                )
            )
        return xmpp_factory(config, extensions=extensions)

    return chat_for


def _chat_settings(config: Config) -> tuple[object, ...]:
    """What the XMPP engine is built from: its account, the SIP AOR it publishes, the admins."""
    admins = tuple(config.provisioning.admin_jids) if config.provisioning is not None else ()
    aor = (config.sip.user, config.sip.domain) if config.sip is not None else None
    return (config.xmpp, aor, admins)


def assemble(
    local_doc: Mapping[str, Any],
    *,
    device_root: Path = Path("/"),
    board_factory: Callable[[Config], Board] | None = None,
) -> Assembly:
    config = config_mod.parse(local_doc)
    # With [provisioning]: start from the last good profile (the server may be down) and follow it.
    provisioner: Provisioner | None = None
    if config.provisioning is not None:
        from firmware.provisioning.runtime import create_provisioner

        provisioner = create_provisioner(local_doc, config, device_root=device_root)
    if provisioner is not None:
        config = provisioner.config
    board = (board_factory or (lambda c: make_board(c.hal_config())))(config)
    engine_for = sip_engines(
        board.audio.sound_device(),
        debug=config.phone.log_level == "debug",
        on_check_sync=provisioner.trigger if provisioner is not None else None,
    )
    chat_for = _chat_factory(provisioner)
    phone = Phone(config, board, engine_for(config), engine_for=engine_for, xmpp_factory=chat_for(config))
    phone.provisioning = provisioner  # the status screen's "Update now" and the sign-in dialog

    async def restart_chat(old: Config, new: Config, changed: frozenset[str]) -> None:
        if _chat_settings(old) != _chat_settings(new):
            log.info("XMPP settings changed: logging in again")
            await phone.replace_chat(chat_for(new))

    phone.reconfigure.hooks.append(restart_chat)
    return Assembly(phone, board, provisioner)
