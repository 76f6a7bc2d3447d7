"""One camera's thread: sample, check health, detect, judge, publish.

A frame goes: frame mode (day / night_ir / low_light, streams/frame_mode.py) -> fingerprint ->
health (online/frozen) -> the shared batching detector (never
queued without bound: a full queue drops the frame and counts it) -> the camera's own
FrameJudge (the mode's score, masks, max box size, temporal vote) -> for a confirmed frame, an evidence JPEG and
a DetectionEvent -> heartbeat. A frozen camera is still run through the detector: "frozen"
can be a very still view, and a small wisp of smoke must not be missed because of it. A frame
with nothing kept and no smoke place tracked is remembered (one JPEG in memory per camera) and
sent with the next detection as the camera's last frame before the smoke.
"""

from __future__ import annotations

import logging
import threading
import typing
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from detector.detector import BatchingService, FrameDropped
from detector.pipeline import FrameJudge
from detector.types import Detection
from pinewatch.core.config import CameraConfig
from pinewatch.core.live import CameraHeartbeat
from pinewatch.core.messages import BoxDetection, DetectionEvent
from streams.evidence import encode_jpeg, event_id, relative_path, write_before, write_evidence
from streams.frame_mode import CameraModes
from streams.health import HealthTracker, fingerprint
from streams.publisher import Publisher
from streams.sampler import Sampler
from streams.sources.base import BadData, Frame, SourceEnded, SourceError, utc_now
from streams.stats import CameraCounters, WorkerStats

log = logging.getLogger(__name__)

# Labels a DetectionEvent may carry; a model's other classes never vote or alert.
PUBLISHED_LABELS = frozenset(typing.get_args(BoxDetection.model_fields["label"].annotation))
CLEAN_REFRESH = timedelta(seconds=60)  # how often a camera's frame before the smoke is re-encoded


@dataclass(frozen=True)
class Services:
    """What all cameras of a worker share."""

    batching: BatchingService
    publisher: Publisher
    evidence_dir: Path
    detect_timeout_s: float
    model_name: str
    worker_name: str
    stats: WorkerStats


@dataclass(frozen=True)
class CleanFrame:
    """A camera's last frame in which nothing was kept, as JPEG (a raw frame would be ~3 MB a camera)."""

    jpeg: bytes
    captured_at: datetime


@dataclass
class CameraContext:
    """A camera's state that outlives its thread (the watchdog may replace a hung thread)."""

    camera: CameraConfig
    judge: FrameJudge
    health: HealthTracker
    counters: CameraCounters
    modes: CameraModes  # issue 12: day / night_ir / low_light, and that mode's thresholds
    lock: threading.Lock = field(default_factory=threading.Lock)  # one frame at a time, whichever thread
    failing: bool = False
    clean: CleanFrame | None = None  # sent with the next detection, then dropped: one per smoke episode

    @property
    def camera_id(self) -> str:
        return self.camera.id


def detect(services: Services, context: CameraContext, frame: Frame) -> list[Detection] | None:
    """The frame's detections, or None when the detector had no room or time for it (counted)."""
    try:
        future = services.batching.submit(frame.image)
    except ValueError as exc:  # not an image at all: skip the frame, keep the camera
        log.warning("camera %s: frame rejected by the detector: %s", context.camera_id, exc)
        context.counters.bad_data += 1
        return None
    try:
        return future.result(timeout=services.detect_timeout_s)
    except FrameDropped:
        context.counters.dropped += 1
    except FutureTimeout:
        future.cancel()
        context.counters.dropped += 1
    return None


def remember_clean(context: CameraContext, frame: Frame) -> None:
    """Keep the frame as the camera's last one before any smoke (replacing the previous one).

    At most one encode per CLEAN_REFRESH of capture time (a 1080p JPEG took ~70 ms of CPU on the
    2-core dev box): the frame kept is then at most that much older than the last clean one.
    """
    kept = context.clean
    if kept is not None and frame.captured_at - kept.captured_at < CLEAN_REFRESH:
        return
    try:
        context.clean = CleanFrame(encode_jpeg(frame.image), frame.captured_at)
    except ValueError as exc:
        log.warning("camera %s: cannot keep the clean frame: %s", context.camera_id, exc)


def write_clean(services: Services, context: CameraContext, frame: Frame) -> tuple[str | None, datetime | None]:
    """The remembered clean frame written beside this detection's evidence (once): its path and time."""
    clean, context.clean = context.clean, None
    if clean is None:
        return None, None
    try:
        return write_before(services.evidence_dir, context.camera_id, frame.captured_at, clean.jpeg), clean.captured_at
    except OSError as exc:
        log.error("camera %s: cannot write the frame before the smoke: %s", context.camera_id, exc)
        context.counters.evidence_failed += 1
        return None, None


