"""One camera's judgement of a frame: filters, then the temporal vote.

Both the live stream worker and the offline `pinewatch scan` call `FrameJudge.judge`, so a
recorded clip and a live camera reach the same verdict on the same frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from detector.filters import Polygon, apply_filters
from detector.temporal import TemporalParams, TemporalVote
from detector.types import Detection


@dataclass(frozen=True, slots=True)
class Judgement:
    kept: list[Detection]  # detections that passed the masks and the size limit
    confirmed: bool  # part of a confirmed smoke/fire place
    new_alert: bool  # the place was confirmed on this frame: raise one alert
    best: Detection | None  # best detection of the confirmed place(s) in this frame


class FrameJudge:
    """Stateful per camera: create one per camera and feed it that camera's frames in order."""

    def __init__(self, masks: Sequence[Polygon], max_box_area: float, temporal: TemporalParams) -> None:
        if not 0 < max_box_area <= 1:
            raise ValueError("max_box_area must be in (0, 1]")
        self.masks = [list(polygon) for polygon in masks]
        self.max_box_area = max_box_area
        self.vote = TemporalVote(temporal)

    def judge(self, detections: Sequence[Detection]) -> Judgement:
        kept = apply_filters(detections, self.masks, self.max_box_area)
        result = self.vote.update(kept)
        return Judgement(kept=kept, confirmed=result.confirmed, new_alert=result.new_alert, best=result.detection)
