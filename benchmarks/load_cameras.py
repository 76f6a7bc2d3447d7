"""Load test: one stream worker serving many HTTP snapshot cameras (results in benchmarks/STREAMS.md).

    .venv/bin/python benchmarks/load_cameras.py [--cameras 200] [--interval 10] [--duration 150]
        [--model models/pinewatch-smoke.onnx] [--imgsz 640] [--threads 0]

A separate process serves real 1280x960 tower-camera JPEGs (../shared/sequences) at
/cam/<n>; each request gets that camera's next timelapse frame. The worker runs in this
process with a private Redis, exactly as `pinewatch run` would. Every 10 s it prints the frames
handled, frames dropped by the detector, slots skipped and the detector queue; at the end, the
frame-to-publish latency (capture -> detected, judged, events spooled) percentiles after the
warm-up, the spool -> Redis lag, and the CPU used by the worker and by the camera server.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = Path(__file__).resolve().parents[2] / "shared" / "sequences"


def serve_cameras(port_file: Path, images_dir: Path) -> None:
    """Child process: the camera farm."""
    images = [p.read_bytes() for p in sorted(images_dir.glob("*/*.jpg"))]
    # Each camera walks the timelapses in order from its own offset, so no camera looks frozen
    # and smoke persists across a camera's samples as it would in the field (the vote can confirm).
    requests_per_camera: dict[int, int] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            camera = int(self.path.rsplit("/", 1)[-1])
            with lock:
                step = requests_per_camera[camera] = requests_per_camera.get(camera, -1) + 1
            body = images[(camera * 7 + step) % len(images)]
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    port_file.write_text(str(server.server_address[1]))
    server.serve_forever()


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def default_model() -> Path:
    for candidate in ("models/pinewatch-smoke-int8.onnx", "models/pinewatch-smoke.onnx", "data/dev/yolov8n-dev.onnx"):
        if (ROOT / candidate).is_file():
            return ROOT / candidate
    raise SystemExit("no model found; pass --model")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=150.0, help="seconds of load")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before the steady-state figures start")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--imgsz", type=int, default=None, help="default: the configured one")
    parser.add_argument("--threads", type=int, default=None, help="detector threads (default: the configured one)")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # child process mode
    args = parser.parse_args()
    if args.serve:
        serve_cameras(args.serve, IMAGES)
        return 0

    from detector.machine import process_cpu_seconds
    from pinewatch.core.config import Settings
    from pinewatch.embedded_redis import EmbeddedRedis
    from streams.stats import LatencyWindow, WorkerStats
    from streams.worker import run

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    work = Path(tempfile.mkdtemp(prefix="pinewatch-load-"))
    port_file = work / "port"
    farm = subprocess.Popen([sys.executable, __file__, "--serve", str(port_file)])
    redis_server = EmbeddedRedis(appendonly=False).start()
    try:
        while not port_file.exists() or not port_file.read_text():
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port_file.read_text()}"
        detector = {"model_path": str(args.model or default_model())}
        for key, value in (("imgsz", args.imgsz), ("threads", args.threads), ("batch_size", args.batch_size)):
            if value is not None:
                detector[key] = value
        settings = Settings(
            redis={"url": redis_server.url, "spool_dir": str(work / "spool")},
            detector=detector,
            streams={"evidence_dir": str(work / "evidence")},
            cameras=[{"id": f"cam{n:03d}", "source": f"{base}/cam/{n}", "interval_s": args.interval} for n in range(args.cameras)],
        )
        stop = threading.Event()
        stats = WorkerStats()
        worker = threading.Thread(target=run, args=(settings, stop), kwargs={"stats": stats}, daemon=True)
        cpu0, farm_cpu0, started = own_cpu_seconds(), process_cpu_seconds(farm.pid), time.monotonic()
        worker.start()
        expected_rate = args.cameras / args.interval
        print(f"{args.cameras} cameras every {args.interval:g}s = {expected_rate:g} frames/s; model {detector['model_path']}, "
              f"imgsz {settings.detector.imgsz}, threads {settings.detector.threads}, batch {settings.detector.batch_size}", flush=True)
        timeline = []
        steady = None  # (time, totals) when the warm-up ended
        while time.monotonic() - started < args.duration:
            time.sleep(10)
            total = stats.totals()
            if steady is None and time.monotonic() - started >= args.warmup:
                whole_run_latency, stats.frame_latency = stats.frame_latency, LatencyWindow()
                steady = (time.monotonic(), total)
            point = {"t": round(time.monotonic() - started), "frames": total.frames, "dropped": total.dropped,
                     "skipped_slots": total.skipped_slots, "failures": total.failures,
                     "detector_pending": stats.detector_pending, "spool": stats.spool_pending}
            timeline.append(point)
            print(json.dumps(point), flush=True)
        wall = time.monotonic() - started
        cpu, farm_cpu = own_cpu_seconds() - cpu0, process_cpu_seconds(farm.pid) - farm_cpu0
        stop.set()
        worker.join(30)
        total = stats.totals()

        def pct(window, q):
            value = window.percentile(q)
            return None if value is None else round(value, 3)

        steady_s = time.monotonic() - steady[0]
        # Growth of the backlog over the second half: the detector queue and missed slots.
        half = [p for p in timeline if p["t"] >= wall / 2]
        summary = {
            "cameras": args.cameras, "interval_s": args.interval, "wall_s": round(wall, 1),
            "frames": total.frames, "expected_frames": round(expected_rate * wall),
            "frames_per_s": round(total.frames / wall, 2), "dropped_by_detector": total.dropped,
            "skipped_slots": total.skipped_slots, "failures": total.failures,
            "detector_pending_max": stats.detector_pending_max,
            "detector_pending_second_half": [p["detector_pending"] for p in half],
            "steady_state": {
                "after_s": args.warmup, "seconds": round(steady_s, 1),
                "frames_per_s": round((total.frames - steady[1].frames) / steady_s, 2),
                "dropped_by_detector": total.dropped - steady[1].dropped,
                "skipped_slots": total.skipped_slots - steady[1].skipped_slots,
                "latency_s": {"p50": pct(stats.frame_latency, 50), "p95": pct(stats.frame_latency, 95),
                              "p99": pct(stats.frame_latency, 99), "max": pct(stats.frame_latency, 100)},
            },
            "whole_run_latency_s_until_warmup": {"p95": pct(whole_run_latency, 95), "max": pct(whole_run_latency, 100)},
            "publish_lag_s": {"p95": pct(stats.publish_lag, 95), "messages": stats.messages_sent},
            "worker_cpu_percent_of_one_core": round(100 * cpu / wall, 1),
            "camera_server_cpu_percent": round(100 * farm_cpu / wall, 1),
            "loadavg_1min_at_end": os.getloadavg()[0],
        }
        print(json.dumps(summary, indent=2), flush=True)
    finally:
        farm.terminate()
        farm.wait(10)
        redis_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
