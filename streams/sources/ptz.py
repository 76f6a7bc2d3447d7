"""A PTZ camera's patrol as a source: move to the next preset, let it settle, take the frame.

`PatrolSource.read()` returns one frame per call, from the next preset in turn, with the
preset's virtual camera id (pinewatch.core.config.CameraConfig.virtual_cameras). The picture
itself comes from the camera's own source (snapshot URL, RTSP ...) behind the same interface.

A preset whose move fails (after `ptz.retries` more tries, spaced by the streams backoff) is
skipped with a backoff of its own, and the same read goes on to the next preset: one broken
preset never stops the patrol. Its failure is kept for the caller (`take_failures`), which
reports it on that preset's health. Only when no preset can be reached does read() fail.

Moves:
- `HttpPtz`: the camera's HTTP API, e.g. Hikvision `PUT /ISAPI/PTZCtrl/channels/1/presets/{preset}/goto`
  or Dahua `GET /cgi-bin/ptz.cgi?action=start&channel=0&code=GotoPreset&arg1=0&arg2={preset}&arg3=0`;
  basic or digest auth.
- `OnvifPtz`: ONVIF PTZ `GotoPreset` as a SOAP 1.2 POST, with a WS-Security UsernameToken
  (password digest) when a username is set.
Retried: timeouts, connection errors, HTTP 408, 429 and 5xx. Not retried: other 4xx and SOAP
faults (wrong preset, wrong credentials), which the preset's health shows as `error`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from abc import ABC, abstractmethod
from datetime import datetime, timezone
from urllib.parse import quote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import httpx

from pinewatch.core.config import CameraConfig, PtzConfig, StreamsConfig
from streams.backoff import Backoff
from streams.sources.base import BadData, Frame, Source, SourceError, SourceUnavailable, redact_url

_RETRY_STATUSES = {408, 429}
SOAP_NS = "http://www.w3.org/2003/05/soap-envelope"
PTZ_NS = "http://www.onvif.org/ver20/ptz/wsdl"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PASSWORD_DIGEST = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
GOTO_PRESET_ACTION = "http://www.onvif.org/ver20/ptz/wsdl/GotoPreset"


class _Retryable(Exception):
    pass


class PtzMover(ABC):
    """Moves one camera to a preset; raises SourceError when it cannot."""

    def __init__(self, config: PtzConfig, backoff_min_s: float, backoff_max_s: float) -> None:
        self.config = config
        self._backoff = Backoff(backoff_min_s, backoff_max_s)
        self._client: httpx.Client | None = None

    @property
    def max_move_s(self) -> float:
        """The longest one goto() may take, all tries and waits included."""
        retries = self.config.retries
        sleeps = sum(min(self._backoff.max_s, self._backoff.min_s * 2**k) for k in range(retries))
        return (1 + retries) * 2 * self.config.timeout_s + sleeps

    def goto(self, token: str) -> None:
        self._backoff.reset()
        for attempt in range(self.config.retries + 1):
            try:
                self._move_once(token)
                return
            except _Retryable as exc:
                if attempt == self.config.retries:
                    raise SourceUnavailable(
                        f"PTZ {redact_url(self.config.url)}: preset {token}: {exc} (after {attempt + 1} attempts)"
                    ) from None
                self.close()  # a broken keep-alive connection must not be reused
                time.sleep(self._backoff.next_delay())
        raise AssertionError("unreachable")

    def _client_for_use(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=self.config.timeout_s, auth=self._auth())
        return self._client

    def _auth(self) -> httpx.Auth | None:
        return None

    def _send(self, method: str, url: str, **kwargs) -> httpx.Response:
        try:
            response = self._client_for_use().request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}") from None
        except httpx.InvalidURL as exc:
            raise BadData(f"PTZ: invalid URL {redact_url(url)}: {exc}") from None
        # A 5xx that carries a SOAP fault is the camera's answer (wrong token ...), not an outage.
        if (response.status_code >= 500 and not self._fault_text(response)) or response.status_code in _RETRY_STATUSES:
            raise _Retryable(f"HTTP {response.status_code}")
        return response

    def _fault_text(self, response: httpx.Response) -> str:
        return ""

    @abstractmethod
    def _move_once(self, token: str) -> None: ...

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class HttpPtz(PtzMover):
    def _auth(self) -> httpx.Auth | None:
        config = self.config
        if not config.username:
            return None
        if config.auth == "basic":
            return httpx.BasicAuth(config.username, config.password)
        return httpx.DigestAuth(config.username, config.password)

    def _move_once(self, token: str) -> None:
        config = self.config
        url = config.url.format(preset=quote(token, safe=""))
        body = config.body.format(preset=token) if config.body else None
        response = self._send(config.method, url, content=body)
        if response.status_code >= 400:
            raise BadData(f"PTZ {redact_url(url)}: HTTP {response.status_code}")


def goto_preset_envelope(profile_token: str, preset_token: str, username: str = "", password: str = "", now: datetime | None = None, nonce: bytes | None = None) -> str:
    """The SOAP 1.2 GotoPreset request; with a username, a WS-Security UsernameToken whose
    PasswordDigest is Base64(SHA-1(nonce + created + password)) (the ONVIF core spec's rule)."""
    header = ""
    if username:
        nonce = nonce if nonce is not None else os.urandom(16)
        created = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
        digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()
        header = (
            f'<s:Header><wsse:Security xmlns:wsse="{WSSE_NS}" xmlns:wsu="{WSU_NS}"><wsse:UsernameToken>'
            f"<wsse:Username>{escape(username)}</wsse:Username>"
            f'<wsse:Password Type="{PASSWORD_DIGEST}">{digest}</wsse:Password>'
            f"<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce><wsu:Created>{created}</wsu:Created>"
            "</wsse:UsernameToken></wsse:Security></s:Header>"
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{SOAP_NS}" xmlns:tptz="{PTZ_NS}">{header}'
        f"<s:Body><tptz:GotoPreset><tptz:ProfileToken>{escape(profile_token)}</tptz:ProfileToken>"
        f"<tptz:PresetToken>{escape(preset_token)}</tptz:PresetToken></tptz:GotoPreset></s:Body></s:Envelope>"
    )


def soap_fault(text: str) -> str:
    """The reason of a SOAP fault in `text`, '' when it holds none (or is not XML)."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return ""
    fault = root.find(f".//{{{SOAP_NS}}}Fault")
    if fault is None:
        return ""
    reason = fault.find(f".//{{{SOAP_NS}}}Text")
    subcode = fault.findall(f".//{{{SOAP_NS}}}Value")
    parts = [v.text.strip() for v in subcode if v.text] + ([reason.text.strip()] if reason is not None and reason.text else [])
    return ": ".join(parts) or "SOAP fault"


class OnvifPtz(PtzMover):
    def _fault_text(self, response: httpx.Response) -> str:
        return soap_fault(response.text)

    def _move_once(self, token: str) -> None:
        config = self.config
        envelope = goto_preset_envelope(config.profile_token, token, config.username, config.password)
        headers = {"Content-Type": f'application/soap+xml; charset=utf-8; action="{GOTO_PRESET_ACTION}"'}
        response = self._send("POST", config.url, content=envelope.encode(), headers=headers)
        fault = self._fault_text(response)
        if fault:  # wrong preset or profile token, not authorised: trying again will not help
            raise BadData(f"ONVIF {redact_url(config.url)}: preset {token}: {fault}"[:500])
        if response.status_code >= 400:
            raise BadData(f"ONVIF {redact_url(config.url)}: preset {token}: HTTP {response.status_code}")


class NoPresetReady(SourceUnavailable):
    """Every preset failed its move or waits out its backoff: the camera as a whole is unreachable."""


class PatrolSource(Source):
    def __init__(
        self,
        camera_id: str,
        picture: Source,
        mover: PtzMover,
        presets: list[tuple[str, str]],
        settle_s: float,
        backoff_min_s: float,
        backoff_max_s: float,
        clock=time.monotonic,
    ) -> None:
        """presets: (virtual camera id, preset token) in patrol order."""
        if not presets:
            raise ValueError("a patrol needs at least one preset")
        self.camera_id = camera_id
        self.picture = picture
        self.mover = mover
        self.presets = presets
        self.settle_s = settle_s
        self.paced = picture.paced
        self._clock = clock
        self._next = 0
        self._backoffs = {vid: Backoff(backoff_min_s, backoff_max_s) for vid, _ in presets}
        self._retry_at = {vid: 0.0 for vid, _ in presets}
        self._failures: list[tuple[str, SourceError]] = []
        self.current: str = presets[0][0]  # the preset the latest read aimed at

    @property
    def max_read_s(self) -> float:
        return len(self.presets) * self.mover.max_move_s + self.settle_s + self.picture.max_read_s

    def take_failures(self) -> list[tuple[str, SourceError]]:
        """(virtual camera id, error) of each preset move that failed since the last call."""
        failures, self._failures = self._failures, []
        return failures

    def read(self) -> Frame:
        for _ in range(len(self.presets)):
            vid, token = self.presets[self._next]
            self._next = (self._next + 1) % len(self.presets)
            if self._clock() < self._retry_at[vid]:
                continue
            self.current = vid
            try:
                self.mover.goto(token)
            except SourceError as exc:
                self._failures.append((vid, exc))
                self._retry_at[vid] = self._clock() + self._backoffs[vid].next_delay()
                continue
            self._backoffs[vid].reset()
            time.sleep(self.settle_s)
            frame = self.picture.read()  # the camera's own picture failing is the whole camera's trouble
            return Frame(vid, frame.captured_at, frame.image)
        raise NoPresetReady(f"camera {self.camera_id}: no preset could be reached")

    def close(self) -> None:
        self.picture.close()
        self.mover.close()


def open_patrol(camera: CameraConfig, streams: StreamsConfig, picture: Source) -> PatrolSource:
    config = camera.ptz
    mover_type = OnvifPtz if config.protocol == "onvif" else HttpPtz
    mover = mover_type(config, streams.reconnect_min_s, streams.reconnect_max_s)
    presets = [(virtual.id, preset.token) for virtual, preset in zip(camera.virtual_cameras(), camera.presets)]
    return PatrolSource(camera.id, picture, mover, presets, config.settle_s, streams.reconnect_min_s, streams.reconnect_max_s)
