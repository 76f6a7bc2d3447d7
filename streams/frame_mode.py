"""Day, night_ir or low_light per camera, from each frame, and the thresholds each mode runs.

Tower cameras drop their IR-cut filter at dusk and send greyscale (near-infrared) pictures;
a colour camera without IR just gets dark. Both need other settings than the day (measured on
the AFM IR frames: benchmarks/NIGHT.md), and neither may silently stop detection.

- `measure` (pure; every 8th pixel of every 8th row, ~0.25 ms at 1080p) gives the mean channel
  spread (max - min of B, G, R per pixel) and the mean luminance.
- `classify` (pure): spread at most `ir_max_channel_spread` grey levels is night_ir (the three
  channels are the same picture; AFM's IR frames measure <= 0.6, its colour frames >= 10);
  otherwise a mean luminance at most `low_light_max_luminance` is low_light; else day.
- `ModeSwitch`: a camera changes mode only after `switch_after` frames in a row of the new
  mode, so dusk or a passing cloud does not flip settings (and votes) every frame.
- `ModeThresholds`: each mode's detector score floor and temporal-vote values, resolved from
  the one config (frame_mode.<mode> overrides, empty = the day value). The vote values go to the
  camera's FrameJudge as its "frame_mode" vote layer, over the day's fire-danger level layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from detector.pipeline import FrameJudge
from detector.types import Detection
from pinewatch.core.config import FrameModeConfig, ModeOverrides, Settings
from pinewatch.core.messages import FRAME_MODES, FrameMode

SAMPLE_STEP = 8  # every 8th pixel each way: 32k samples of a 1080p frame, plenty for two means


@dataclass(frozen=True, slots=True)
class FrameStats:
    channel_spread: float  # mean of max(B, G, R) - min(B, G, R), grey levels
    luminance: float  # mean grey level (ITU-R 601 weights)


def measure(image: np.ndarray) -> FrameStats:
    """Spread and luminance of a BGR (or single-channel) uint8 frame."""
    height, width = image.shape[:2]
    # Nearest-neighbour shrink: picks pixels without averaging (a strided numpy view costs 20x more).
    sample = cv2.resize(image, (max(1, width // SAMPLE_STEP), max(1, height // SAMPLE_STEP)), interpolation=cv2.INTER_NEAREST)
    if sample.ndim == 2 or sample.shape[2] == 1:
        return FrameStats(0.0, float(sample.mean()))
    b, g, r = cv2.split(sample[..., :3])
    spread = cv2.mean(cv2.subtract(cv2.max(cv2.max(b, g), r), cv2.min(cv2.min(b, g), r)))[0]
    mean_b, mean_g, mean_r, _ = cv2.mean(sample[..., :3])
    return FrameStats(float(spread), 0.114 * mean_b + 0.587 * mean_g + 0.299 * mean_r)


def classify(stats: FrameStats, config: FrameModeConfig) -> FrameMode:
    if stats.channel_spread <= config.ir_max_channel_spread:
        return "night_ir"
    if stats.luminance <= config.low_light_max_luminance:
        return "low_light"
    return "day"


class ModeSwitch:
    """One camera's current mode with hysteresis; the first frame decides at once."""

    def __init__(self, switch_after: int) -> None:
        if switch_after < 1:
            raise ValueError("switch_after must be >= 1")
        self.switch_after = switch_after
        self.mode: FrameMode | None = None
        self._candidate: FrameMode | None = None
        self._run = 0

    def update(self, observed: FrameMode) -> bool:
        """Feed one frame's mode; True when the camera's mode changed."""
        if self.mode is None:
            self.mode = observed
            return True
        if observed == self.mode:
            self._candidate, self._run = None, 0
            return False
        self._run = self._run + 1 if observed == self._candidate else 1
        self._candidate = observed
        if self._run < self.switch_after:
            return False
        self.mode, self._candidate, self._run = observed, None, 0
        return True


VOTE_FIELDS = ("alert_score", "min_hits", "min_mean_score")
LAYER = "frame_mode"  # detector.pipeline.VOTE_LAYERS


@dataclass(frozen=True, slots=True)
class ModeParams:
    score_threshold: float  # detections below this are dropped before the vote
    vote: dict = field(default_factory=dict)  # temporal values this mode changes; {} = none


class ModeThresholds:
    """The per-mode settings of one configuration."""

    def __init__(self, settings: Settings) -> None:
        day_score = settings.detector.score_threshold
        modes = settings.frame_mode
        self.config = modes
        self.params: dict[FrameMode, ModeParams] = {"day": ModeParams(day_score)}
        for mode in ("night_ir", "low_light"):
            values: ModeOverrides = getattr(modes, mode)
            vote = {k: getattr(values, k) for k in VOTE_FIELDS if getattr(values, k) is not None}
            score = values.score_threshold if values.score_threshold is not None else day_score
            self.params[mode] = ModeParams(score, vote)
        assert set(self.params) == set(FRAME_MODES)

    @property
    def detector_floor(self) -> float:
        """The score threshold the shared detector runs at: the lowest of any mode (each mode filters above it)."""
        return min(p.score_threshold for p in self.params.values())

    def keep(self, mode: FrameMode, detections: list[Detection]) -> list[Detection]:
        floor = self.params[mode].score_threshold
        return [d for d in detections if d.score >= floor]


class CameraModes:
    """One camera's mode switch and the judge tuning that goes with it (used under the camera's lock)."""

    def __init__(self, thresholds: ModeThresholds, judge: FrameJudge) -> None:
        self.thresholds = thresholds
        self.judge = judge
        self.switch = ModeSwitch(thresholds.config.switch_after)

    @property
    def mode(self) -> FrameMode | None:
        return self.switch.mode

    def observe(self, image: np.ndarray) -> bool:
        """Classify the frame; on a change of mode the judge gets that mode's vote. True when changed."""
        if not self.switch.update(classify(measure(image), self.thresholds.config)):
            return False
        self.judge.set_vote_layer(LAYER, self.thresholds.params[self.switch.mode].vote)
        return True

    def keep(self, detections: list[Detection]) -> list[Detection]:
        """The detections at or above the current mode's score threshold."""
        return self.thresholds.keep(self.switch.mode or "day", detections)
