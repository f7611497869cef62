"""The provisioning profile: a versioned JSON document holding the same sections as the config file.

    {"schema": 1, "version": 42, "device": "b827eb123456", "sip": {...}, "xmpp": {...}, ...}

`schema` is the document format (1), `version` the profile's own number, which only ever grows
for a device, `device` (optional) the MAC or serial it was made for. Every other key is a section
of `firmware.config.Config`: one model tree for the local file and the profile.

Provisioned documents are read laxly where that is safe and strictly where it matters: keys this
firmware does not know (a profile written for a newer firmware) are removed and reported as
warnings, never fatal; wrong types, bad values and missing required fields refuse the whole
document. The local file stays strict (a person editing it is there to fix a typo at once).
"""

from __future__ import annotations

import json
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from firmware import config as config_mod
from firmware.config import Config
from firmware.errors import ConfigError, ProfileError

SCHEMA = 1
MAX_VERSION = 2**53 - 1  # exact in every JSON implementation
ENVELOPE_KEYS = frozenset({"schema", "version", "device"})
# Keys that describe this one installation, not the fleet: a profile cannot move the phone's state
# or turn a real board into the simulator.
LOCAL_ONLY: frozenset[tuple[str, str]] = frozenset(
    {("phone", "state_dir"), ("hardware", "backend"), ("provisioning", "boot_file")}
)


class Envelope(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore", populate_by_name=True)

    schema_: Literal[1] = Field(alias="schema", description="document format")
    version: int = Field(ge=1, le=MAX_VERSION, description="grows with every change for this device")
    device: str = Field(default="", max_length=64, description="MAC or serial it was made for; empty: any")


@dataclass(frozen=True)
class Profile:
    """A validated profile: its envelope and its config sections (unknown keys already removed)."""

    version: int
    device: str
    sections: dict[str, Any]  # JSON-compatible, to be merged over the local config document
    warnings: tuple[str, ...]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model a field holds (`Sip`, `Sip | None`), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType):
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def strip_unknown(model: type[BaseModel], data: Any, prefix: str = "") -> tuple[Any, list[str]]:
    """Remove keys `model` does not define, at every depth; returns (clean data, dotted paths removed)."""
    if not isinstance(data, dict):
        return data, []
    fields = model.model_fields
    clean: dict[str, Any] = {}
    removed: list[str] = []
    for key, value in data.items():
        field = fields.get(key)
        if field is None:
            removed.append(f"{prefix}{key}")
            continue
        inner = _model_in(field.annotation)
        if inner is None:
            clean[key] = value
            continue
        clean[key], deeper = strip_unknown(inner, value, f"{prefix}{key}.")
        removed.extend(deeper)
    return clean, removed


def _brief(err: ValidationError) -> str:
    parts = []
    for e in err.errors()[:10]:
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        parts.append(f"{where}: {e['msg']}")
    more = len(err.errors()) - 10
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def parse_profile(body: bytes) -> Profile:
    """Decode and check a profile document. Raises ProfileError naming the first problems."""
    try:
        doc = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProfileError("profile is not UTF-8 text") from None
    except (json.JSONDecodeError, RecursionError) as err:
        raise ProfileError(f"profile is not JSON: {err}"[:200]) from None
    if not isinstance(doc, dict):
        raise ProfileError(f"profile must be a JSON object, not {type(doc).__name__}")
    try:
        envelope = Envelope.model_validate(doc)
    except ValidationError as err:
        raise ProfileError(_brief(err)) from None
    sections_in = {k: v for k, v in doc.items() if k not in ENVELOPE_KEYS}
    sections_in.pop("version", None)  # already the profile version, never Config.version
    sections, unknown = strip_unknown(Config, sections_in)
    warnings = [f"unknown key {path} ignored" for path in unknown]
    for section, key in sorted(LOCAL_ONLY):
        table = sections.get(section)
        if isinstance(table, dict) and key in table:
            table.pop(key)
            warnings.append(f"{section}.{key} is set on the phone only; ignored")
    for name, value in sections.items():
        if not isinstance(value, dict):
            raise ProfileError(f"{name}: must be an object, not {type(value).__name__}")
    return Profile(envelope.version, envelope.device, sections, tuple(warnings))


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge of documents: tables merge key by key, anything else in `over` replaces."""
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            out[key] = merge(old, value)
        else:
            out[key] = value
    return out


def effective_config(*layers: Mapping[str, Any]) -> Config:
    """Validate the merge of config documents, later layers winning (boot file, local file, profile)."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = merge(merged, layer)
    try:
        return config_mod.parse(merged)
    except ConfigError as err:
        raise ProfileError(str(err).replace("\n", "; ")) from None


def validate_document(body: bytes, local: Mapping[str, Any]) -> tuple[Profile, Config]:
    """Everything short of signature and version checks: what the property test feeds."""
    profile = parse_profile(body)
    return profile, effective_config(local, profile.sections)


def profile_json_schema() -> dict[str, Any]:
    """JSON Schema of a profile document (docs/profile.schema.json is generated from this)."""
    schema = Config.model_json_schema()
    envelope = Envelope.model_json_schema(by_alias=True)
    props = dict(schema["properties"])
    props.pop("version", None)
    schema["properties"] = {**envelope["properties"], **props}
    schema["required"] = ["schema", "version"]
    schema["title"] = "Desk phone provisioning profile"
    schema["additionalProperties"] = True  # unknown keys are warned about and ignored
    return schema


def main() -> None:
    print(json.dumps(profile_json_schema(), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
