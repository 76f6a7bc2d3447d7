"""A pool of single-thread detector processes: N onnxruntime sessions, one per core.

Two 1-thread sessions in two processes keep a 2-core box busier than one 2-thread session
(issue #10: ~74 % vs ~51 % of the FLOP peak): no intra-op barriers, and pre/post-processing
of one worker overlaps another's inference. `DetectorPool.detect` keeps the contract of
`detector.detector.Detector.detect`: frames in, detections per frame out, in order.

Frames reach a worker through its own shared-memory segment (multiprocessing.shared_memory):
the parent copies each frame's pixels into the segment and sends only (offset, shape) over a
pipe; the worker letterboxes straight from views of that memory. Detections (a few small
objects) come back pickled. A batch is split across idle workers; several threads may call
`detect` at once (each worker serves one call at a time).

A worker that dies (killed, crashed, out of memory) is noticed while waiting on it, and the
call raises PoolError naming it; the pool is then broken and every later call raises too,
rather than limping on with fewer workers than it was sized for. Workers are spawned, not
forked: a fork would copy onnxruntime's thread pools and locks of the parent mid-state.
"""

from __future__ import annotations

import logging
import math
import multiprocessing as mp
import os
import queue
import threading
import time
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from detector.detector import DetectorParams, StageTimings, check_frame
from detector.preprocess import as_bgr, batch_input_hw
from detector.session import SessionOptions
from detector.types import Detection

log = logging.getLogger(__name__)

# Initial segment size per worker: room for a batch of 1080p frames; grown on demand.
INITIAL_FRAME_BYTES = 1920 * 1080 * 3
START_TIMEOUT_S = 120.0  # spawn + imports + session load on a busy box
POLL_S = 0.1  # how often a waiting call checks that its worker is still alive
STOP_TIMEOUT_S = 5.0


class PoolError(RuntimeError):
    """A worker process failed or died; the message names it."""


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


@dataclass(frozen=True, slots=True)
class _ModelFacts:
    provider: str
    class_names: tuple[str, ...]
    stride: int
    dynamic_hw: bool
    trained: int  # long side the model was exported for (see preprocess.input_hw)


def _worker_main(conn, options: SessionOptions, params: DetectorParams, segment: str) -> None:
    """Worker process: one single-thread session; serve ("detect", layout) until ("stop",)."""
    import cv2

    from detector.detector import Detector

    cv2.setNumThreads(1)  # one core per worker: OpenCV's resize threads would fight the neighbours
    try:
        detector = Detector.open(options, params)
        info = detector.model.info
        conn.send(("ready", _ModelFacts(detector.provider, info.class_names, info.stride, info.dynamic_hw, max(info.imgsz))))
    except Exception as exc:  # report why, then exit: the parent raises it
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    memory = SharedMemory(name=segment)
    try:
        while True:
            try:
                message = conn.recv()
            except EOFError:  # the parent went away
                return
            kind = message[0]
            if kind == "stop":
                return
            if kind == "attach":  # the parent grew the segment
                memory.close()
                memory = SharedMemory(name=message[1])
                conn.send(("attached",))
                continue
            views: list[np.ndarray] = []
            try:
                views = [np.ndarray(shape, np.uint8, buffer=memory.buf, offset=offset) for offset, shape in message[1]]
                results = detector.detect(views)
            except Exception as exc:
                conn.send(("failed", f"{type(exc).__name__}: {exc}"))
            else:
                conn.send(("ok", results, detector.last_timings))
            finally:
                views.clear()  # views export memory.buf; it cannot be closed while they live
    finally:
        memory.close()


