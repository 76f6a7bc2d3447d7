"""CPU cost of sampling one RTSP camera, by method (numbers in benchmarks/STREAMS.md).

    .venv/bin/python benchmarks/rtsp_sampling_cost.py [--seconds 30] [--interval 10]

Serves a 1080p 25 fps H.264 clip (2 s GOP, 4 Mbit/s, with sensor-like noise so that every frame
differs) from the test RTSP server (gst-rtsp-server, no re-encoding), then measures the client's
CPU time, one method at a time, each in its own process:
- decode_all_opencv: cv2.VideoCapture reading every frame (decodes everything);
- decode_all_pyav: PyAV decoding every frame, no conversion;
- keepalive: streams' RtspSource(keep_alive=True): packets pulled, one keyframe decoded per sample;
- on_demand: streams' RtspSource(keep_alive=False): connect, one keyframe, disconnect per sample.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "tests" / "streams" / "rtsp_server.py"
SOURCE_CLIP = ROOT / "sample_videos" / "nosmoke_hpwren_lyons_peak.mp4"
METHODS = ("decode_all_opencv", "decode_all_pyav", "keepalive", "on_demand")


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def make_clip(path: Path, seconds: int) -> None:
    if path.exists():
        return
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(SOURCE_CLIP), "-t", str(seconds),
         "-vf", "scale=1920:1080,fps=25,noise=alls=6:allf=t", "-c:v", "libx264", "-preset", "veryfast",
         "-b:v", "4M", "-maxrate", "4M", "-bufsize", "8M", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
         "-bf", "0", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )


def measure(method: str, url: str, seconds: float, interval_s: float, clip: Path) -> dict:
    import av
    import cv2

    from streams.sources.rtsp import RtspSource, ffmpeg_options

    with av.open(str(clip)):  # one-time library start-up is not a per-camera cost
        pass
    started_cpu, started = cpu_s(), time.monotonic()
    result: dict = {"method": method}
    if method == "decode_all_opencv":
        capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
        frames = 0
        while time.monotonic() - started < seconds and capture.grab() and capture.retrieve()[0]:
            frames += 1
        result["frames"] = frames
    elif method == "decode_all_pyav":
        with av.open(url, options=ffmpeg_options(10), timeout=(10, 10)) as container:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1
            frames = 0
            for packet in container.demux(stream):
                frames += len(packet.decode())
                if time.monotonic() - started >= seconds:
                    break
        result["frames"] = frames
    else:
        source = RtspSource("bench", url, open_timeout_s=10, read_timeout_s=10, keep_alive=method == "keepalive")
        latencies = []
        next_due = started
        while time.monotonic() - started < seconds:
            time.sleep(max(0.0, next_due - time.monotonic()))
            t0 = time.monotonic()
            frame = source.read()
            latencies.append(time.monotonic() - t0)
            assert frame.image.shape == (1080, 1920, 3)
            next_due += interval_s
        source.close()
        result.update(samples=len(latencies), mean_sample_latency_s=round(sum(latencies) / len(latencies), 3))
    wall, cpu = time.monotonic() - started, cpu_s() - started_cpu
    result.update(wall_s=round(wall, 1), cpu_s=round(cpu, 3), core_percent=round(100 * cpu / wall, 2))
    if "samples" in result:
        result["cpu_ms_per_sample"] = round(1000 * cpu / result["samples"], 1)
    if "frames" in result:
        result["cpu_ms_per_frame"] = round(1000 * cpu / max(1, result["frames"]), 2)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--interval", type=float, default=10)
    parser.add_argument("--clip", type=Path, default=Path("/tmp/pinewatch-bench-1080p25.mp4"))
    parser.add_argument("--port", type=int, default=0, help="RTSP port (0: a free one)")
    parser.add_argument("--method", choices=METHODS, help=argparse.SUPPRESS)  # child process mode
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.method:
        print(json.dumps(measure(args.method, args.url, args.seconds, args.interval, args.clip)))
        return 0

    make_clip(args.clip, int(args.seconds) + 20)
    if not args.port:
        from pinewatch.embedded_redis import free_port

        args.port = free_port()
    results = []
    for method in METHODS:
        server = subprocess.Popen(
            ["/usr/bin/python3", str(SERVER), "--port", str(args.port), "--file", str(args.clip)],
            stdout=subprocess.PIPE, text=True,
        )
        try:
            assert server.stdout.readline().strip() == "ready"
            url = f"rtsp://127.0.0.1:{args.port}/cam"
            child = subprocess.run(
                [sys.executable, __file__, "--method", method, "--url", url, "--seconds", str(args.seconds),
                 "--interval", str(args.interval), "--clip", str(args.clip)],
                capture_output=True, text=True, check=True, cwd=ROOT,
            )
            results.append(json.loads(child.stdout.strip().splitlines()[-1]))
            print(json.dumps(results[-1]), flush=True)
        finally:
            server.terminate()
            server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
