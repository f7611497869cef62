"""At least 10,000 generated documents through the profile validator: refused or accepted, never a crash.

Two generators: arbitrary JSON (mostly refused at the envelope), and mutations of the documented
complete profile (valid envelope, values replaced, removed or retyped deep inside the sections,
so the section validators and the hardware checks run too).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.config import Config
from firmware.errors import ProfileError
from firmware.provisioning.schema import validate_document
from tests.provisioning.test_schema import LOCAL, example_profile

EXAMPLES = 1000  # per test, each a batch of documents: hypothesis' per-example overhead dominates
PER_TEST = 5000  # documents per test; two tests: 10,000
FAST = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.floats(allow_nan=True),
    st.text(max_size=12), st.sampled_from(["", "udp", "tls", "UTC", "1001", "https://x/{mac}"]),
)  # fmt: skip
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
BASE: dict[str, Any] = json.loads(example_profile())


def _paths(doc: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _paths(value, (*prefix, key))
    return out


PATHS = _paths(BASE)


def _check(body: bytes) -> None:
    try:
        _, config = validate_document(body, LOCAL)
    except ProfileError as err:
        assert str(err)  # refused, with a reason
    else:
        assert isinstance(config, Config)


documents = (
    st.dictionaries(
        st.sampled_from(["schema", "version", "sip", "xmpp", "phone", "x"]) | st.text(max_size=6),
        json_values,
        max_size=6,
    )
    | json_values
)
Edit = tuple[tuple[str, ...], str, Any]
edits = st.lists(
    st.tuples(st.sampled_from(PATHS), st.sampled_from(["set", "delete"]), json_values), max_size=4
)


def _mutated(changes: list[Edit]) -> bytes:
    doc = json.loads(json.dumps(BASE))
    for path, action, value in changes:
        parent = doc
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        if action == "delete":
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = value
    return json.dumps(doc).encode()


def test_arbitrary_json_never_crashes_the_validator() -> None:
    fed = 0

    @FAST
    @given(st.lists(documents, min_size=5, max_size=5))
    def feed(batch: list[Any]) -> None:
        nonlocal fed
        for doc in batch:
            _check(json.dumps(doc).encode())
            fed += 1

    feed()
    assert fed >= PER_TEST


def test_mutated_profiles_never_crash_the_validator() -> None:
    fed = 0

    @FAST
    @given(st.lists(edits, min_size=5, max_size=5))
    def feed(batch: list[list[Edit]]) -> None:
        nonlocal fed
        for changes in batch:
            _check(_mutated(changes))
            fed += 1

    feed()
    assert fed >= PER_TEST