class _Worker:
    def __init__(self, index: int, context, options: SessionOptions, params: DetectorParams, size: int) -> None:
        self.index = index
        self.memory = SharedMemory(create=True, size=size)
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(child, options, params, self.memory.name),
            name=f"pinewatch-detector-{index}", daemon=True,
        )
        self.process.start()
        child.close()

    def describe(self) -> str:
        return f"detector worker {self.index} (pid {self.process.pid})"

    def death(self) -> str | None:
        """Why the worker is gone, or None while it runs."""
        if self.process.is_alive():
            return None
        code = self.process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        return f"{self.describe()} {how}"

    def receive(self, deadline: float | None = None):
        """The worker's next message; PoolError if it dies (or the deadline passes) first."""
        while True:
            try:
                if self.conn.poll(POLL_S):
                    return self.conn.recv()
            except (EOFError, OSError):
                pass  # the pipe broke: the process is gone, say how below
            if (reason := self.death()) is not None:
                # It may have sent its answer just before exiting.
                try:
                    if self.conn.poll(0):
                        return self.conn.recv()
                except (EOFError, OSError):
                    pass
                raise PoolError(reason)
            if deadline is not None and time.monotonic() > deadline:
                raise PoolError(f"{self.describe()} did not answer in time")

    def send(self, message) -> None:
        try:
            self.conn.send(message)
        except (BrokenPipeError, OSError) as exc:
            raise PoolError(self.death() or f"{self.describe()}: pipe broken ({exc})") from exc


def _shutdown(workers: list[_Worker]) -> None:
    """Stop the workers and free their segments; safe to call twice and from a finaliser."""
    for worker in workers:
        if worker.process.is_alive():
            try:
                worker.conn.send(("stop",))
            except (BrokenPipeError, OSError):
                pass
    for worker in workers:
        worker.process.join(STOP_TIMEOUT_S)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(STOP_TIMEOUT_S)
        worker.conn.close()
        try:
            worker.memory.close()
            worker.memory.unlink()
        except FileNotFoundError:
            pass
    workers.clear()


