"""`deskphone check-config` on a provisioning-only file, `deskphone provision-server --public-key`."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.cli import main
from firmware.lab.certs import TlsFiles
from firmware.provisioning import signature
from tests.provisioning.conftest import make_server_config


def test_check_config_accepts_a_provisioning_only_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[provisioning]\nurl = "https://prov.example.org/p/{mac}.json"\n')
    path.chmod(0o600)
    assert main(["check-config", str(path)]) == 0
    assert "SIP account from provisioning" in capsys.readouterr().out


def test_provision_server_prints_its_public_key(
    tmp_path: Path, lab_pki: TlsFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_server_config(tmp_path, lab_pki)
    toml = tmp_path / "server.toml"
    toml.write_text("[server]\n" + "".join(f'{k} = "{v}"\n' for k, v in config.model_dump().items()
                                           if isinstance(v, str) and v))  # fmt: skip
    assert main(["provision-server", "--config", str(toml), "--public-key"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == signature.public_key_text(signature.load_private_key(Path(config.signing_key)))
    assert main(["provision-server", "--config", str(tmp_path / "missing.toml")]) == 2
