"""Frames -> detections with one onnxruntime session, and a batching service for many cameras.

`Detector.detect` runs a list of frames as one batch (split by `batch_size`).
`BatchingService` lets many camera threads submit single frames: it gathers up to
`batch_size` frames or waits at most `batch_wait_ms` after the oldest one, runs them as
one batch, and resolves each frame's future. Its queue is bounded: when full, a new frame is
dropped and counted rather than letting memory and latency grow without limit.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from detector.postprocess import decode_batch_output
from detector.preprocess import BatchBuffers, batch_input_hw
from detector.session import ModelSession, SessionOptions, open_session
from detector.types import Detection

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DetectorParams:
    """The caller's configured values (pinewatch.core.config.DetectorConfig); no defaults here on purpose."""

    imgsz: int
    score_threshold: float
    nms_iou: float
    batch_size: int
    batch_wait_ms: float

    def __post_init__(self) -> None:
        if self.imgsz < 32:
            raise ValueError("imgsz must be >= 32")
        if not 0 < self.score_threshold < 1:
            raise ValueError("score_threshold must be in (0, 1)")
        if not 0 < self.nms_iou <= 1:
            raise ValueError("nms_iou must be in (0, 1]")
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if self.batch_wait_ms < 0:
            raise ValueError("batch_wait_ms must be >= 0")


@dataclass(frozen=True, slots=True)
class StageTimings:
    """Wall time of each stage of one `detect` call, in milliseconds, for `frames` frames."""

    frames: int
    pre_ms: float
    infer_ms: float
    post_ms: float

    @property
    def total_ms(self) -> float:
        return self.pre_ms + self.infer_ms + self.post_ms


class Detector:
    """Runs batches of BGR frames through the model. Thread-safe (one batch at a time)."""

    def __init__(self, model: ModelSession, params: DetectorParams) -> None:
        info = model.info
        if params.imgsz % info.stride:
            raise ValueError(f"imgsz {params.imgsz} is not a multiple of the model stride {info.stride}")
        if not info.dynamic_hw and info.imgsz != (params.imgsz, params.imgsz):
            raise ValueError(f"the model takes a fixed {info.imgsz} input; imgsz {params.imgsz} does not match")
        self.model = model
        self.params = params
        # A fixed-batch model runs frames one at a time.
        self._run_size = params.batch_size if info.dynamic_batch else 1
        self._buffers = BatchBuffers(self._run_size, info.input_dtype)
        self._lock = threading.Lock()
        self.last_timings = StageTimings(frames=0, pre_ms=0.0, infer_ms=0.0, post_ms=0.0)

    @classmethod
    def open(cls, options: SessionOptions, params: DetectorParams) -> "Detector":
        return cls(open_session(options), params)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.model.info.class_names

    @property
    def provider(self) -> str:
        return self.model.provider

    def input_hw(self, shapes: list[tuple[int, ...]]) -> tuple[int, int]:
        """Model input size used for frames of these shapes (rectangular for dynamic-size models)."""
        trained = max(self.model.info.imgsz)
        return batch_input_hw(shapes, self.params.imgsz, self.model.info.stride, self.model.info.dynamic_hw, trained)

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Detections per frame (BGR uint8, any size), in the order given."""
        results: list[list[Detection]] = []
        pre = infer = post = 0.0
        with self._lock:
            for start in range(0, len(images), self._run_size):
                chunk = list(images[start : start + self._run_size])
                t0 = time.perf_counter()
                input_h, input_w = self.input_hw([image.shape for image in chunk])
                batch, letterboxes = self._buffers.fill(chunk, input_h, input_w)
                t1 = time.perf_counter()
                output = self.model.run(batch)
                t2 = time.perf_counter()
                results.extend(
                    decode_batch_output(
                        output, letterboxes, self.class_names, self.params.score_threshold, self.params.nms_iou
                    )
                )
                t3 = time.perf_counter()
                pre, infer, post = pre + t1 - t0, infer + t2 - t1, post + t3 - t2
            self.last_timings = StageTimings(len(images), pre * 1e3, infer * 1e3, post * 1e3)
        return results


def check_frame(image: np.ndarray) -> None:
    """Reject what cannot be a camera frame before it can spoil a batch."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 numpy frame, got {type(image).__name__} {getattr(image, 'dtype', '')}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)) or 0 in image.shape:
        raise ValueError(f"expected an HxW(xC) frame, got shape {image.shape}")