def publish_detection(services: Services, context: CameraContext, frame: Frame, best: Detection) -> None:
    try:
        evidence = write_evidence(services.evidence_dir, context.camera_id, frame.captured_at, frame.image)
    except (OSError, ValueError) as exc:  # the alert matters more than its picture
        log.error("camera %s: cannot write evidence: %s", context.camera_id, exc)
        context.counters.evidence_failed += 1
        # The name it would have had: a valid path (messages refuse ""), and readers find no file.
        evidence = relative_path(context.camera_id, frame.captured_at).as_posix()
    before_path, before_at = write_clean(services, context, frame)
    height, width = frame.image.shape[:2]
    event = DetectionEvent(
        event_id=event_id(context.camera_id, frame.captured_at),
        camera_id=context.camera_id,
        captured_at=frame.captured_at,
        detections=[BoxDetection(label=best.label, score=min(1.0, best.score), box=list(best.box))],
        evidence_path=evidence,
        frame_width=width,
        frame_height=height,
        model=services.model_name,
        before_path=before_path,
        before_at=before_at,
    )
    services.publisher.publish(event)
    context.counters.detections_published += 1


def handle_frame(services: Services, context: CameraContext, frame: Frame, paced: bool) -> None:
    counters = context.counters
    counters.frames += 1
    if context.failing:
        log.info("camera %s: frames again", context.camera_id)
        context.failing = False
    if context.modes.observe(frame.image):  # before the status, so the first status event carries the mode
        change = context.health.frame_mode(context.modes.mode, utc_now())
        if change is not None:
            services.publisher.publish(change)
    change = context.health.frame(fingerprint(frame.image), frame.captured_at, utc_now())
    if change is not None:
        services.publisher.publish(change)
    if context.health.status == "frozen":
        counters.frozen_frames += 1
    detections = detect(services, context, frame)
    if detections is not None:
        judgement = context.judge.judge(context.modes.keep([d for d in detections if d.label in PUBLISHED_LABELS]))
        if judgement.confirmed and judgement.best is not None:
            publish_detection(services, context, frame, judgement.best)
        elif not judgement.kept and context.judge.vote.places == 0:  # no smoke, none being tracked either
            remember_clean(context, frame)
    done = utc_now()
    if paced and detections is not None:  # replayed recordings have no wall-clock capture times
        services.stats.frame_latency.add((done - frame.captured_at).total_seconds())
    snapshot = context.health.snapshot()
    heartbeat = CameraHeartbeat(
        camera_id=context.camera_id, worker=services.worker_name, status=snapshot.status, at=done,
        last_frame_at=frame.captured_at, interval_s=context.camera.interval_s, frame_mode=snapshot.frame_mode,
    )
    services.publisher.heartbeat(context.camera_id, heartbeat.model_dump(mode="json"))


def record_failure(services: Services, context: CameraContext, exc: SourceError) -> None:
    context.counters.failures += 1
    kind = "bad_data" if isinstance(exc, BadData) else "unavailable"
    if kind == "bad_data":
        context.counters.bad_data += 1
    if not context.failing:  # once per outage, not once per retry
        log.warning("camera %s: %s", context.camera_id, exc)
        context.failing = True
    change = context.health.failure(kind, str(exc), utc_now())
    if change is not None:
        services.publisher.publish(change)


class CameraThread(threading.Thread):
    """Runs one camera until stop, the end of its recording, or abandonment by the watchdog."""

    def __init__(self, services: Services, context: CameraContext, sampler: Sampler, stop: threading.Event) -> None:
        super().__init__(name=f"camera {context.camera_id}", daemon=True)
        self.services = services
        self.context = context
        self.sampler = sampler
        self.stop = stop
        self.abandoned = threading.Event()  # set by the watchdog: this thread must not touch anything again
        self.ended = False  # its recording ended (not looping)

    def run(self) -> None:
        try:
            self._loop()
        except Exception:
            log.exception("camera %s: unexpected error; the watchdog restarts it", self.context.camera_id)
        finally:
            if not self.abandoned.is_set():
                self.sampler.source.close()

    def _loop(self) -> None:
        while self.sampler.wait_for_slot():
            try:
                frame = self.sampler.read()
            except SourceEnded as exc:
                log.info("camera %s: %s", self.context.camera_id, exc)
                self.ended = True
                return
            except SourceError as exc:
                if self.abandoned.is_set():
                    return
                with self.context.lock:
                    record_failure(self.services, self.context, exc)
                continue
            with self.context.lock:
                if self.abandoned.is_set():
                    return
                handle_frame(self.services, self.context, frame, self.sampler.source.paced)
                self.context.counters.skipped_slots += self.sampler.take_skipped()
            del frame  # not kept alive while waiting for the next slot: ~3 MB a camera (issue 14)
