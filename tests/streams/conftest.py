"""Real peers for the stream tests: HTTP cameras, an RTSP server, Redis, a tiny ONNX model.

- CameraHttpServer: a threaded HTTP server whose paths behave like cameras (changing,
  red (smoke for the colour model), frozen, garbage, 404, flaky 503, drip-feeding, silent).
- RtspServer: GStreamer's gst-rtsp-server (tests/streams/rtsp_server.py under Debian's python3).
- redis_server: a private redis-server on a free port (pinewatch.embedded_redis).
- colour_model: a real ONNX model in the YOLO layout whose "smoke" score is how red the frame
  is, so that detections, masks and the temporal vote can be driven by what a camera serves.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from pinewatch.core.config import RedisConfig
from pinewatch.embedded_redis import EmbeddedRedis, free_port

HERE = Path(__file__).resolve().parent
RTSP_SERVER_SCRIPT = HERE / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"
ROOT = HERE.parents[1]
SAMPLE_VIDEOS = ROOT / "sample_videos"


# ---------- images ----------

def jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


def scene(rng: np.random.Generator, red: bool = False, size=(240, 320)) -> np.ndarray:
    """A frame with random coarse structure (so consecutive frames hash differently)."""
    coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    image = cv2.resize(coarse, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    if red:  # strongly red whatever the structure: high R, low G and B
        image[..., 2] = 155 + image[..., 2] // 2.55
        image[..., :2] //= 8
    else:  # grey-ish: R close to G and B, so the colour model sees no smoke
        grey = image.mean(axis=2, keepdims=True).astype(np.uint8)
        image = np.repeat(grey, 3, axis=2)
    return image


def stamp_clock(image: np.ndarray, second: int) -> np.ndarray:
    """The image with a camera-style date and time burnt into its top-left corner."""
    stamped = image.copy()
    cv2.putText(stamped, f"2026-01-01 12:{second // 60 % 60:02d}:{second % 60:02d}", (8, 20),
                cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
    return stamped


# ---------- HTTP cameras ----------

class CameraHttpServer:
    """Paths: /changing /red /frozen /garbage /missing /flaky /drip /silent (and /red-<anything>)."""

    def __init__(self) -> None:
        self.requests: dict[str, int] = {}
        self.flaky_failures = 2
        self._rng = np.random.default_rng(1)
        self._frozen = scene(np.random.default_rng(7))
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                outer.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def count(self, path: str) -> int:
        return self.requests.get("/" + path.lstrip("/"), 0)

    def _image(self, red: bool) -> bytes:
        with self._lock:
            image = scene(self._rng, red=red)
        return jpeg(image)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?")[0]
        with self._lock:
            self.requests[path] = self.requests.get(path, 0) + 1
            seen = self.requests[path]
        kind = path.strip("/").split("-")[0]
        if kind == "missing":
            return self._send(request, 404, b"not here", "text/plain")
        if kind == "flaky" and seen <= self.flaky_failures:
            return self._send(request, 503, b"busy", "text/plain")
        if kind == "garbage":
            return self._send(request, 200, os.urandom(5000), "image/jpeg")
        if kind == "frozen":  # a stuck picture with a live burnt-in clock: the bytes differ every time
            return self._send(request, 200, jpeg(stamp_clock(self._frozen, seen)), "image/jpeg")
        if kind == "silent":
            time.sleep(30)
            return
        if kind == "drip":
            request.send_response(200)
            request.send_header("Content-Type", "image/jpeg")
            request.send_header("Content-Length", "1000000")
            request.end_headers()
            try:
                for _ in range(300):
                    request.wfile.write(b"\xff")
                    request.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
            return
        return self._send(request, 200, self._image(red=kind == "red"), "image/jpeg")

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
        try:
            request.send_response(status)
            request.send_header("Content-Type", content_type)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        except OSError:
            pass

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def http_cameras():
    server = CameraHttpServer()
    yield server
    server.close()


@pytest.fixture
def black_hole():
    """A TCP port that accepts connections (kernel backlog) but never answers: a hung camera."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def closed_port() -> int:
    return free_port()


# ---------- RTSP ----------

def rtsp_available() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"],
        capture_output=True,
    )
    return probe.returncode == 0


