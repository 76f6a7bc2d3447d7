"""A PTZ camera's patrol thread: one source (streams/sources/ptz.py), one camera context per preset.

Each frame goes to its preset's context (its own health, frame mode, masks and temporal vote)
through the same `handle_frame` as any camera. A preset whose move failed is reported on that
preset's health while the patrol goes on with the others.

A stuck PTZ (a dead motor, a camera that ignores its moves) sends the same picture whatever
preset it is asked for. After each patrol round the presets' picture hashes are compared: when
every preset of the round showed the same picture, all presets are in error until a round
shows different pictures again. Their frames still go through the detector: smoke seen is still
smoke, only its bearing is not to be trusted. A view lost in fog at every preset looks stuck too.
"""

from __future__ import annotations

import logging
import threading

import cv2
import numpy as np

from streams.camera import CameraContext, CameraThread, Services, handle_frame, record_failure
from streams.health import fingerprint
from streams.sampler import Sampler
from streams.sources.base import SourceEnded, SourceError, utc_now
from streams.sources.ptz import NoPresetReady, PatrolSource

log = logging.getLogger(__name__)


def picture_hash(image: np.ndarray) -> int:
    """64-bit difference hash of the grey picture (9x8 from the 32x32 health fingerprint): stable
    under noise, light changes and JPEG, different for different views."""
    small = cv2.resize(fingerprint(image), (9, 8), interpolation=cv2.INTER_AREA)
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    return int(np.packbits(bits).view(">u8")[0])


def hash_distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()


class StuckWatch:
    """Collects one hash per preset per round; at the end of a round, says whether all were the same picture."""

    def __init__(self, preset_ids: list[str], max_bits: int) -> None:
        self.preset_ids = preset_ids
        self.max_bits = max_bits
        self._round: dict[str, int] = {}

    def add(self, preset_id: str, image: np.ndarray) -> bool | None:
        """None while a round is open; True (stuck) or False when this frame closed one.
        A round closes when every preset delivered, or a preset delivers twice (others failing)."""
        value = picture_hash(image)
        verdict = None
        if preset_id in self._round:
            verdict = self._judge()
            self._round = {}
        self._round[preset_id] = value
        if len(self._round) == len(self.preset_ids):
            verdict = self._judge()
            self._round = {}
        return verdict

    def _judge(self) -> bool | None:
        hashes = list(self._round.values())
        if len(hashes) < 2:
            return None  # one picture alone cannot be compared
        return all(hash_distance(a, b) <= self.max_bits for i, a in enumerate(hashes) for b in hashes[i + 1 :])


class PatrolThread(CameraThread):
    """Runs one PTZ camera's patrol; `context` (the first preset's) is the one the watchdog reports a hang on."""

    def __init__(
        self, services: Services, contexts: list[CameraContext], sampler: Sampler, stop: threading.Event, stuck_max_bits: int
    ) -> None:
        super().__init__(services, contexts[0], sampler, stop)
        self.name = f"patrol {sampler.source.camera_id}"
        self.contexts = {context.camera_id: context for context in contexts}
        self.stuck = StuckWatch(list(self.contexts), stuck_max_bits)
        self.stuck_now: bool | None = None  # None: not judged by this thread yet (a restarted one must clear an old fault)

    def _loop(self) -> None:
        source: PatrolSource = self.sampler.source
        while self.sampler.wait_for_slot():
            try:
                frame = self.sampler.read()
            except SourceEnded as exc:
                log.info("camera %s: %s", source.camera_id, exc)
                self.ended = True
                return
            except SourceError as exc:
                if self.abandoned.is_set():
                    return
                self._report_moves(source)
                if not isinstance(exc, NoPresetReady):  # the picture failed: on the preset it was for
                    context = self.contexts[source.current]
                    with context.lock:
                        record_failure(self.services, context, exc)
                continue
            if self.abandoned.is_set():
                return
            self._report_moves(source)
            verdict = self.stuck.add(frame.camera_id, frame.image)
            if verdict is not None and verdict != self.stuck_now:
                self._set_stuck(verdict)
            context = self.contexts[frame.camera_id]
            with context.lock:
                if self.abandoned.is_set():
                    return
                handle_frame(self.services, context, frame, source.paced)
                context.counters.skipped_slots += self.sampler.take_skipped()
            del frame

    def _report_moves(self, source: PatrolSource) -> None:
        for preset_id, exc in source.take_failures():
            context = self.contexts[preset_id]
            with context.lock:
                record_failure(self.services, context, exc)

    def _set_stuck(self, stuck: bool) -> None:
        was, self.stuck_now = self.stuck_now, stuck
        detail = f"PTZ stuck: the same picture at all {len(self.contexts)} presets" if stuck else None
        if stuck:
            log.error("camera %s: %s", self.sampler.source.camera_id, detail)
        elif was:
            log.info("camera %s: PTZ moves again", self.sampler.source.camera_id)
        for context in self.contexts.values():
            with context.lock:
                change = context.health.fault(detail, utc_now())
            if change is not None:
                self.services.publisher.publish(change)
