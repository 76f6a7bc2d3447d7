"""Frames reviewed by eye: AFM unboxed frames on which a model drew a box.

AFM's unboxed pool is not smoke-free: of the 270 unboxed frames on which the
run-1 model drew a box, 33 showed real smoke (mostly small, distant plumes on
the horizon). Training on those as negatives teaches the model to ignore
exactly the smoke we most need to see. So candidates are mined with a model
(`mine`), looked at by a person, and the verdicts committed in
`afm_unboxed_review.csv`: smoke (the model's box becomes the label), negative
(a hard negative) or unsure (left out). A second round (`afm_unboxed_review_round2.csv`)
looked at the frames run 4's model boxed that run 1's had not: 29 of its 75 were run 1's
random negatives, 3 of them real smoke. A third (`..._round3.csv`, `pinewatch mine`) looked at
the frames run 8's model boxed at half the threshold that no round had seen: 2 smoke, 43 hard
negatives (9 of them tower structures, the kind run 8 mistakes on the wc-s tower, but all 9 are
val frames or near-duplicates of them, so none joins train).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from detector.detector import Detector

REVIEW_FILE = Path(__file__).with_name("afm_unboxed_review.csv")
# Later rounds, mined with newer models. They add to the training split only, so every run is
# measured on the same val images (dataset.apply_late_review).
LATE_REVIEW_FILES = tuple(Path(__file__).with_name(f"afm_unboxed_review_round{n}.csv") for n in (2, 3))
VERDICTS = ("smoke", "negative", "unsure")


@dataclass(frozen=True)
class Reviewed:
    name: str  # image file name in afm-hpwren-smoke/images
    verdict: str  # one of VERDICTS
    origin: str  # 'negatives' (run 1's random negatives) or 'pool' (the rest of the unboxed frames)
    box: tuple[float, float, float, float] | None  # normalised x1, y1, x2, y2 when verdict is smoke


@dataclass(frozen=True)
class Candidate:
    """A frame to look at: the model's top box on it."""

    image: Path
    score: float
    box: tuple[float, float, float, float]  # normalised x1, y1, x2, y2


def mine(detector: Detector, images: list[Path], min_score: float) -> list[Candidate]:
    """Every image where the detector boxes something at min_score or above, highest score first."""
    found = []
    for path in images:
        frame = cv2.imread(str(path))
        if frame is None:
            continue
        top = max(detector.detect([frame])[0], key=lambda d: d.score, default=None)
        if top is not None and top.score >= min_score:
            found.append(Candidate(path, round(top.score, 3), tuple(round(v, 4) for v in top.box)))
    return sorted(found, key=lambda c: -c.score)


def contact_sheet(candidates: list[Candidate], first: int = 0, tile: int = 240, columns: int = 4) -> np.ndarray:
    """One BGR image: per candidate, a crop of 3x its box (at least a third of the frame) with the box
    drawn and its number (from `first`), so a reviewer sees the box in its surroundings. Pure apart from reading files."""
    rows = max(1, -(-len(candidates) // columns))
    sheet = np.zeros((rows * tile, columns * tile, 3), np.uint8)
    for number, candidate in enumerate(candidates):
        frame = cv2.imread(str(candidate.image))
        if frame is None:
            continue
        height, width = frame.shape[:2]
        x1, y1, x2, y2 = (candidate.box[0] * width, candidate.box[1] * height, candidate.box[2] * width, candidate.box[3] * height)
        side = max(3 * max(x2 - x1, y2 - y1), min(width, height) / 3)
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        left = int(min(max(0, cx - side / 2), max(0, width - side)))
        top = int(min(max(0, cy - side / 2), max(0, height - side)))
        crop = frame[top : int(top + side), left : int(left + side)].copy()
        cv2.rectangle(crop, (int(x1 - left), int(y1 - top)), (int(x2 - left), int(y2 - top)), (0, 0, 255), 1)
        scale = tile / max(crop.shape[:2])
        crop = cv2.resize(crop, (max(1, int(crop.shape[1] * scale)), max(1, int(crop.shape[0] * scale))))
        cv2.putText(crop, f"{first + number} {candidate.score:.2f}", (3, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 255, 255), 1)
        r, c = divmod(number, columns)
        sheet[r * tile : r * tile + crop.shape[0], c * tile : c * tile + crop.shape[1]] = crop
    return sheet


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
