"""Soak test: is a stream worker flat over a long run? (issue 14; a script, not a CI test)

    .venv/bin/python benchmarks/soak.py [--cameras 200] [--interval 10] [--duration 1800]
        [--model models/pinewatch-smoke.onnx] [--imgsz 640] [--warmup 300] [--out benchmarks/results/soak-...]

Runs the real processes: `pinewatch run` (the worker, as deployed) against a farm of HTTP
snapshot cameras serving real tower JPEGs (benchmarks/load_cameras.py's farm), a private Redis
with AOF, and `pinewatch serve --no-api --no-dispatcher` consuming into SQLite. Every 10 s it
samples the worker's RSS (its detector pool processes included, if any), the spool, and the
consumer group's lag and pending entries. At the end it writes samples.csv, summary.json and
rss.svg (the memory curve) to --out and says whether it held:

- RSS growth after the warm-up under 5 %: the median of the last --window seconds against the
  median of the first --window seconds after --warmup (one sample against one sample would
  measure a single allocator swing of 20-30 MB); the least-squares slope (MB/min) is reported too;
- backlog flat: consumer lag + pending + spool at the end no higher than the highest level
  seen in the first half after the warm-up (+ one interval's worth of frames).

A run whose detector dropped frames after the warm-up (read from the worker's once-a-minute
summary line) proves nothing about memory: RSS then follows the detector queue (64 waiting
1280x960 frames are ~240 MB). It is reported as inconclusive, not as flat or growing.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_EVERY_S = 10.0


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (a detector pool), in MB."""
    total = 0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{current}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total / 1024


def backlog(client, streams: tuple[str, ...], group: str) -> tuple[int, int]:
    """(lag, pending) of the consumer group summed over the streams."""
    lag = pending = 0
    for stream in streams:
        try:
            for info in client.xinfo_groups(stream):
                name = info["name"].decode() if isinstance(info["name"], bytes) else info["name"]
                if name == group:
                    lag += int(info.get("lag") or 0)
                    pending += int(info["pending"])
        except Exception:  # noqa: BLE001 - the stream is created with the first entry
            pass
    return lag, pending


SUMMARY_LINE = re.compile(r"^(\S+ \S+) INFO streams\.worker: frames=.*? detector_dropped=(\d+)")