class FrameDropped(RuntimeError):
    """The batching queue was full (or closing), so this frame was not run."""


@dataclass(slots=True)
class _Pending:
    image: np.ndarray
    future: Future
    enqueued: float


_STOP = object()


class BatchingService:
    """Collects frames submitted from many threads into batches for one Detector.

    submit() never blocks: it returns a Future of the frame's detections, or a Future already
    failed with FrameDropped when `max_pending` frames are waiting (counted in `dropped`).

    A detector with a `concurrency` above 1 (detector.pool.DetectorPool: one batch per worker
    process) gets that many serving threads, so that the next batch is gathered and
    pre-processed in one worker while the current one infers in another.
    """

    def __init__(self, detector: Detector, max_pending: int) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be >= 1")
        self.detector = detector
        self.batch_size = detector.params.batch_size
        self.batch_wait_s = detector.params.batch_wait_ms / 1000
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._counts_lock = threading.Lock()
        self.dropped = 0
        self.processed = 0
        self.failed = 0
        self.batches = 0
        self._closed = threading.Event()
        self.concurrency = max(1, int(getattr(detector, "concurrency", 1)))
        self._workers = [
            threading.Thread(target=self._serve, name=f"detector-batching-{i}", daemon=True)
            for i in range(self.concurrency)
        ]
        for worker in self._workers:
            worker.start()

    def __enter__(self) -> "BatchingService":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def submit(self, image: np.ndarray) -> Future:
        """Queue one BGR frame; a frame that is not an image raises ValueError here, not in the batch."""
        check_frame(image)
        future: Future = Future()
        if self._closed.is_set():
            future.set_exception(FrameDropped("the batching service is closed"))
            with self._counts_lock:
                self.dropped += 1
            return future
        try:
            self._queue.put_nowait(_Pending(image, future, time.monotonic()))
        except queue.Full:
            with self._counts_lock:
                self.dropped += 1
            future.set_exception(FrameDropped(f"detector queue full ({self._queue.maxsize} frames waiting)"))
        return future

    def close(self, timeout: float | None = None) -> None:
        """Stop after the batch in progress; frames still queued fail with FrameDropped."""
        if self._closed.is_set():
            return
        self._closed.set()
        for _ in self._workers:
            try:
                self._queue.put_nowait(_STOP)
            except queue.Full:
                break  # the workers see _closed on their next wake-up
        deadline = None if timeout is None else time.monotonic() + timeout
        for worker in self._workers:
            worker.join(None if deadline is None else max(deadline - time.monotonic(), 0))
        self._fail_queued()

    def _fail_queued(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Pending) and item.future.set_running_or_notify_cancel():
                item.future.set_exception(FrameDropped("the batching service closed"))
                with self._counts_lock:
                    self.dropped += 1

    def _next_batch(self) -> list[_Pending] | None:
        """Block for the first frame, then gather more until full or the first frame's wait ran out."""
        while True:
            if self._closed.is_set():
                return None
            try:
                first = self._queue.get(timeout=0.5)
                break
            except queue.Empty:
                continue
        if first is _STOP:
            return None
        batch = [first]
        deadline = first.enqueued + self.batch_wait_s
        while len(batch) < self.batch_size:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                break
            batch.append(item)
        return batch

    def _serve(self) -> None:
        while (batch := self._next_batch()) is not None:
            live = [item for item in batch if item.future.set_running_or_notify_cancel()]
            if live:
                self._run(live)

    def _run(self, batch: list[_Pending]) -> None:
        try:
            results = self.detector.detect([item.image for item in batch])
        except Exception:
            if len(batch) == 1:
                log.exception("detector failed on a frame of shape %s", getattr(batch[0].image, "shape", None))
                with self._counts_lock:
                    self.failed += 1
                batch[0].future.set_exception(FrameDropped("the detector failed on this frame"))
                return
            # One bad frame must not take its batch-mates down: run them one by one.
            for item in batch:
                self._run([item])
            return
        with self._counts_lock:
            self.processed += len(batch)
            self.batches += 1
        for item, detections in zip(batch, results):
            item.future.set_result(detections)
