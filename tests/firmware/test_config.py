"""The config file: strict validation with messages that name the field, and `deskphone check-config`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from firmware import config as config_mod
from firmware.cli import main
from firmware.errors import ConfigError
from hal.types import Key

GOOD = """
[sip]
domain = "example.org"
registrar = "sip.example.org"
transport = "tls"
user = "1001"
password = "hunter2-secret"

[audio]
card = "null"

[hardware]
backend = "sim"
"""


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_a_good_file_loads_with_safe_defaults(tmp_path: Path) -> None:
    config = config_mod.load(write(tmp_path, GOOD))
    assert config.sip.effective_port == 5061
    assert config.sip.tls_verify_server is True  # verified by default
    assert config.sip.codecs[0].startswith("G722")
    hal = config.hal_config()
    assert hal.backend == "sim"
    assert hal.keypad.key_at(0, 0) is Key.D1


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (("port = 5060", 'port = "5060"'), "sip.port", "integer"),
        (('transport = "tls"', 'transport = "sctp"'), "sip.transport", "udp"),
        (('user = "1001"', "user = 1001"), "sip.user", "string"),
        (('backend = "sim"', 'backend = "simulator"'), "hardware.backend", "rpi"),
        (('card = "null"', "card = true"), "audio.card", "string"),
        (('registrar = "sip.example.org"', 'registrar = "sip example.org"'), "sip.registrar", "spaces"),
    ],
)
def test_wrong_types_and_values_name_the_field(
    tmp_path: Path, edit: tuple[str, str], field: str, words: str
) -> None:
    text = GOOD.replace('transport = "tls"', 'transport = "tls"\nport = 5060')
    old, new = edit
    assert old in text
    with pytest.raises(ConfigError) as err:
        config_mod.load(write(tmp_path, text.replace(old, new, 1)))
    message = str(err.value)
    assert field in message and words in message, message


def test_unknown_keys_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sip\.passwd: Extra inputs are not permitted"):
        config_mod.load(write(tmp_path, GOOD.replace("[audio]", 'passwd = "x"\n[audio]')))


def test_missing_section_and_broken_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sip: Field required"):
        config_mod.load(write(tmp_path, '[audio]\ncard = "null"\n'))
    with pytest.raises(ConfigError, match="not valid TOML"):
        config_mod.load(write(tmp_path, "[sip\ndomain = "))
    with pytest.raises(ConfigError, match="not valid TOML"):
        config_mod.load(write(tmp_path, "\xff\xfe binary"))
    with pytest.raises(ConfigError, match="cannot read"):
        config_mod.load(tmp_path / "missing.toml")


def test_an_impossible_keypad_is_a_config_error(tmp_path: Path) -> None:
    text = GOOD + '\n[hardware.keypad]\nrows = [5, 6]\ncols = [12, 12]\nkeymap = [["1", "2"], ["3", "4"]]\n'
    with pytest.raises(ConfigError, match="hardware: keypad rows and columns share a GPIO pin"):
        config_mod.load(write(tmp_path, text))


def test_errors_never_echo_the_password(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        config_mod.load(write(tmp_path, GOOD.replace('"hunter2-secret"', "12345678")))
    assert "12345678" not in str(err.value)
    assert "sip.password" in str(err.value)
    config = config_mod.load(write(tmp_path, GOOD))
    assert "hunter2-secret" not in repr(config)


def test_check_config_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GOOD)
    assert main(["check-config", str(path)]) == 0
    assert "OK" in capsys.readouterr().out

    os.chmod(path, 0o644)
    assert main(["check-config", str(path)]) == 0
    assert "readable by other users" in capsys.readouterr().err

    bad = write(tmp_path, GOOD.replace('user = "1001"', "user = []"))
    assert main(["check-config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "invalid configuration" in err and "sip.user" in err


def test_run_with_a_bad_config_exits_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path, "not toml at all [")
    assert main(["run", "--config", str(bad)]) == 2
    assert "invalid configuration" in capsys.readouterr().err
