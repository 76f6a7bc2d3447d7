"""`pinewatch run`: the stream worker for the configured cameras."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the stream worker: sample the cameras, detect, publish to Redis",
        description=(
            "Sample every enabled camera of the config (RTSP, HTTP snapshot, video file or image folder), "
            "run the shared batched detector, confirm over time, write evidence JPEGs and publish detections "
            "and camera health to Redis (spooled on disk while Redis is down). Stops cleanly on SIGINT/SIGTERM. "
            "See streams/README.md."
        ),
    )
    parser.add_argument("--config", "-c", help="YAML configuration file (PINEWATCH_* variables override it)")
    parser.add_argument(
        "--camera", action="append", metavar="ID", dest="cameras",
        help="only this camera (repeat for several): split cameras across worker processes; each needs its own redis.spool_dir",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging
    import signal
    import threading

    from detector.session import ModelError
    from pinewatch.core.config import load_settings
    from pinewatch.core.redact import install_log_redaction
    from pinewatch.embedded_redis import warn_without_persistence
    from streams.spool import SpoolLocked
    from streams.worker import run as run_worker

    install_log_redaction()  # camera URLs carry passwords; httpx would log each snapshot URL
    log = logging.getLogger("pinewatch.run")
    settings = load_settings(args.config)
    warn_without_persistence(settings.redis.url, settings.redis.socket_timeout_s, log)
    stop = threading.Event()

    def request_stop(signum, frame) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        run_worker(settings, stop, camera_ids=args.cameras)
    except (ModelError, SpoolLocked) as exc:
        log.error("%s", exc)
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
