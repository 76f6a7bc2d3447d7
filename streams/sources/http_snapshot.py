"""HTTP(S) snapshot URLs: many tower cameras publish the current view as one JPEG.

Retry rules, within one sample (the sampler's backoff handles longer outages):
- retried, after `backoff_min_s`, 2x, 4x ... (with jitter) up to `retries` more times:
  connection failures, timeouts, a body cut short, HTTP 408, 429 and 5xx;
- not retried: other 4xx (wrong URL or credentials: BadData, the camera shows as `error`),
  a body that is not an image (BadData), and a Retry-After longer than our next delay;
- each attempt ends after `open_timeout_s + read_timeout_s` at the latest, even when the
  server keeps sending a byte now and then (httpx's own read timeout is per chunk).
Requests say `Cache-Control: no-cache`, so that a proxy cannot hand out an old frame.
"""

from __future__ import annotations

import functools
import ssl
import time

import httpx

from streams.backoff import Backoff
from streams.sources.base import BadData, Frame, Source, SourceUnavailable, decode_image, redact_url, utc_now

# A snapshot is a few hundred kB; a URL that streams without end (MJPEG) must not eat memory.
MAX_SNAPSHOT_BYTES = 32 * 1024 * 1024
_RETRY_STATUSES = {408, 429}
_NO_CACHE = {"Cache-Control": "no-cache", "Pragma": "no-cache"}


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verified TLS context for all cameras: building one costs ~30 ms of CPU, per client."""
    return httpx.create_ssl_context()


class _Retryable(Exception):
    def __init__(self, detail: str, retry_after_s: float = 0.0) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "0")))
    except ValueError:
        return 0.0  # an HTTP date: treat as "soon"


class HttpSnapshotSource(Source):
    def __init__(
        self,
        camera_id: str,
        url: str,
        open_timeout_s: float,
        read_timeout_s: float,
        retries: int,
        backoff_min_s: float,
        backoff_max_s: float,
    ) -> None:
        self.camera_id = camera_id
        self.url = url
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.retries = retries
        self._backoff = Backoff(backoff_min_s, backoff_max_s)
        self._client: httpx.Client | None = None

    @property
    def max_read_s(self) -> float:
        attempts = (1 + self.retries) * (self.open_timeout_s + self.read_timeout_s)
        sleeps = sum(min(self._backoff.max_s, self._backoff.min_s * 2**k) for k in range(self.retries))
        return attempts + sleeps

    def _client_for_use(self) -> httpx.Client:
        if self._client is None:
            timeout = httpx.Timeout(
                connect=self.open_timeout_s, read=self.read_timeout_s, write=self.read_timeout_s, pool=self.open_timeout_s
            )
            # Keep-alive between samples is free and saves a TLS handshake per frame.
            self._client = httpx.Client(timeout=timeout, follow_redirects=True, headers=_NO_CACHE, verify=_tls_context())
        return self._client

    def read(self) -> Frame:
        self._backoff.reset()
        for attempt in range(self.retries + 1):
            try:
                data = self._fetch_once()
                return Frame(self.camera_id, utc_now(), decode_image(data))
            except _Retryable as exc:
                if attempt == self.retries:
                    raise SourceUnavailable(f"{redact_url(self.url)}: {exc} (after {attempt + 1} attempts)") from None
                delay = self._backoff.next_delay()
                if exc.retry_after_s > delay:
                    raise SourceUnavailable(
                        f"{redact_url(self.url)}: {exc}; server asks to retry after {exc.retry_after_s:g}s"
                    ) from None
                self._drop_connection()  # a broken keep-alive connection must not be reused
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _fetch_once(self) -> bytes:
        deadline = time.monotonic() + self.open_timeout_s + self.read_timeout_s
        try:
            with self._client_for_use().stream("GET", self.url) as response:
                status = response.status_code
                if status >= 500 or status in _RETRY_STATUSES:
                    raise _Retryable(f"HTTP {status}", _retry_after(response))
                if status >= 400:
                    raise BadData(f"{redact_url(self.url)}: HTTP {status}")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_SNAPSHOT_BYTES:
                        raise BadData(f"{redact_url(self.url)}: snapshot larger than {MAX_SNAPSHOT_BYTES} bytes")
                    if time.monotonic() > deadline:
                        raise _Retryable(f"snapshot took longer than {self.open_timeout_s + self.read_timeout_s:g}s")
                return bytes(body)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:  # refused, reset, cut short, TLS failure
            raise _Retryable(f"{type(exc).__name__}: {exc}") from None
        except httpx.InvalidURL as exc:
            raise BadData(f"invalid URL {redact_url(self.url)}: {exc}") from None

    def _drop_connection(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def close(self) -> None:
        self._drop_connection()