class DetectorPool:
    """N worker processes, each a single-thread `Detector`; same `detect` contract as Detector.

    Use as a context manager or call close(); an unclosed pool is cleaned up when collected
    or at interpreter exit (segments unlinked, workers stopped).
    """

    def __init__(self, options: SessionOptions, params: DetectorParams, workers: int | None = None) -> None:
        count = default_workers() if workers is None or workers == 0 else workers
        if count < 1:
            raise ValueError("workers must be >= 1 (0 or None: one per core)")
        self.params = params
        self.workers_count = count
        # Each worker serves one call at a time, so the pool can take `count` batches at once.
        self.concurrency = count
        options = replace(options, threads=1)
        context = mp.get_context("spawn")
        size = max(params.batch_size, 1) * INITIAL_FRAME_BYTES
        self._workers: list[_Worker] = []
        self._finalizer = weakref.finalize(self, _shutdown, self._workers)
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._broken: str | None = None
        self._stats_lock = threading.Lock()
        self.last_timings = StageTimings(frames=0, pre_ms=0.0, infer_ms=0.0, post_ms=0.0)
        try:
            for index in range(count):
                self._workers.append(_Worker(index, context, options, params, size))
            deadline = time.monotonic() + START_TIMEOUT_S
            facts = []
            for worker in self._workers:
                message = worker.receive(deadline)
                if message[0] != "ready":
                    raise PoolError(f"{worker.describe()} could not open the model: {message[1]}")
                facts.append(message[1])
        except BaseException:
            self.close()
            raise
        self._facts: _ModelFacts = facts[0]
        for worker in self._workers:
            self._idle.put(worker)
        log.info("detector pool: %d single-thread workers on %s", count, self._facts.provider)

    # --- the Detector surface -----------------------------------------------------------

    @property
    def class_names(self) -> tuple[str, ...]:
        return self._facts.class_names

    @property
    def provider(self) -> str:
        return self._facts.provider

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers]

    @property
    def broken(self) -> str | None:
        """Why the pool no longer detects (a worker died, or it was closed); None while it works."""
        return self._broken

    def input_hw(self, shapes: list[tuple[int, ...]]) -> tuple[int, int]:
        return batch_input_hw(shapes, self.params.imgsz, self._facts.stride, self._facts.dynamic_hw, self._facts.trained)

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Detections per frame (BGR uint8, any size), in the order given; PoolError if a worker died."""
        if self._broken is not None:
            raise PoolError(f"the detector pool is broken: {self._broken}")
        if not self._workers:
            raise PoolError("the detector pool is closed")
        frames = [as_bgr(image) for image in images]
        for frame in frames:
            check_frame(frame)
        if not frames:
            return []
        chunks = self._split(frames)
        results: list[list[list[Detection]] | None] = [None] * len(chunks)
        timings: list[StageTimings] = []
        in_flight: deque[tuple[int, _Worker]] = deque()
        error: BaseException | None = None
        try:
            for index, chunk in enumerate(chunks):
                # Never block while holding workers with unread answers: two callers doing
                # that could each wait for the other's workers. Collect our oldest instead.
                while (worker := self._acquire(wait=not in_flight)) is None:
                    done, busy = in_flight.popleft()
                    results[done] = self._collect(busy, timings)
                self._dispatch(worker, chunk)
                in_flight.append((index, worker))
        except BaseException as exc:
            error = exc
        # Always drain: a worker left with an unread answer would hand it to the next caller.
        while in_flight:
            done, worker = in_flight.popleft()
            try:
                results[done] = self._collect(worker, timings)
            except BaseException as exc:
                error = error or exc
        if error is not None:
            raise error
        with self._stats_lock:
            # Summed over workers: CPU-side stage times, not wall time (chunks run in parallel).
            self.last_timings = StageTimings(
                len(frames), sum(t.pre_ms for t in timings), sum(t.infer_ms for t in timings),
                sum(t.post_ms for t in timings),
            )
        return [detections for chunk in results for detections in chunk]

    def close(self) -> None:
        """Stop the workers and unlink their shared memory. Idempotent."""
        if self._broken is None:
            self._broken = "closed"
        self._finalizer()

    def __enter__(self) -> "DetectorPool":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # --- internals ----------------------------------------------------------------------

    def _split(self, frames: list[np.ndarray]) -> list[list[np.ndarray]]:
        """At most batch_size frames a chunk, and enough chunks to give every worker a share."""
        count = min(len(frames), max(math.ceil(len(frames) / self.params.batch_size), self.workers_count))
        size = math.ceil(len(frames) / count)
        return [frames[i : i + size] for i in range(0, len(frames), size)]

    def _acquire(self, wait: bool) -> _Worker | None:
        while True:
            try:
                worker = self._idle.get(timeout=POLL_S) if wait else self._idle.get_nowait()
            except queue.Empty:
                if not wait:
                    return None
                if self._broken is not None:
                    raise PoolError(f"the detector pool is broken: {self._broken}")
                continue
            if (reason := worker.death()) is not None:
                self._fail(reason)
            return worker

    def _fail(self, reason: str) -> None:
        self._broken = reason
        log.error("detector pool: %s", reason)
        raise PoolError(reason)

    def _dispatch(self, worker: _Worker, chunk: list[np.ndarray]) -> None:
        needed = sum(frame.nbytes for frame in chunk)
        if needed > worker.memory.size:
            self._grow(worker, needed)
        layout, offset = [], 0
        buffer = worker.memory.buf
        for frame in chunk:
            np.ndarray(frame.shape, np.uint8, buffer=buffer, offset=offset)[...] = frame
            layout.append((offset, frame.shape))
            offset += frame.nbytes
        try:
            worker.send(("detect", layout))
        except PoolError as exc:
            self._idle.put(worker)
            self._fail(str(exc))

    def _grow(self, worker: _Worker, needed: int) -> None:
        bigger = SharedMemory(create=True, size=int(needed * 1.5))
        try:
            worker.send(("attach", bigger.name))
            reply = worker.receive()
        except PoolError as exc:
            bigger.close()
            bigger.unlink()
            self._idle.put(worker)
            self._fail(str(exc))
        if reply[0] != "attached":
            raise PoolError(f"{worker.describe()}: unexpected reply {reply[0]!r} to attach")
        old, worker.memory = worker.memory, bigger
        old.close()
        old.unlink()

    def _collect(self, worker: _Worker, timings: list[StageTimings]) -> list[list[Detection]]:
        """The answer to the chunk `worker` holds; the worker goes back to the idle queue."""
        try:
            message = worker.receive()
        except PoolError as exc:
            self._broken = str(exc)
            log.error("detector pool: %s", exc)
            raise
        finally:
            self._idle.put(worker)  # a dead one is reported by _acquire to whoever takes it
        if message[0] == "failed":
            raise PoolError(f"{worker.describe()} failed on a batch: {message[1]}")
        _, detections, stage = message
        timings.append(stage)
        return detections
