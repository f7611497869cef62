"""The profile schema: one model tree with the config file, lax unknown keys, strict everything else."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from firmware import config as config_mod
from firmware.errors import ConfigError, ProfileError
from firmware.provisioning.schema import (
    effective_config,
    parse_profile,
    profile_json_schema,
    strip_unknown,
    validate_document,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "provisioning.md"
LOCAL = {"provisioning": {"url": "https://prov.example.org/p/{mac}.json"}, "hardware": {"backend": "rpi"}}


def example_profile() -> bytes:
    """The complete example in docs/provisioning.md (the first ```json block)."""
    match = re.search(r"```json\n(.*?)\n```", DOC.read_text(), re.S)
    assert match, "docs/provisioning.md lost its example profile"
    return match.group(1).encode()


def test_the_documented_example_is_a_valid_complete_profile() -> None:
    profile, config = validate_document(example_profile(), LOCAL)
    assert profile.warnings == ()
    assert config.sip is not None and config.xmpp is not None and config.provisioning is not None
    assert config.cusax.xmpp_calling is False and config.cusax.sip_im_presence is False
    assert config.hardware.backend == "rpi"  # local-only: the profile cannot turn the Pi into a simulator
    documented = set(json.loads(example_profile()))
    assert {
        "schema",
        "version",
        "sip",
        "xmpp",
        "cusax",
        "audio",
        "hardware",
        "phone",
        "provisioning",
    } <= documented


def test_the_json_schema_file_is_generated_from_the_models() -> None:
    on_disk = json.loads((ROOT / "docs" / "profile.schema.json").read_text())
    assert on_disk == profile_json_schema(), "regenerate: python -m firmware.provisioning.schema"


def test_unknown_keys_are_stripped_at_every_depth_and_named() -> None:
    clean, removed = strip_unknown(
        config_mod.Config,
        {"sip": {"user": "1", "jitter": {"init_ms": 0, "new": 1}, "x": 2}, "zzz": {}, "audio": {"card": "c"}},
    )
    assert removed == ["sip.jitter.new", "sip.x", "zzz"]
    assert clean == {"sip": {"user": "1", "jitter": {"init_ms": 0}}, "audio": {"card": "c"}}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"\xff\xfe", "UTF-8"),
        (b"{", "not JSON"),
        (b"null", "JSON object"),
        (b'{"version": 1}', "schema"),
        (b'{"schema": 2, "version": 1}', "schema"),
        (b'{"schema": 1, "version": 0}', "version"),
        (b'{"schema": 1, "version": "3"}', "version"),
        (b'{"schema": 1, "version": 1, "sip": 5}', "sip: must be an object"),
        (b"[" * 100000 + b"]" * 100000, "not JSON"),
    ],
)
def test_envelope_errors(body: bytes, words: str) -> None:
    with pytest.raises(ProfileError, match=words):
        parse_profile(body)


def test_merged_config_errors_name_the_field() -> None:
    body = json.dumps({"schema": 1, "version": 3, "phone": {"timezone": "Mars/Olympus"}}).encode()
    with pytest.raises(ProfileError, match=r"phone\.timezone"):
        validate_document(body, LOCAL)


def test_local_file_stays_strict_and_needs_an_account_or_provisioning() -> None:
    with pytest.raises(ConfigError, match="Extra inputs"):
        config_mod.parse({**LOCAL, "phone": {"interdgit_s": 3}})
    with pytest.raises(ConfigError, match=r"sip: Field required \(or a \[provisioning\]"):
        config_mod.parse({"hardware": {"backend": "sim"}})
    bootstrap = config_mod.parse(LOCAL)
    assert bootstrap.sip is None and bootstrap.provisioning is not None


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ({"url": "http://prov.example.org/x"}, "https"),
        ({"url": "https://prov.example.org/{imei}.json"}, "placeholder"),
        ({"signing_key": "not base64!"}, "base64"),
        ({"signing_key": "AAAA"}, "32 bytes"),
        ({"admin_jids": ["admin@example.org/res"]}, "bare JID"),
        ({"client_cert": "/x.pem"}, "go together"),
        ({"poll_interval_s": 0}, "poll_interval_s"),
    ],
)
def test_provisioning_section_is_checked(section: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        config_mod.parse({"provisioning": section})


def test_cusax_policy_patterns_must_compile() -> None:
    with pytest.raises(ProfileError, match="regular expression"):
        effective_config(LOCAL, {"cusax": {"cost_warning": {"patterns": ["(unclosed"]}}})
    config = effective_config(LOCAL, {"cusax": {"security_parity": "require"}})
    assert config.cusax.security_parity == "require" and config.cusax.cost_warning.outside_domain
