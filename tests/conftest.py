"""Shared fixtures. `lab`: a running Kamailio on free loopback ports (firmware.lab), per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware.lab import Lab, TlsFiles, make_test_pki


def _require_lab_programs() -> None:
    missing = [b for b in ("kamailio", "baresip", "openssl") if shutil.which(b) is None]
    if missing:
        # Never a skip: a lab test that does not run is not coverage. `bash .ci/setup` installs them.
        pytest.fail(
            f"lab programs not installed: {', '.join(missing)}"
            " (Debian packages kamailio, kamailio-tls-modules, baresip; run `bash .ci/setup`)"
        )


@pytest.fixture(scope="session")
def lab_pki(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """One test CA + server certificate (127.0.0.1, localhost, lab.test) for the whole session:
    RSA key generation costs ~0.3 s per key."""
    _require_lab_programs()
    return make_test_pki(tmp_path_factory.mktemp("lab-pki"), extra_dns_names=("lab.test",))


@pytest.fixture
def lab(tmp_path: Path, lab_pki: TlsFiles) -> Iterator[Lab]:
    """A started Lab (Kamailio, domain lab.test) in tmp_path/lab; baresip peers made through it
    are stopped at teardown. Logs and configs stay in tmp_path/lab for failed tests."""
    with Lab(tmp_path / "lab", tls_files=lab_pki) as running:
        yield running
