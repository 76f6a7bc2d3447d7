"""Frames reviewed by eye: AFM unboxed frames on which a model drew a box.

AFM's unboxed pool is not smoke-free: of the 270 unboxed frames on which the
run-1 model drew a box, 33 showed real smoke (mostly small, distant plumes on
the horizon). Training on those as negatives teaches the model to ignore
exactly the smoke we most need to see. So candidates are mined with a model
(`mine`), looked at by a person, and the verdicts committed in
`afm_unboxed_review.csv`: smoke (the model's box becomes the label), negative
(a hard negative) or unsure (left out). A second round (`afm_unboxed_review_round2.csv`)
looked at the frames run 4's model boxed that run 1's had not: 29 of its 75 were run 1's
random negatives, 3 of them real smoke.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2

from detector.detector import Detector

REVIEW_FILE = Path(__file__).with_name("afm_unboxed_review.csv")
# Later rounds, mined with newer models. They add to the training split only, so every run is
# measured on the same val images (dataset.apply_late_review).
LATE_REVIEW_FILES = (Path(__file__).with_name("afm_unboxed_review_round2.csv"),)
VERDICTS = ("smoke", "negative", "unsure")


@dataclass(frozen=True)
class Reviewed:
    name: str  # image file name in afm-hpwren-smoke/images
    verdict: str  # one of VERDICTS
    origin: str  # 'negatives' (run 1's random negatives) or 'pool' (the rest of the unboxed frames)
    box: tuple[float, float, float, float] | None  # normalised x1, y1, x2, y2 when verdict is smoke


def mine(detector: Detector, images: list[Path], min_score: float) -> list[tuple[str, float]]:
    """(file name, top score) of every image where the detector finds something at min_score or above."""
    found = []
    for path in images:
        frame = cv2.imread(str(path))
        if frame is None:
            continue
        top = max((d.score for d in detector.detect([frame])[0]), default=0.0)
        if top >= min_score:
            found.append((path.name, round(top, 3)))
    return sorted(found, key=lambda item: -item[1])


def read_review(path: Path = REVIEW_FILE) -> dict[str, Reviewed]:
    rows = (line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#"))
    reviewed = {}
    for name, verdict, origin, _score, box in csv.reader(rows):
        if verdict not in VERDICTS:
            raise ValueError(f"{path}: {name}: verdict must be one of {VERDICTS}, not {verdict!r}")
        coords = tuple(float(v) for v in box.split()) if box else None
        if verdict == "smoke" and (coords is None or len(coords) != 4):
            raise ValueError(f"{path}: {name}: a smoke verdict needs a box 'x1 y1 x2 y2'")
        reviewed[name] = Reviewed(name, verdict, origin, coords)
    return reviewed
