"""A PTZ camera on 127.0.0.1 for the tests: a snapshot URL that shows the current preset's picture,
an HTTP PTZ API and an ONVIF PTZ service (SOAP 1.2 GotoPreset with WS-Security digest).

- GET  /snapshot.jpg            the current preset's frame (each preset a different real frame),
                                with fresh sensor noise each time, like a live camera
- GET  /ptz?preset=<token>      HTTP move: 200, 404 for an unknown preset, 503 for a `broken` one;
                                with `http_auth` "basic" or "digest" (RFC 7616, MD5, qop=auth) the
                                username and password are required first (401 with a challenge)
- POST /onvif/ptz_service       ONVIF GotoPreset: a SOAP fault (HTTP 400) for an unknown preset
                                token, a wrong profile token or a wrong password digest
`stick(token)` makes it ignore moves (a dead motor): the picture stays at that preset.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.etree import ElementTree

import cv2
import numpy as np

SOAP = "http://www.w3.org/2003/05/soap-envelope"
PTZ = "http://www.onvif.org/ver20/ptz/wsdl"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"


def fault(code: str, reason: str) -> bytes:
    return (
        f'<?xml version="1.0"?><s:Envelope xmlns:s="{SOAP}" xmlns:ter="http://www.onvif.org/ver10/error"><s:Body><s:Fault>'
        f"<s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>{code}</s:Value></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en">{reason}</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>'
    ).encode()


class PtzSimulator:
    def __init__(self, frames: dict[str, np.ndarray], profile_token: str = "profile_1", username: str = "", password: str = "") -> None:
        self.frames = dict(frames)
        self._rng = np.random.default_rng(0)
        self.profile_token = profile_token
        self.username, self.password = username, password
        self.current = next(iter(frames))
        self.stuck = False
        self.broken: set[str] = set()
        self.moves: list[tuple[str, float]] = []  # (token, monotonic time) of each accepted move
        self.snapshots: list[tuple[str, float]] = []  # (preset shown, monotonic time)
        self.faults: list[str] = []
        self.http_auth = ""  # "", "basic" or "digest"
        self.unauthorised = 0  # 401 answers given
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                outer.get(self)

            def do_POST(self) -> None:
                outer.post(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stick(self, token: str | None) -> None:
        """The motor dies pointing at preset `token` (None: it works again)."""
        with self._lock:
            if token is not None:
                self.current = token
            self.stuck = token is not None

    def _move(self, token: str) -> None:
        with self._lock:
            self.moves.append((token, time.monotonic()))
            if not self.stuck:
                self.current = token

    def get(self, request: BaseHTTPRequestHandler) -> None:
        path, _, query = request.path.partition("?")
        if path == "/snapshot.jpg":
            with self._lock:
                shown = self.current
                self.snapshots.append((shown, time.monotonic()))
                noise = self._rng.normal(0, 2, (*self.frames[shown].shape[:2], 1))  # luma noise: an IR picture stays grey
            image = np.clip(self.frames[shown] + noise, 0, 255).astype(np.uint8)
            return self._send(request, 200, cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes(), "image/jpeg")
        if path == "/ptz":
            if self.http_auth and not self._http_authorised(request):
                self.unauthorised += 1
                challenge = 'Basic realm="ptz"' if self.http_auth == "basic" else 'Digest realm="ptz", nonce="n0nce", qop="auth", algorithm=MD5'
                return self._send(request, 401, b"", "text/plain", {"WWW-Authenticate": challenge})
            token = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("preset", "")
            if token in self.broken:
                return self._send(request, 503, b"motor fault", "text/plain")
            if token not in self.frames:
                return self._send(request, 404, b"no such preset", "text/plain")
            self._move(token)
            return self._send(request, 200, b"OK", "text/plain")
        self._send(request, 404, b"", "text/plain")

    def post(self, request: BaseHTTPRequestHandler) -> None:
        if request.path != "/onvif/ptz_service":
            return self._send(request, 404, b"", "text/plain")
        body = request.rfile.read(int(request.headers.get("Content-Length", "0")))
        if "application/soap+xml" not in request.headers.get("Content-Type", ""):
            return self._fault(request, "ter:InvalidArgs", "not SOAP 1.2")
        root = ElementTree.fromstring(body)
        if self.username and not self._authorised(root):
            return self._fault(request, "ter:NotAuthorized", "Sender not authorized")
        goto = root.find(f".//{{{PTZ}}}GotoPreset")
        if goto is None:
            return self._fault(request, "ter:ActionNotSupported", "only GotoPreset")
        profile, token = goto.findtext(f"{{{PTZ}}}ProfileToken"), goto.findtext(f"{{{PTZ}}}PresetToken")
        if profile != self.profile_token:
            return self._fault(request, "ter:NoProfile", "The requested profile token does not exist")
        if token in self.broken:
            return self._send(request, 500, b"", "text/plain")  # a crashed service: retried
        if token not in self.frames:
            return self._fault(request, "ter:NoToken", "The requested preset token does not exist")
        self._move(token)
        self._send(request, 200, f'<s:Envelope xmlns:s="{SOAP}"><s:Body><tptz:GotoPresetResponse xmlns:tptz="{PTZ}"/></s:Body></s:Envelope>'.encode(), "application/soap+xml")

    def _authorised(self, root) -> bool:
        token = root.find(f".//{{{WSSE}}}UsernameToken")
        if token is None or token.findtext(f"{{{WSSE}}}Username") != self.username:
            return False
        nonce = base64.b64decode(token.findtext(f"{{{WSSE}}}Nonce") or "")
        created = token.findtext(f"{{{WSU}}}Created") or ""
        expected = base64.b64encode(hashlib.sha1(nonce + created.encode() + self.password.encode()).digest()).decode()
        return token.findtext(f"{{{WSSE}}}Password") == expected

    def _http_authorised(self, request: BaseHTTPRequestHandler) -> bool:
        header = request.headers.get("Authorization", "")
        if self.http_auth == "basic":
            return header == "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if not header.startswith("Digest "):
            return False
        fields = dict(
            (key.strip(), value.strip().strip('"')) for key, _, value in (part.partition("=") for part in header[7:].split(","))
        )
        md5 = lambda text: hashlib.md5(text.encode()).hexdigest()  # noqa: E731
        ha1, ha2 = md5(f"{self.username}:ptz:{self.password}"), md5(f"GET:{fields.get('uri', '')}")
        expected = md5(f"{ha1}:n0nce:{fields.get('nc')}:{fields.get('cnonce')}:auth:{ha2}")
        return fields.get("username") == self.username and fields.get("response") == expected

    def _fault(self, request, code: str, reason: str) -> None:
        self.faults.append(code)
        self._send(request, 400, fault(code, reason), "application/soap+xml")

    @staticmethod
    def _send(request, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        try:
            request.send_response(status)
            request.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                request.send_header(name, value)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        except OSError:
            pass

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
