"""Fetching over real HTTPS on loopback from the reference service, good answers and bad ones."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from firmware.errors import (
    AuthRequiredError,
    FetchError,
    FetchTimeoutError,
    HttpStatusError,
    InsecureUrlError,
    ProvisioningError,
    TlsError,
    TooLargeError,
)
from firmware.lab.certs import TlsFiles
from firmware.provisioning import signature
from firmware.provisioning.fetch import Fetched, Fetcher, FetchSettings, NotModified
from firmware.provisioning.server import ProvisioningServer
from tests.provisioning.conftest import MAC, PASSWORD, USER, sip_section

CREDS = (USER, PASSWORD)
HUGE = 50 << 20


def _hostile_routes(app: web.Application, port: Callable[[], int]) -> None:
    async def error(request: web.Request) -> web.StreamResponse:
        raise web.HTTPInternalServerError()

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(5)
        return web.Response(text="{}")

    async def to_http(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(f"http://127.0.0.1:{port()}/p/{MAC}.json")

    async def to_https(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(f"/p/{MAC}.json")

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()  # chunked, no Content-Length: only counting stops it
        await response.prepare(request)
        chunk = b" " * (1 << 20)
        for _ in range(HUGE // len(chunk)):
            await response.write(chunk)
        return response

    async def huge_declared(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"{" + b" " * HUGE + b"}", content_type="application/json")

    app.router.add_get("/hostile/500", error)
    app.router.add_get("/hostile/slow", slow)
    app.router.add_get("/hostile/redirect-http", to_http)
    app.router.add_get("/hostile/redirect-https", to_https)
    app.router.add_get("/hostile/huge", huge)
    app.router.add_get("/hostile/huge-declared", huge_declared)


def _run(
    server: ProvisioningServer, settings: FetchSettings, test: Callable[[Fetcher, str], Awaitable[Any]]
) -> Any:
    async def main() -> Any:
        _hostile_routes(server.app, lambda: server.port)
        await server.start()
        fetcher = Fetcher(settings)
        try:
            return await test(fetcher, server.url)
        finally:
            await fetcher.aclose()
            await server.stop()

    return asyncio.run(main())


@pytest.fixture
def server(server_factory: Callable[..., ProvisioningServer]) -> ProvisioningServer:
    srv = server_factory()
    (Path(srv.config.profiles_dir) / f"{MAC}.json").write_text(json.dumps({"sip": sip_section()}))
    return srv


def test_200_then_304_costs_one_small_request(server: ProvisioningServer, lab_pki: TlsFiles) -> None:
    async def test(fetcher: Fetcher, base: str) -> None:
        first = await fetcher.fetch(f"{base}/p/{MAC}.json", credentials=CREDS)
        assert isinstance(first, Fetched) and first.etag and first.signature
        signature.verify(server.public_key, first.body, first.signature)
        sent = fetcher.requests
        again = await fetcher.fetch(f"{base}/p/{MAC}.json", etag=first.etag, credentials=CREDS)
        assert isinstance(again, NotModified) and again.etag == first.etag
        assert fetcher.requests - sent == 1  # Basic learnt from the first 401: sent up front

    _run(server, FetchSettings(ca_file=str(lab_pki.ca_cert)), test)


@pytest.mark.parametrize(
    ("path", "creds", "error", "words"),
    [
        (f"/p/{MAC}.json", None, AuthRequiredError, "credentials needed"),
        (f"/p/{MAC}.json", (USER, "wrong"), AuthRequiredError, "credentials rejected"),
        ("/p/unknown0000.json", CREDS, AuthRequiredError, "401"),  # no account: no hint it exists
        ("/hostile/500", CREDS, HttpStatusError, "HTTP 500"),
        ("/nothing/here", CREDS, HttpStatusError, "404"),
        ("/hostile/redirect-http", CREDS, InsecureUrlError, "not https"),
        ("/hostile/huge", CREDS, TooLargeError, "limit"),
        ("/hostile/huge-declared", CREDS, TooLargeError, "limit"),
        ("/hostile/slow", CREDS, FetchTimeoutError, "no answer"),
    ],
)
def test_bad_answers_are_typed_errors(
    server: ProvisioningServer,
    lab_pki: TlsFiles,
    path: str,
    creds: tuple[str, str] | None,
    error: type[Exception],
    words: str,
) -> None:
    async def test(fetcher: Fetcher, base: str) -> None:
        started = time.monotonic()
        with pytest.raises(error, match=words):
            await fetcher.fetch(base + path, credentials=creds)
        assert time.monotonic() - started < 3.0  # bounded: the 50 MB body is not downloaded

    _run(server, FetchSettings(ca_file=str(lab_pki.ca_cert), timeout_s=1.0), test)


def test_rejected_credentials_are_flagged(server: ProvisioningServer, lab_pki: TlsFiles) -> None:
    async def test(fetcher: Fetcher, base: str) -> None:
        with pytest.raises(AuthRequiredError) as err:
            await fetcher.fetch(f"{base}/p/{MAC}.json", credentials=(USER, "nope"))
        assert err.value.rejected and err.value.realm == "deskphone provisioning"
        with pytest.raises(AuthRequiredError) as err:
            await fetcher.fetch(f"{base}/p/{MAC}.json")
        assert not err.value.rejected

    _run(server, FetchSettings(ca_file=str(lab_pki.ca_cert)), test)


def test_redirect_to_https_is_followed(server: ProvisioningServer, lab_pki: TlsFiles) -> None:
    async def test(fetcher: Fetcher, base: str) -> None:
        got = await fetcher.fetch(f"{base}/hostile/redirect-https", credentials=CREDS)
        assert isinstance(got, Fetched) and got.url.endswith(f"/p/{MAC}.json")

    _run(server, FetchSettings(ca_file=str(lab_pki.ca_cert)), test)


def test_http_url_is_refused_before_any_request(lab_pki: TlsFiles) -> None:
    async def main() -> None:
        fetcher = Fetcher(FetchSettings())
        with pytest.raises(InsecureUrlError):
            await fetcher.fetch("http://127.0.0.1:9/p/x.json")
        assert fetcher.requests == 0
        await fetcher.aclose()

    asyncio.run(main())


@pytest.mark.parametrize("which", ["expired", "rogue", "system-store"])
def test_bad_server_certificates_are_refused(
    server_factory: Callable[..., ProvisioningServer],
    lab_pki: TlsFiles,
    expired_pki: TlsFiles,
    rogue_pki: TlsFiles,
    which: str,
) -> None:
    tls = {"expired": expired_pki, "rogue": rogue_pki, "system-store": lab_pki}[which]
    srv = server_factory(cert=str(tls.server_cert), key=str(tls.server_key))
    pinned = "" if which == "system-store" else str(lab_pki.ca_cert)  # the lab CA is in no system store
    words = {"expired": "expired", "rogue": "certificate", "system-store": "certificate"}[which]

    async def test(fetcher: Fetcher, base: str) -> None:
        with pytest.raises(TlsError, match=words):
            await fetcher.fetch(f"{base}/p/{MAC}.json", credentials=CREDS)

    _run(srv, FetchSettings(ca_file=pinned), test)


def test_client_certificate_authenticates_the_device(
    tmp_path: Path, server_factory: Callable[..., ProvisioningServer], lab_pki: TlsFiles
) -> None:
    from firmware.lab.certs import make_server_cert

    cert, key = make_server_cert(
        tmp_path / "dev", lab_pki.ca_cert, "device", dns_names=(MAC,), ip_addresses=()
    )
    srv = server_factory(auth="client-cert", client_ca=str(lab_pki.ca_cert))
    (Path(srv.config.profiles_dir) / f"{MAC}.json").write_text('{"phone": {}}')

    async def test(fetcher: Fetcher, base: str) -> None:
        got = await fetcher.fetch(f"{base}/p/{MAC}.json")
        assert isinstance(got, Fetched)

    _run(srv, FetchSettings(ca_file=str(lab_pki.ca_cert), client_cert=str(cert), client_key=str(key)), test)

    async def without(fetcher: Fetcher, base: str) -> None:
        with pytest.raises(FetchError):
            await fetcher.fetch(f"{base}/p/{MAC}.json")

    _run(
        server_factory(auth="client-cert", client_ca=str(lab_pki.ca_cert)),
        FetchSettings(ca_file=str(lab_pki.ca_cert)),
        without,
    )


@pytest.mark.parametrize("name", [f"{MAC}.json", "common.json"])
def test_absurdly_deep_profile_files_are_a_clear_error_not_a_crash(
    server: ProvisioningServer, name: str
) -> None:
    """5,000 nested arrays make Python's JSON parser raise RecursionError: a broken file, like any other."""
    (Path(server.config.profiles_dir) / name).write_text('{"phone": ' + "[" * 5000 + "]" * 5000 + "}")
    with pytest.raises(ProvisioningError, match=name.replace(".", r"\.")):
        server.body(MAC)
