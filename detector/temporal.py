"""Per-camera sliding-window vote with hysteresis: one alert per sustained smoke/fire place.

A single-frame detection is often a cloud edge, glare or a bird. A place counts as confirmed
when at least `min_hits` of the last `window` frames had a hit there (a detection scoring
>= `alert_score` overlapping it) and, when `min_mean_score` is set, the mean score of those
hits reaches it: a low per-frame score lets faint early smoke count, and the floor keeps a
place that only ever flickers at that low score (haze, a ridge line) from alerting. The alert is raised once, when the vote first passes, and
stays raised until `release_misses` frames in a row had no hit at that place; only then can
the place alert again. Several places are tracked at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from detector.types import Detection

Box = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class TemporalParams:
    """pinewatch.core.config.TemporalConfig values; no defaults here on purpose."""

    window: int
    min_hits: int
    overlap_iou: float
    release_misses: int
    alert_score: float
    min_mean_score: float  # 0 = no floor

    def __post_init__(self) -> None:
        if self.window < 1 or self.release_misses < 1:
            raise ValueError("window and release_misses must be >= 1")
        if not 1 <= self.min_hits <= self.window:
            raise ValueError("min_hits must be in 1..window")


@dataclass(frozen=True, slots=True)
class TemporalResult:
    confirmed: bool  # this frame has a hit on a place whose vote passed
    new_alert: bool  # a place's vote passed on this very frame: raise one alert
    detection: Detection | None  # best hit of the confirmed places in this frame
    tracked_places: int
    alerted: tuple[Detection, ...] = ()  # the hits of the places whose vote passed on this frame


def iou(a: Box, b: Box) -> float:
    inter_w = min(a[2], b[2]) - max(a[0], b[0])
    inter_h = min(a[3], b[3]) - max(a[1], b[1])
    if inter_w <= 0 or inter_h <= 0:
        return 0.0
    inter = inter_w * inter_h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def contains(outer: Box, inner: Box) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and outer[2] >= inner[2] and outer[3] >= inner[3]


def same_place(a: Box, b: Box, overlap_iou: float) -> bool:
    """Smoke grows and drifts: overlapping enough, or one box inside the other, is the same place."""
    if contains(a, b) or contains(b, a):
        return True
    overlap = iou(a, b)
    return overlap > 0 and overlap >= overlap_iou


@dataclass(slots=True)
class _Place:
    box: Box
    votes: deque  # one hit score per frame (0.0 = no hit), newest last
    misses: int = 0  # frames in a row without a hit
    alerted: bool = False
    hits_now: list[Detection] = field(default_factory=list)


class TemporalVote:
    """Feed one frame's detections at a time with `update`; not thread-safe (one per camera)."""

    def __init__(self, params: TemporalParams) -> None:
        self.params = params
        self._places: list[_Place] = []
        self._next: TemporalParams | None = None  # set by retune from another thread, applied by update

    def retune(self, params: TemporalParams) -> None:
        """Vote with `params` from the next frame on. One assignment, so another thread may call it;
        the camera's own thread applies it at the start of its next update."""
        self._next = params

    def _apply(self, params: TemporalParams) -> None:
        # Places and their alerted state carry over (no second alert for the same smoke); each
        # keeps its newest votes up to the new window.
        self.params = params
        for place in self._places:
            place.votes = deque(place.votes, maxlen=params.window)

    @property
    def places(self) -> int:
        return len(self._places)

    def reset(self) -> None:
        self._places.clear()

    def _place_for(self, box: Box) -> _Place | None:
        best, best_iou = None, -1.0
        for place in self._places:
            if same_place(place.box, box, self.params.overlap_iou):
                overlap = iou(place.box, box)
                if overlap > best_iou:
                    best, best_iou = place, overlap
        return best

    def update(self, detections: Sequence[Detection]) -> TemporalResult:
        pending, self._next = self._next, None
        if pending is not None:
            self._apply(pending)
        params = self.params
        for place in self._places:
            place.hits_now = []
        for detection in sorted(detections, key=lambda d: -d.score):
            if detection.score < params.alert_score:
                continue
            place = self._place_for(detection.box)
            if place is None:  # a new place starts with this frame's vote only
                place = _Place(box=detection.box, votes=deque(maxlen=params.window))
                self._places.append(place)
            place.hits_now.append(detection)

        alerted: list[Detection] = []
        confirmed_hits: list[Detection] = []
        surviving: list[_Place] = []
        for place in self._places:
            hit = bool(place.hits_now)
            place.votes.append(place.hits_now[0].score if hit else 0.0)
            if hit:
                place.misses = 0
                place.box = place.hits_now[0].box  # follow the drifting plume
            else:
                place.misses += 1
            if hit and not place.alerted and self._passes(place):
                place.alerted = True
                alerted.append(place.hits_now[0])
            if hit and place.alerted:
                confirmed_hits.append(place.hits_now[0])
            if self._keep(place):
                surviving.append(place)
        self._places = surviving

        best = max(confirmed_hits, key=lambda d: d.score, default=None)
        return TemporalResult(
            confirmed=best is not None, new_alert=bool(alerted), detection=best, tracked_places=len(self._places),
            alerted=tuple(alerted),
        )

    def _passes(self, place: _Place) -> bool:
        hits = [score for score in place.votes if score > 0]
        return len(hits) >= self.params.min_hits and sum(hits) / len(hits) >= self.params.min_mean_score

    def _keep(self, place: _Place) -> bool:
        if place.alerted:  # hysteresis: the alert holds through short gaps
            return place.misses < self.params.release_misses
        return any(place.votes)  # nothing left in the window to vote with
