"""One camera's judgement of a frame: filters, then the temporal vote.

Both the live stream worker and the offline `pinewatch scan` call `FrameJudge.judge`, so a
recorded clip and a live camera reach the same verdict on the same frames.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

from detector.filters import Polygon, apply_filters
from detector.temporal import TemporalParams, TemporalVote
from detector.types import Detection


# Sources that may change a camera's vote while it runs, weakest first (a later layer wins where
# both set a value): the day's fire-danger level (issue 12), then the picture's frame mode.
VOTE_LAYERS = ("danger_level", "frame_mode")


@dataclass(frozen=True, slots=True)
class Judgement:
    kept: list[Detection]  # detections that passed the masks and the size limit
    confirmed: bool  # part of a confirmed smoke/fire place
    new_alert: bool  # the place was confirmed on this frame: raise one alert
    best: Detection | None  # best detection of the confirmed place(s) in this frame
    alerted: tuple[Detection, ...] = ()  # the detections whose place was confirmed on this frame


class FrameJudge:
    """Stateful per camera: create one per camera and feed it that camera's frames in order."""

    def __init__(self, masks: Sequence[Polygon], max_box_area: float, temporal: TemporalParams) -> None:
        if not 0 < max_box_area <= 1:
            raise ValueError("max_box_area must be in (0, 1]")
        self.masks = [list(polygon) for polygon in masks]
        self.max_box_area = max_box_area
        self.vote = TemporalVote(temporal)
        self.base_temporal = temporal
        self._layers: dict[str, dict] = {}
        self._layers_lock = threading.Lock()

    def set_vote_layer(self, name: str, changes: dict) -> TemporalParams:
        """Override some vote values under `name` (empty `changes` removes the layer) and retune.

        Layers apply over the base in VOTE_LAYERS order, so each source (the day's fire-danger
        level, the frame mode) changes only its own layer and none undoes another's. A min_hits
        above the resulting window is cut to the window. Safe from any thread.
        """
        if name not in VOTE_LAYERS:
            raise ValueError(f"unknown vote layer {name!r} (known: {', '.join(VOTE_LAYERS)})")
        with self._layers_lock:
            if changes:
                self._layers[name] = dict(changes)
            else:
                self._layers.pop(name, None)
            merged: dict = {}
            for layer in VOTE_LAYERS:
                merged.update(self._layers.get(layer, {}))
            window = merged.get("window", self.base_temporal.window)
            merged["min_hits"] = min(merged.get("min_hits", self.base_temporal.min_hits), window)
            params = replace(self.base_temporal, **merged)
            self.vote.retune(params)
            return params

    def judge(self, detections: Sequence[Detection]) -> Judgement:
        kept = apply_filters(detections, self.masks, self.max_box_area)
        result = self.vote.update(kept)
        return Judgement(kept=kept, confirmed=result.confirmed, new_alert=result.new_alert, best=result.detection,
                         alerted=result.alerted)
