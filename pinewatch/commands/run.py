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
    parser.add_argument(
        "--shard", metavar="I/N",
        help="only shard I of N of the enabled cameras (camera k goes to shard k mod N); I may be 'ordinal': "
        "the number ending the hostname, as in a Kubernetes StatefulSet. Each shard needs its own redis.spool_dir",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging
    import signal
    import threading

    from detector.session import ModelError
    from pinewatch.core.config import ConfigError, load_settings
    from pinewatch.core.redact import install_log_redaction
    from pinewatch.core.shard import parse_shard
    from pinewatch.embedded_redis import warn_without_persistence
    from streams.spool import SpoolLocked
    from streams.worker import DetectorBroken
    from streams.worker import run as run_worker

    install_log_redaction()  # camera URLs carry passwords; httpx would log each snapshot URL
    log = logging.getLogger("pinewatch.run")
    settings = load_settings(args.config)
    try:
        shard = parse_shard(args.shard) if args.shard else None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    warn_without_persistence(settings.redis.url, settings.redis.socket_timeout_s, log)
    stop = threading.Event()

    def request_stop(signum, frame) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        run_worker(settings, stop, camera_ids=args.cameras, shard=shard)
    except (ModelError, SpoolLocked) as exc:
        log.error("%s", exc)
        return 2
    except DetectorBroken as exc:  # exit non-zero: compose, systemd or Kubernetes restart the worker
        log.error("%s", exc)
        return 3
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
