"""The watchdog: no camera thread may stay stuck in a read, and none may die unnoticed.

Sources carry their own timeouts, but a read can still hang where those do not reach (a dead
NFS mount, a driver stuck in a system call, a library that ignores its interrupt). Python
cannot kill a thread, so a read running well past its source's own worst case (`max_read_s`)
is abandoned: the thread is flagged so it never touches the camera again, an `error` health
event says so, and a new thread with a fresh source takes over the camera.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from streams.camera import CameraContext, CameraThread, Services
from streams.sources.base import utc_now

log = logging.getLogger(__name__)

# A read taking half as long again as its own worst case means its timeouts did not work.
HANG_FACTOR = 1.5
# Each abandoned read keeps a thread until its system call returns, maybe never: past this
# many per camera, wait for one to come back instead of leaking a thread per retry.
MAX_STUCK_READS = 3


@dataclass
class CameraSlot:
    context: CameraContext
    thread: CameraThread
    abandoned: list[CameraThread] = field(default_factory=list)
    members: list[CameraContext] = field(default_factory=list)  # a PTZ patrol's presets (issue 12); empty: `context` alone

    @property
    def contexts(self) -> list[CameraContext]:
        return self.members or [self.context]


class Watchdog:
    def __init__(self, services: Services, start_thread: Callable[[CameraContext], CameraThread], stop: threading.Event, clock=time.monotonic) -> None:
        self.services = services
        self.start_thread = start_thread
        self.stop = stop
        self.clock = clock

    def check(self, slot: CameraSlot) -> None:
        thread = slot.thread
        if thread.ended or self.stop.is_set():
            return
        slot.abandoned = [t for t in slot.abandoned if t.is_alive()]
        if thread.abandoned.is_set():  # waiting for a stuck read to return before trying again
            if len(slot.abandoned) < MAX_STUCK_READS:
                slot.thread = self.start_thread(slot.context)
            return
        if not thread.is_alive():
            log.error("camera %s: its thread died; starting a new one", slot.context.camera_id)
            slot.thread = self.start_thread(slot.context)
            return
        since = thread.sampler.reading_since
        limit = HANG_FACTOR * thread.sampler.source.max_read_s
        if since is not None and self.clock() - since > limit:
            self._replace_hung(slot, self.clock() - since, limit)

    def _replace_hung(self, slot: CameraSlot, elapsed: float, limit: float) -> None:
        context, thread = slot.context, slot.thread
        thread.abandoned.set()
        context.counters.hung += 1
        detail = f"read hung for {elapsed:.0f}s (limit {limit:.0f}s); reconnecting with a new source"
        log.error("camera %s: %s", context.camera_id, detail)
        with context.lock:
            change = context.health.failure("hung", detail, utc_now())
        if change is not None:
            self.services.publisher.publish(change)
        # Closing may block as well: never in the supervisor's thread.
        threading.Thread(target=thread.sampler.source.close, name=f"close {context.camera_id}", daemon=True).start()
        slot.abandoned.append(thread)
        if len(slot.abandoned) < MAX_STUCK_READS:
            slot.thread = self.start_thread(context)
        else:
            log.error("camera %s: %d reads stuck; no new try until one returns", context.camera_id, len(slot.abandoned))