class RtspServer:
    def __init__(self, clip: Path, port: int | None = None) -> None:
        self.clip = clip
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam"

    def start(self) -> "RtspServer":
        self.process = subprocess.Popen(
            [SYSTEM_PYTHON, str(RTSP_SERVER_SCRIPT), "--port", str(self.port), "--file", str(self.clip)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            self.stop()
            raise RuntimeError(f"RTSP server did not start: {line!r}")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # a camera losing power: no goodbye to the clients
            self.process.wait(10)
        self.process = None


@pytest.fixture(scope="session")
def rtsp_clip(tmp_path_factory) -> Path:
    """60 s of 320x240 H.264 at 10 fps with a keyframe every second (cheap to serve and decode)."""
    if not rtsp_available():
        pytest.skip("gst-rtsp-server for Debian's python3 is missing (make system-deps)")
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is missing (make system-deps)")
    clip = tmp_path_factory.mktemp("rtsp") / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10", "-t", "60",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p", str(clip)],
        check=True,
    )
    return clip


@pytest.fixture
def rtsp_server(rtsp_clip):
    server = RtspServer(rtsp_clip).start()
    yield server
    server.stop()


# ---------- Redis ----------

@pytest.fixture(scope="session")
def redis_server():
    with EmbeddedRedis(appendonly=False) as server:
        yield server


@pytest.fixture
def redis_config(redis_server, tmp_path) -> RedisConfig:
    """Streams and keys unique to the test, on the private server; the spool in tmp_path."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    return RedisConfig(
        url=redis_server.url,
        detections_stream=f"{prefix}:detections",
        health_stream=f"{prefix}:health",
        dead_letter_stream=f"{prefix}:dead",
        heartbeat_prefix=f"{prefix}:heartbeat:",
        spool_dir=tmp_path / "spool",
        socket_timeout_s=1.0,
    )


# ---------- a model driven by colour ----------

def make_colour_model(path: Path) -> Path:
    """YOLO-layout ONNX [batch, 6, 1] (classes smoke, fire): one 16x16 box at the centre of the
    64x64 input whose smoke score is mean(R - (G + B) / 2), clipped at 0. Fire is always 0."""
    import onnx
    from onnx import TensorProto, helper

    def const(name, values, dims, dtype=TensorProto.FLOAT):
        return helper.make_node("Constant", [], [name], value=helper.make_tensor(name + "_v", dtype, dims, values))

    nodes = [
        const("r_start", [0], [1], TensorProto.INT64), const("g_start", [1], [1], TensorProto.INT64),
        const("b_start", [2], [1], TensorProto.INT64), const("b_end", [3], [1], TensorProto.INT64),
        const("axis1", [1], [1], TensorProto.INT64),
        helper.make_node("Slice", ["images", "r_start", "g_start", "axis1"], ["r"]),
        helper.make_node("Slice", ["images", "g_start", "b_start", "axis1"], ["g"]),
        helper.make_node("Slice", ["images", "b_start", "b_end", "axis1"], ["b"]),
        helper.make_node("Add", ["g", "b"], ["gb"]),
        const("half", [0.5], []),
        helper.make_node("Mul", ["gb", "half"], ["gb_half"]),
        helper.make_node("Sub", ["r", "gb_half"], ["redness"]),
        helper.make_node("ReduceMean", ["redness"], ["mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Relu", ["mean"], ["score4"]),
        const("shape", [-1, 1, 1], [3], TensorProto.INT64),
        helper.make_node("Reshape", ["score4", "shape"], ["smoke"]),
        const("zero", [0.0], []),
        helper.make_node("Mul", ["smoke", "zero"], ["fire"]),
        const("zeros4", [0.0] * 4, [1, 4, 1]),
        helper.make_node("Mul", ["smoke", "zeros4"], ["zero_box"]),
        const("box", [32.0, 32.0, 16.0, 16.0], [1, 4, 1]),
        helper.make_node("Add", ["zero_box", "box"], ["boxes"]),
        helper.make_node("Concat", ["boxes", "smoke", "fire"], ["output0"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "colour",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, 64, 64])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", 6, 1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in {"names": "{0: 'smoke', 1: 'fire'}", "imgsz": "[64, 64]", "stride": "32"}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


@pytest.fixture(scope="session")
def colour_model(tmp_path_factory) -> Path:
    return make_colour_model(tmp_path_factory.mktemp("model") / "colour.onnx")
