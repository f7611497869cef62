"""Fetching a profile: HTTPS only, certificate verified, bounded in size and time.

    fetcher = Fetcher(FetchSettings(ca_file=..., max_bytes=1 << 20, timeout_s=20))
    result = await fetcher.fetch(url, etag=last_etag, credentials=("user", "pw"))
    ...
    await fetcher.aclose()

`result` is `Fetched` (a new body) or `NotModified` (the server answered 304 to If-None-Match:
the poll cost one small request). Every failure is a FetchError subclass with a message a person
can act on. Redirects are followed by hand, at most five, and only to https:// URLs; credentials
go only to the origin they were given for. HTTP Basic and Digest auth are both answered (the
scheme is learnt from the server's 401 and used up front from then on).
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from firmware.errors import (
    AuthRequiredError,
    FetchError,
    FetchTimeoutError,
    HttpStatusError,
    InsecureUrlError,
    TlsError,
    TooLargeError,
)
from firmware.provisioning.signature import HEADER as SIGNATURE_HEADER

MAX_REDIRECTS = 5
USER_AGENT = "CUSAX-Deskphone/0.1"


@dataclass(frozen=True)
class FetchSettings:
    ca_file: str = ""  # pinned CA bundle; empty: the system store
    client_cert: str = ""
    client_key: str = ""
    max_bytes: int = 1 << 20
    timeout_s: float = 20.0
    user_agent: str = USER_AGENT


@dataclass(frozen=True)
class Fetched:
    body: bytes
    etag: str
    signature: str | None
    url: str  # after redirects


@dataclass(frozen=True)
class NotModified:
    etag: str


FetchResult = Fetched | NotModified


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _require_https(url: str, what: str) -> None:
    if urlsplit(url).scheme.lower() != "https":
        raise InsecureUrlError(f"{what} {url[:80]!r} is not https: refused")


def _challenge(response: httpx.Response) -> tuple[str, str]:
    """(scheme, realm) of the first WWW-Authenticate challenge."""
    header = response.headers.get("www-authenticate", "")
    scheme = header.split(" ", 1)[0].strip().lower()
    realm = ""
    if 'realm="' in header:
        realm = header.split('realm="', 1)[1].split('"', 1)[0]
    return scheme, realm[:64]


def _tls_reason(err: BaseException) -> str | None:
    """The certificate/TLS error somewhere in an httpx exception's chain, as a short reason."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"server certificate refused: {seen.verify_message or seen.reason}"
        if isinstance(seen, ssl.SSLError):
            return f"TLS failed: {seen.reason or seen}"
        seen = seen.__cause__ or seen.__context__
    return None


class Fetcher:
    def __init__(self, settings: FetchSettings) -> None:
        self.settings = settings
        self._client: httpx.AsyncClient | None = None
        self._schemes: dict[tuple[str, str, int | None], str] = {}  # origin -> "basic" | "digest"
        self.requests = 0  # HTTP requests sent (benchmarks, tests)

    def _ssl_context(self) -> ssl.SSLContext:
        s = self.settings
        try:
            ctx = ssl.create_default_context(cafile=s.ca_file or None)
            if s.client_cert:
                ctx.load_cert_chain(s.client_cert, s.client_key or None)
        except (OSError, ssl.SSLError) as err:
            raise TlsError(f"cannot load the CA or client certificate: {err}") from None
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            t = self.settings.timeout_s
            self._client = httpx.AsyncClient(
                verify=self._ssl_context(),
                follow_redirects=False,
                timeout=httpx.Timeout(t),
                trust_env=False,  # no proxy or CA from the environment: the config says whom to trust
                headers={"User-Agent": self.settings.user_agent, "Accept": "application/json"},
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def fetch(
        self, url: str, *, etag: str = "", credentials: tuple[str, str] | None = None
    ) -> FetchResult:
        _require_https(url, "provisioning URL")
        try:
            async with asyncio.timeout(self.settings.timeout_s):
                return await self._follow(url, etag, credentials)
        except TimeoutError:
            raise FetchTimeoutError(f"no answer within {self.settings.timeout_s:g} s") from None
        except httpx.TimeoutException:
            raise FetchTimeoutError(f"no answer within {self.settings.timeout_s:g} s") from None
        except httpx.HTTPError as err:
            reason = _tls_reason(err)
            if reason is not None:
                raise TlsError(reason) from None
            host = urlsplit(url).hostname
            raise FetchError(f"cannot reach {host}: {type(err).__name__} {err}"[:160]) from None

    async def _follow(self, url: str, etag: str, credentials: tuple[str, str] | None) -> FetchResult:
        home = _origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            creds = credentials if _origin(url) == home else None
            result = await self._one(url, etag, creds)
            if isinstance(result, str):  # a redirect
                url = urljoin(url, result)
                _require_https(url, "redirect to")
                continue
            return result
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    def _auth(self, origin: tuple[str, str, int | None], creds: tuple[str, str] | None) -> httpx.Auth | None:
        if creds is None or origin not in self._schemes:
            return None
        if self._schemes[origin] == "digest":
            return httpx.DigestAuth(*creds)
        return httpx.BasicAuth(*creds)

    async def _one(self, url: str, etag: str, creds: tuple[str, str] | None) -> FetchResult | str:
        origin = _origin(url)
        headers = {"If-None-Match": etag} if etag else {}
        auth = self._auth(origin, creds)
        for _attempt in range(2):
            self.requests += 1
            async with self._http().stream("GET", url, headers=headers, auth=auth) as response:
                if response.status_code == 401:
                    scheme, realm = _challenge(response)
                    if creds is not None and auth is None and scheme in ("basic", "digest"):
                        self._schemes[origin] = scheme
                        auth = self._auth(origin, creds)
                        continue  # once more, with credentials
                    rejected = auth is not None
                    what = "credentials rejected" if rejected else "credentials needed"
                    raise AuthRequiredError(realm, f"{what} (HTTP 401, realm {realm!r})", rejected=rejected)
                return await self._result(response, url)
        raise AssertionError("unreachable")

    async def _result(self, response: httpx.Response, url: str) -> FetchResult | str:
        status = response.status_code
        if status == 304:
            return NotModified(response.headers.get("etag", ""))
        if status in (301, 302, 303, 307, 308):
            location = str(response.headers.get("location", ""))
            if not location:
                raise HttpStatusError(status, f"redirect ({status}) without a Location")
            return location
        if status == 404:
            raise HttpStatusError(404, "no profile for this phone on the server (HTTP 404)")
        if status == 403:
            raise HttpStatusError(403, "the server refuses this phone (HTTP 403)")
        if status != 200:
            raise HttpStatusError(status, f"server answered HTTP {status} {response.reason_phrase}"[:80])
        limit = self.settings.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise TooLargeError(f"profile of {int(declared)} bytes is over the {limit}-byte limit")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > limit:
                raise TooLargeError(f"profile is over the {limit}-byte limit (download stopped)")
        return Fetched(
            body=bytes(body),
            etag=response.headers.get("etag", ""),
            signature=response.headers.get(SIGNATURE_HEADER),
            url=url,
        )