def detector_drops(log_text: str) -> list[tuple[datetime, int]]:
    """(time, frames the detector dropped so far) from each of the worker's summary lines."""
    drops = []
    for line in log_text.splitlines():
        match = SUMMARY_LINE.match(line)
        if match:
            drops.append((datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f"), int(match.group(2))))
    return drops


def dropped_after(drops: list[tuple[datetime, int]], since: datetime) -> int | None:
    """Frames dropped between the first summary at or after `since` and the last one; None without two."""
    after = [count for at, count in drops if at >= since]
    return after[-1] - after[0] if len(after) >= 2 else None


def rss_growth(samples: list[dict], window_s: float) -> dict:
    """Growth of the worker's RSS over the samples given (those after the warm-up)."""
    t0, t1 = samples[0]["t_s"], samples[-1]["t_s"]
    start = statistics.median_high(s["worker_rss_mb"] for s in samples if s["t_s"] < t0 + window_s)
    end = statistics.median_high(s["worker_rss_mb"] for s in samples if s["t_s"] > t1 - window_s)
    times, rss = [s["t_s"] for s in samples], [s["worker_rss_mb"] for s in samples]
    slope = statistics.linear_regression(times, rss).slope if len(set(times)) > 1 else 0.0
    return {"start_median_mb": start, "end_median_mb": end, "percent": round(100 * (end - start) / start, 2),
            "slope_mb_per_min": round(60 * slope, 3)}


def write_svg(path: Path, samples: list[dict], warmup_s: float) -> None:
    """RSS over time as a small standalone SVG (no plotting library needed)."""
    width, height, pad = 720, 300, 40
    t_max = max(s["t_s"] for s in samples) or 1
    r_max = max(s["worker_rss_mb"] for s in samples) * 1.1 or 1

    def xy(sample):
        return pad + (width - 2 * pad) * sample["t_s"] / t_max, height - pad - (height - 2 * pad) * sample["worker_rss_mb"] / r_max

    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(xy, samples))
    warm_x = pad + (width - 2 * pad) * min(warmup_s, t_max) / t_max
    path.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">'
        f'<rect width="100%" height="100%" fill="white"/>'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="black"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="black"/>'
        f'<line x1="{warm_x:.1f}" y1="{pad}" x2="{warm_x:.1f}" y2="{height - pad}" stroke="#999" stroke-dasharray="4"/>'
        f'<polyline fill="none" stroke="#c0392b" stroke-width="2" points="{points}"/>'
        f'<text x="{pad}" y="{pad - 10}">worker RSS (MB), 0 to {r_max:.0f}; dashed: end of warm-up</text>'
        f'<text x="{width - pad}" y="{height - 10}" text-anchor="end">{t_max:.0f} s</text></svg>\n'
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between two frames of a camera")
    parser.add_argument("--duration", type=float, default=1800.0, help="seconds of load (default 30 min)")
    parser.add_argument("--warmup", type=float, default=300.0, help="seconds before RSS growth is measured")
    parser.add_argument("--model", type=Path, default=None, help="default: detector.model_path's default")
    parser.add_argument("--imgsz", type=int, default=None)
    parser.add_argument("--window", type=float, default=300.0, help="seconds whose median RSS starts and ends the growth")
    parser.add_argument("--pool-workers", type=int, default=None, help="detector.pool_workers")
    parser.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results/soak-<time>)")
    args = parser.parse_args()

    import redis
    import yaml

    from pinewatch.core.config import DetectorConfig
    from pinewatch.embedded_redis import EmbeddedRedis

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or ROOT / "benchmarks" / "results" / f"soak-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="pinewatch-soak-"))
    port_file = work / "port"
    farm = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "load_cameras.py"), "--serve", str(port_file)])
    server = EmbeddedRedis(data_dir=work / "redis", appendonly=True).start()  # as deployed: AOF
    processes: list[subprocess.Popen] = []
    try:
        while not port_file.exists() or not port_file.read_text():
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port_file.read_text()}"
        detector: dict = {"model_path": str(args.model or DetectorConfig().model_path)}  # the shipped default (fp32)
        if args.imgsz:
            detector["imgsz"] = args.imgsz
        if args.pool_workers is not None:
            detector["pool_workers"] = args.pool_workers
        config = {
            "redis": {"url": server.url, "spool_dir": str(work / "spool")},
            "detector": detector,
            "streams": {"evidence_dir": str(work / "evidence")},
            "alerting": {"database_url": f"sqlite:///{work / 'alerts.db'}"},
            "cameras": [{"id": f"cam{n:03d}", "source": f"{base}/cam/{n}", "interval_s": args.interval} for n in range(args.cameras)],
        }
        config_path = work / "soak.yaml"
        config_path.write_text(yaml.safe_dump(config))
        log = open(out / "processes.log", "w")
        consumer = subprocess.Popen(
            [sys.executable, "-m", "pinewatch.cli", "serve", "--no-api", "--no-dispatcher", "--config", str(config_path)],
            stdout=log, stderr=subprocess.STDOUT,
        )
        worker = subprocess.Popen([sys.executable, "-m", "pinewatch.cli", "run", "--config", str(config_path)], stdout=log, stderr=subprocess.STDOUT)
        processes += [worker, consumer]
        client = redis.Redis.from_url(server.url)
        streams, group = ("pinewatch:detections", "pinewatch:health"), "alerting"
        print(f"soak: {args.cameras} cameras every {args.interval:g} s for {args.duration:g} s, model {detector['model_path']}; "
              f"results in {out}", flush=True)
        samples: list[dict] = []
        started = time.monotonic()
        warm_at = datetime.now() + timedelta(seconds=args.warmup)  # the worker logs local time
        while time.monotonic() - started < args.duration:
            time.sleep(SAMPLE_EVERY_S)
            if worker.poll() is not None:
                raise SystemExit(f"the worker exited ({worker.returncode}); see {out / 'processes.log'}")
            lag, pending = backlog(client, streams, group)
            sample = {
                "t_s": round(time.monotonic() - started, 1), "worker_rss_mb": round(rss_mb(worker.pid), 1),
                "consumer_rss_mb": round(rss_mb(consumer.pid), 1), "spool": len(list((work / "spool").glob("*.json"))),
                "consumer_lag": lag, "consumer_pending": pending, "loadavg_1m": os.getloadavg()[0],
            }
            samples.append(sample)
            print(json.dumps(sample), flush=True)
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
        farm.terminate()
        farm.wait(10)
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    with open(out / "samples.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(samples[0]))
        writer.writeheader()
        writer.writerows(samples)
    write_svg(out / "rss.svg", samples, args.warmup)
    after = [s for s in samples if s["t_s"] >= args.warmup] or samples
    first_half = after[: max(1, len(after) // 2)]

    def level(sample):
        return sample["consumer_lag"] + sample["consumer_pending"] + sample["spool"]

    growth = rss_growth(after, args.window)
    dropped = dropped_after(detector_drops((out / "processes.log").read_text()), warm_at)
    backlog_limit = max(map(level, first_half)) + args.cameras  # one interval's worth of frames
    summary = {
        "cameras": args.cameras, "interval_s": args.interval, "duration_s": args.duration, "warmup_s": args.warmup,
        "model": detector["model_path"], "imgsz": detector.get("imgsz"), "samples": len(samples),
        "worker_rss_mb": {"first": samples[0]["worker_rss_mb"], "after_warmup": after[0]["worker_rss_mb"],
                          "last": after[-1]["worker_rss_mb"], "max": max(s["worker_rss_mb"] for s in samples)},
        "rss_growth_after_warmup_percent": growth["percent"], "rss_window_s": args.window,
        "rss_median_first_window_mb": growth["start_median_mb"], "rss_median_last_window_mb": growth["end_median_mb"],
        "rss_slope_after_warmup_mb_per_min": growth["slope_mb_per_min"],
        "backlog_end": level(after[-1]), "backlog_limit": backlog_limit,
        "loadavg_1m_max": max(s["loadavg_1m"] for s in samples),
        "detector_dropped_after_warmup": dropped,
        "rss_flat": None if dropped else growth["percent"] < 5.0, "backlog_flat": level(after[-1]) <= backlog_limit,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if dropped:
        print(f"inconclusive: the detector dropped {dropped} frames after the warm-up, so RSS followed its queue", flush=True)
    print(json.dumps(summary, indent=2), flush=True)
    return 0 if summary["rss_flat"] and summary["backlog_flat"] else 1


if __name__ == "__main__":
    sys.exit(main())
