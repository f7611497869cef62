"""The XEP-0050 "reprovision" command over a real Prosody: admins trigger a fetch, others are refused."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from firmware.errors import ProvisioningError
from firmware.lab.certs import TlsFiles
from firmware.lab.prosody import Prosody
from firmware.lab.xmpp_peer import XmppPeer
from firmware.provisioning import xmpp_command
from firmware.provisioning.server import ProvisioningServer, xmpp_reprovisioner
from tests.provisioning.conftest import MAC


@pytest.fixture(scope="module")
def prosody(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prosody]:
    if shutil.which("prosody") is None:
        pytest.fail("prosody not installed (Debian package prosody; run `bash .ci/setup`)")
    server = Prosody(tmp_path_factory.mktemp("prosody"))
    server.add_users({"phone": "pw-phone", "admin": "pw-admin", "mallory": "pw-mallory"})
    server.start()
    yield server
    server.stop()


def test_reprovision_command_from_an_admin_triggers_and_others_are_refused(prosody: Prosody) -> None:
    triggered: list[str] = []

    async def main() -> None:
        async with (
            XmppPeer.for_user(prosody, "phone", resource="deskphone") as phone,
            XmppPeer.for_user(prosody, "admin") as admin,
            XmppPeer.for_user(prosody, "mallory") as mallory,
        ):
            xmpp_command.install(
                phone.xmpp, admin_jids=[prosody.jid("admin")], on_reprovision=triggered.append
            )
            target = f"{prosody.jid('phone')}/deskphone"
            with pytest.raises(ProvisioningError, match="forbidden"):
                await xmpp_command.send(mallory.xmpp, target)
            assert triggered == []
            note = await xmpp_command.send(admin.xmpp, target)
            assert note == "fetching the provisioning profile"
            assert triggered == [f"xmpp:{prosody.jid('admin')}"]
            items = await admin.xmpp.plugin["xep_0030"].get_items(
                jid=target, node="http://jabber.org/protocol/commands"
            )
            assert xmpp_command.NODE in {item[1] for item in items["disco_items"]["items"]}

    asyncio.run(asyncio.wait_for(main(), 30))


def test_the_reference_service_triggers_a_phone_over_xmpp(
    prosody: Prosody, server_factory: Callable[..., ProvisioningServer], lab_pki: TlsFiles
) -> None:
    triggered: list[str] = []
    token = "admin-token-1"
    server = server_factory(
        admin_token=token, xmpp_jid=prosody.jid("admin"), xmpp_password="pw-admin", xmpp_host=prosody.host,
        xmpp_port=prosody.c2s_port, xmpp_ca_file=str(prosody.ca_cert),
    )  # fmt: skip
    server = ProvisioningServer(server.config, reprovision=xmpp_reprovisioner(server.config))
    (Path(server.config.profiles_dir) / f"{MAC}.json").write_text(
        json.dumps({"xmpp": {"jid": prosody.jid("phone")}, "phone": {}})
    )

    async def main() -> None:
        await server.start()
        try:
            async with XmppPeer.for_user(prosody, "phone", resource="deskphone") as phone:
                xmpp_command.install(
                    phone.xmpp, admin_jids=[prosody.jid("admin")], on_reprovision=triggered.append
                )
                async with httpx.AsyncClient(
                    verify=ssl.create_default_context(cafile=lab_pki.ca_cert)
                ) as http:
                    url = f"{server.url}/admin/reprovision/{MAC}"
                    assert (await http.post(url)).status_code == 401
                    reply = await http.post(url, headers={"Authorization": f"Bearer {token}"})
                assert reply.status_code == 200, reply.text
                assert reply.json()["trigger"].endswith("fetching the provisioning profile")
                assert triggered == [f"xmpp:{prosody.jid('admin')}"]
        finally:
            await server.stop()

    asyncio.run(asyncio.wait_for(main(), 30))
