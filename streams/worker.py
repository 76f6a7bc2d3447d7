"""A stream worker: one process, many cameras, one shared batched detector.

`run(settings, stop)` opens the model, starts one thread per enabled camera (a PTZ camera's
thread patrols its presets, each a camera of its own: streams/patrol.py) and supervises
them until `stop` is set (or every recording has ended): health ticks turn silence into
offline, the watchdog replaces hung or dead camera threads, and a summary is logged every
minute, after which the C heap's free pages go back to the system (streams/memory.py).
`pinewatch run` calls it; so can tests and benchmarks.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path

import redis

from detector.detector import BatchingService, Detector
from detector.pool import DetectorPool
from pinewatch.core.config import CameraConfig, ConfigError, Settings, existing_file
from pinewatch.core.live import WORKER_KEY_PART, WorkerHeartbeat
from pinewatch.core.shard import Shard
from streams import wiring
from streams.backoff import Backoff
from streams.camera import CameraContext, CameraThread, Services
from streams.frame_mode import CameraModes, ModeThresholds
from streams.health import HealthTracker
from streams import levels
from streams.masks import MaskWatcher
from streams.memory import release_free_memory, trim_supported
from streams.patrol import PatrolThread
from streams.publisher import Publisher
from streams.sampler import Sampler, spread_phase
from streams.sources import open_source, source_kind
from streams.sources.base import redact_url, utc_now
from streams.stats import CameraCounters, WorkerStats
from streams.watchdog import CameraSlot, Watchdog

log = logging.getLogger(__name__)

SUPERVISE_EVERY_S = 1.0  # health ticks and watchdog checks; well below any offline_after_s
SUMMARY_EVERY_S = 60.0
SHUTDOWN_GRACE_S = 5.0  # joins camera threads on stop; `pinewatch demo` waits 15 s before SIGKILL


class DetectorBroken(RuntimeError):
    """The detector can no longer detect (a pool process died): the worker stops rather than run
    its cameras blind; its service manager starts it again (the spool keeps what was not sent)."""


def open_detector(settings: Settings) -> Detector | DetectorPool:
    config = settings.detector
    existing_file(config.model_path, "detector.model_path", "model file")  # names the setting, not just the path
    # The shared detector runs at the lowest score any frame mode uses; each camera filters at its own mode's.
    detector = wiring.open_detector(config, score_threshold=ModeThresholds(settings).detector_floor)
    log.info(
        "detector: model %s (classes %s) on %s, imgsz %d, batch %d",
        config.model_path, ",".join(detector.class_names), detector.provider, config.imgsz, config.batch_size,
    )
    return detector


def select_cameras(settings: Settings, camera_ids: list[str] | None, shard: Shard | None = None) -> list[CameraConfig]:
    known = {camera.id for camera in settings.cameras}
    unknown = sorted(set(camera_ids or []) - known)
    if unknown:
        raise ConfigError(f"cameras: no camera with id {', '.join(unknown)}")
    cameras = [c for c in settings.cameras if c.enabled and (not camera_ids or c.id in camera_ids)]
    if shard is not None:
        cameras = shard.select(cameras)
    if not cameras:
        raise ConfigError(f"cameras: no enabled camera to run{f' in shard {shard}' if shard else ''}")
    return cameras


def run(
    settings: Settings, stop: threading.Event, camera_ids: list[str] | None = None, stats: WorkerStats | None = None,
    shard: Shard | None = None,
) -> WorkerStats:
    """Serve the configured cameras (or one shard of them) until `stop` is set or all recordings ended."""
    cameras = select_cameras(settings, camera_ids, shard)
    stats = stats or WorkerStats()
    streams = settings.streams
    detector = open_detector(settings)
    worker_name = f"{socket.gethostname()}-{os.getpid()}"
    publisher = Publisher(settings.redis, streams.offline_after_s, Backoff(streams.reconnect_min_s, streams.reconnect_max_s))
    stats.publish_lag = publisher.publish_lag
    log.info(
        "worker %s: %d cameras%s, Redis %s", worker_name, len(cameras), f" (shard {shard})" if shard else "",
        redact_url(settings.redis.url),
    )
    if not trim_supported():
        log.warning("this C library has no malloc_trim: freed frame memory stays in the heap and RSS may creep (streams/memory.py)")
    try:
        with BatchingService(detector, streams.max_pending_frames) as batching:
            services = Services(
                batching, publisher, Path(streams.evidence_dir), streams.detect_timeout_s,
                Path(settings.detector.model_path).stem, worker_name, stats,
            )
            try:
                serve(settings, cameras, services, stop)
            finally:
                update_stats(services)
    finally:
        publisher.close()
        if hasattr(detector, "close"):  # a DetectorPool (detector.pool_workers > 0): stop its processes
            detector.close()
        stats.spool_pending, stats.messages_sent = publisher.pending, publisher.sent
        log_summary(stats)
        log.info("worker %s stopped", worker_name)
    return stats


def serve(settings: Settings, cameras: list[CameraConfig], services: Services, stop: threading.Event) -> None:
    """One thread per camera, supervised until stop; on the way out, reads in progress get a short grace."""
    streams = settings.streams
    thresholds = ModeThresholds(settings)

    def new_context(camera: CameraConfig) -> CameraContext:
        judge = wiring.frame_judge(settings.detector, settings.temporal, camera)
        return CameraContext(
            camera,
            judge,
            HealthTracker(camera.id, streams.offline_after_s, streams.frozen_after),
            services.stats.cameras.setdefault(camera.id, CameraCounters()),
            CameraModes(thresholds, judge),
        )

    # One thread per configured camera; a PTZ camera's thread serves one context per preset (issue 12).
    groups = {camera.id: (camera, [new_context(v) for v in camera.virtual_cameras()]) for camera in cameras}
    leads = {members[0].camera_id: (camera, members) for camera, members in groups.values()}
    contexts = [context for _, members in groups.values() for context in members]
    phases = {camera.id: spread_phase(i, len(cameras), camera.interval_s) for i, camera in enumerate(cameras)}

    def start_thread(context: CameraContext, first: bool = False) -> CameraThread:
        camera, members = leads[context.camera_id]
        backoff = Backoff(streams.reconnect_min_s, streams.reconnect_max_s)
        sampler = Sampler(open_source(camera, streams), camera.interval_s, phases[camera.id] if first else 0.0, backoff, stop)
        if camera.presets:
            thread: CameraThread = PatrolThread(services, members, sampler, stop, camera.ptz.stuck_max_bits)
        else:
            thread = CameraThread(services, context, sampler, stop)
        thread.start()
        return thread

    masks = MaskWatcher(settings.redis, {c.camera_id: (c.judge, list(c.camera.masks)) for c in contexts})
    try:
        masks.refresh()  # operator masks before the first frame, when Redis is there
    except (redis.RedisError, OSError) as exc:
        log.warning("operator masks not read at start (retrying every %gs): %s", masks.poll_s, exc)
    mask_thread = threading.Thread(target=masks.run, args=(stop,), name="operator-masks", daemon=True)
    mask_thread.start()
    votes = levels.VoteWatcher(settings.redis, {c.camera_id: c.judge for c in contexts})  # the day's fire-danger level (issue 12)
    vote_thread = levels.start(votes, stop)
    slots: list[CameraSlot] = []
    try:
        for camera, members in groups.values():
            log.info("camera %s: %s source %s every %gs", camera.id, source_kind(camera.source), redact_url(camera.source), camera.interval_s)
            if camera.presets:
                log.info("camera %s: PTZ (%s) patrols %d presets: %s", camera.id, camera.ptz.protocol, len(members), ", ".join(c.camera_id for c in members))
            slots.append(CameraSlot(members[0], start_thread(members[0], first=True), members=members if camera.presets else []))
        supervise(slots, Watchdog(services, start_thread, stop), services, stop)
    finally:
        stop.set()
        deadline = time.monotonic() + SHUTDOWN_GRACE_S
        for slot in slots:
            if not slot.thread.abandoned.is_set():  # a read known to be stuck will not come back
                slot.thread.join(max(0.0, deadline - time.monotonic()))
        mask_thread.join(max(0.0, deadline - time.monotonic()))
        masks.close()
        vote_thread.join(max(0.0, deadline - time.monotonic()))
        votes.close()


def supervise(slots: list[CameraSlot], watchdog: Watchdog, services: Services, stop: threading.Event) -> None:
    next_summary = time.monotonic() + SUMMARY_EVERY_S
    camera_ids = [context.camera_id for slot in slots for context in slot.contexts]
    worker_heartbeat(services, camera_ids, utc_now())
    while not stop.wait(SUPERVISE_EVERY_S):
        now = utc_now()
        worker_heartbeat(services, camera_ids, now)
        for slot in slots:
            for context in slot.contexts:
                change = context.health.tick(now)
                if change is not None:
                    log.warning("camera %s: %s (%s)", change.camera_id, change.status, change.detail)
                    services.publisher.publish(change)
            watchdog.check(slot)
        update_stats(services)
        broken = getattr(services.batching.detector, "broken", None)  # detector.pool.DetectorPool
        if broken:
            raise DetectorBroken(f"detector broken: {broken}; stopping so that the worker is restarted")
        if all(slot.thread.ended for slot in slots):
            log.info("every recording has ended")
            return
        if time.monotonic() >= next_summary:
            log_summary(services.stats)
            release_free_memory()  # else freed frame buffers stay in glibc's arenas: RSS creeps (streams/memory.py)
            next_summary += SUMMARY_EVERY_S


def worker_heartbeat(services: Services, camera_ids: list[str], now) -> None:
    """The worker's own liveness (expires like the cameras'): when it stops, alerting shows all its cameras offline."""
    services.publisher.heartbeat(
        WORKER_KEY_PART + services.worker_name,
        WorkerHeartbeat(worker=services.worker_name, at=now, cameras=camera_ids).model_dump(mode="json"),
    )


def update_stats(services: Services) -> None:
    stats = services.stats
    stats.detector_pending = services.batching.pending
    stats.detector_pending_max = max(stats.detector_pending_max, stats.detector_pending)
    stats.detector_dropped = services.batching.dropped
    stats.spool_pending = services.publisher.pending
    stats.messages_sent = services.publisher.sent


def log_summary(stats: WorkerStats) -> None:
    total = stats.totals()
    p95 = stats.frame_latency.percentile(95)
    log.info(
        "frames=%d failures=%d dropped=%d skipped_slots=%d frozen=%d hung=%d detections=%d "
        "detector_dropped=%d detector_pending=%d spool=%d sent=%d p95_latency=%s",
        total.frames, total.failures, total.dropped, total.skipped_slots, total.frozen_frames, total.hung,
        total.detections_published, stats.detector_dropped, stats.detector_pending, stats.spool_pending, stats.messages_sent,
        f"{p95:.2f}s" if p95 is not None else "-",
    )
