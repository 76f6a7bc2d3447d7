"""Accuracy measures for the detector: pure functions plus small drivers.

- val: per-class precision, recall, F1 at the shipped threshold and mAP50, on a
  YOLO-format folder (images/ + labels/), as the dataset recipe writes it;
- smoke-free clips: frames with any detection and alerts raised through the
  same temporal confirmation as the live pipeline;
- timelapse sequences (`EPOCH_OFFSET.jpg`, OFFSET seconds from ignition):
  minutes from ignition to the first alert, and alerts before ignition.

Everything takes a `detect` callable (a batch of BGR images -> detections per
image) so that any model variant or provider is measured by the same code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import cv2
import numpy as np

from detector import media
from detector.temporal import iou
from detector.types import Detection

DetectFn = Callable[[Sequence[np.ndarray]], list[list[Detection]]]


@dataclass(frozen=True)
class GroundTruth:
    label: str
    box: tuple[float, float, float, float]


@dataclass
class ClassMetrics:
    label: str
    ground_truths: int
    precision: float
    recall: float
    f1: float
    ap50: float


@dataclass
class ValReport:
    images: int
    threshold: float
    classes: list[ClassMetrics]

    @property
    def map50(self) -> float:
        present = [c.ap50 for c in self.classes if c.ground_truths]
        return float(np.mean(present)) if present else 0.0


@dataclass
class ClipReport:
    clip: str
    frames: int
    frames_with_detections: int
    alerts: int


@dataclass
class SequenceReport:
    sequence: str
    frames: int
    alerts_before_ignition: int
    first_alert_offset_s: float | None  # seconds after ignition; None: never alerted after ignition
    first_alert_file: str | None
    alert_offsets_s: list[float] = field(default_factory=list)
    # Where each alert before ignition was: "file label score x1,y1,x2,y2" (normalised box), to look at.
    false_alerts: list[str] = field(default_factory=list)
    # With labelled smoke (smoke_region): the hull of every labelled box, and the alerts after
    # ignition that are elsewhere (a tower, a roof), which count as false, not as the detection.
    smoke_region: tuple[float, float, float, float] | None = None
    misplaced_alerts: list[str] = field(default_factory=list)

    @property
    def minutes_to_detection(self) -> float | None:
        return None if self.first_alert_offset_s is None else self.first_alert_offset_s / 60.0


def load_yolo_labels(label_file: Path, class_names: Sequence[str]) -> list[GroundTruth]:
    """YOLO rows `cls cx cy w h` (normalised) -> ground truths with [x1, y1, x2, y2] boxes."""
    truths = []
    if not label_file.exists():
        return truths
    for line in label_file.read_text().splitlines():
        parts = line.split()
        if len(parts) != 5:
            continue
        cls, cx, cy, w, h = int(parts[0]), *map(float, parts[1:])
        truths.append(GroundTruth(class_names[cls], (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)))
    return truths


def match_image(
    detections: Sequence[Detection], truths: Sequence[GroundTruth], label: str, iou_threshold: float = 0.5
) -> list[tuple[float, bool]]:
    """Greedy match by descending score (VOC/COCO style): (score, is_true_positive) per detection of `label`."""
    preds = sorted((d for d in detections if d.label == label), key=lambda d: -d.score)
    gts = [t for t in truths if t.label == label]
    used = [False] * len(gts)
    out = []
    for pred in preds:
        best, best_iou = -1, iou_threshold
        for i, gt in enumerate(gts):
            if used[i]:
                continue
            overlap = iou(pred.box, gt.box)
            if overlap >= best_iou:
                best, best_iou = i, overlap
        if best >= 0:
            used[best] = True
        out.append((pred.score, best >= 0))
    return out


def average_precision(scored: Sequence[tuple[float, bool]], ground_truths: int) -> float:
    """Area under the interpolated precision-recall curve (all points, as VOC2010+/COCO-style)."""
    if ground_truths == 0:
        return 0.0
    if not scored:
        return 0.0
    order = np.argsort([-s for s, _ in scored], kind="stable")
    tp = np.array([scored[i][1] for i in order], dtype=np.float64)
    fp = 1.0 - tp
    tp_cum, fp_cum = np.cumsum(tp), np.cumsum(fp)
    recall = tp_cum / ground_truths
    precision = tp_cum / np.maximum(tp_cum + fp_cum, 1e-12)
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([1.0], precision, [0.0]))
    mpre = np.flip(np.maximum.accumulate(np.flip(mpre)))
    steps = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def precision_recall_at(scored: Sequence[tuple[float, bool]], ground_truths: int, threshold: float) -> tuple[float, float, float]:
    kept = [tp for score, tp in scored if score >= threshold]
    tp = sum(kept)
    precision = tp / len(kept) if kept else 0.0
    recall = tp / ground_truths if ground_truths else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


# Box width in pixels of the frame as the camera gave it: early smoke is 8-30 px wide.
SIZE_BUCKETS: tuple[tuple[str, float, float], ...] = (("<16", 0, 16), ("16-32", 16, 32), ("32-64", 32, 64), (">64", 64, float("inf")))


@dataclass
class SizeRecall:
    bucket: str
    ground_truths: int
    recall_iou50: float  # found by a detection of its class at the threshold with IoU >= 0.5
    recall_iou30: float  # the same at IoU >= 0.3: small boxes are drawn loosely, by people and by the model


@dataclass
class LabelledImage:
    """One frame with its truths and its width in pixels (to bucket boxes by native size)."""

    path: Path
    width_px: int
    truths: list[GroundTruth]
    detections: list[Detection]


def size_bucket(width_px: float) -> str:
    return next(name for name, low, high in SIZE_BUCKETS if low <= width_px < high)


def recall_by_size(images: Sequence[LabelledImage], label: str, threshold: float) -> list[SizeRecall]:
    """Recall per native-size bucket of `label` boxes at `threshold`."""
    counts = {name: [0, 0, 0] for name, _, _ in SIZE_BUCKETS}  # ground truths, found at 0.5, found at 0.3
    for image in images:
        kept = [d for d in image.detections if d.label == label and d.score >= threshold]
        for truth in (t for t in image.truths if t.label == label):
            bucket = counts[size_bucket((truth.box[2] - truth.box[0]) * image.width_px)]
            best = max((iou(d.box, truth.box) for d in kept), default=0.0)
            bucket[0] += 1
            bucket[1] += int(best >= 0.5)
            bucket[2] += int(best >= 0.3)
    return [
        SizeRecall(name, n, found50 / n if n else 0.0, found30 / n if n else 0.0)
        for name, (n, found50, found30) in counts.items()
    ]


def best_score_on_truths(image: LabelledImage, label: str, min_iou: float = 0.1) -> float:
    """Highest score of a `label` detection touching a truth box: how close the model came to seeing it."""
    scores = [d.score for d in image.detections if d.label == label for t in image.truths if iou(d.box, t.box) >= min_iou]
    return max(scores, default=0.0)


def labelled_frames(folder: Path, labels: Path | None = None) -> list[tuple[Path, Path]]:
    """(image, YOLO label file) for each image of `folder` that has a label file in `labels` (default folder/labels)."""
    labels = labels or folder / "labels"
    return [(image, labels / f"{image.stem}.txt") for image in list_images(folder) if (labels / f"{image.stem}.txt").exists()]


def list_images(folder: Path) -> list[Path]:
    return media.list_images(folder)


def batched(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def val_detections(
    detect: DetectFn,
    dataset_dir: Path,
    batch: int = 8,
    progress: Callable[[Iterable], Iterable] = lambda it: it,
) -> list[tuple[Path, list[Detection]]]:
    """Run `detect` (at a low score threshold, so the PR curve is complete) over dataset_dir/images."""
    images = list_images(dataset_dir / "images")
    pairs: list[tuple[Path, list[Detection]]] = []
    for chunk in progress(list(batched(images, batch))):
        frames = [cv2.imread(str(p)) for p in chunk]
        pairs.extend(zip(chunk, detect(frames)))
    return pairs


def val_report(
    pairs: Sequence[tuple[Path, list[Detection]]], dataset_dir: Path, class_names: Sequence[str], threshold: float
) -> ValReport:
    """Per-class P/R/F1 at `threshold` and AP50 over all scores."""
    scored: dict[str, list[tuple[float, bool]]] = {name: [] for name in class_names}
    counts = {name: 0 for name in class_names}
    for path, dets in pairs:
        truths = load_yolo_labels(dataset_dir / "labels" / f"{path.stem}.txt", class_names)
        for name in class_names:
            counts[name] += sum(1 for t in truths if t.label == name)
            scored[name].extend(match_image(dets, truths, name))
    classes = []
    for name in class_names:
        p, r, f1 = precision_recall_at(scored[name], counts[name], threshold)
        classes.append(ClassMetrics(name, counts[name], p, r, f1, average_precision(scored[name], counts[name])))
    return ValReport(len(pairs), threshold, classes)


_EPOCH_OFFSET = re.compile(r"^(\d{9,11})_([+-]\d+)$")


def ignition_offset_s(file_name: str) -> float | None:
    """`1532815026_-00600.jpg` -> -600.0 (seconds from ignition); None if the name has no offset."""
    match = _EPOCH_OFFSET.match(Path(file_name).stem)
    return float(match.group(2)) if match else None


def detect_sequence(detect: DetectFn, frames: Iterable[np.ndarray], batch: int = 4) -> list[list[Detection]]:
    """Detections for each frame, in order (run once, then replay through many temporal settings)."""
    out: list[list[Detection]] = []
    chunk: list[np.ndarray] = []
    for frame in frames:
        chunk.append(frame)
        if len(chunk) == batch:
            out.extend(detect(chunk))
            chunk = []
    if chunk:
        out.extend(detect(chunk))
    return out


def video_frames(path: Path, every: int = 1) -> Iterator[np.ndarray]:
    """Every `every`-th frame of a clip, read by detector.media (the same frames as scan and the live source)."""
    for decoded in media.video_frames(path):
        if decoded.index % every == 0:
            yield decoded.image()


def replay_clip(name: str, detections: Sequence[list[Detection]], judge, threshold: float) -> ClipReport:
    """`judge` is a fresh detector.pipeline.FrameJudge: the live pipeline's confirmation."""
    alerts = 0
    for dets in detections:
        alerts += int(judge.judge(dets).new_alert)
    flagged = sum(1 for dets in detections if any(d.score >= threshold for d in dets))
    return ClipReport(name, len(detections), flagged, alerts)


def smoke_region(label_dir: Path) -> tuple[float, float, float, float] | None:
    """The hull (normalised x1, y1, x2, y2) of every smoke box (class 0) labelled in `label_dir`; None without any."""
    boxes = [truth.box for file in sorted(Path(label_dir).glob("*.txt")) for truth in load_yolo_labels(file, ("smoke", "fire"))
             if truth.label == "smoke"] if Path(label_dir).is_dir() else []
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _where(path: Path, detection: Detection) -> str:
    return f"{path.name} {detection.label} {detection.score:.2f} " + ",".join(f"{v:.3f}" for v in detection.box)


def replay_sequence(
    name: str, files: Sequence[Path], detections: Sequence[list[Detection]], judge,
    region: tuple[float, float, float, float] | None = None,
) -> SequenceReport:
    """Alerts before ignition are false. After it, the first alert is the detection, unless
    `region` (smoke_region) is known and the alert's box lies outside it: that one is misplaced."""
    report = SequenceReport(name, len(files), 0, None, None, smoke_region=region)
    for path, dets in zip(files, detections):
        offset = ignition_offset_s(path.name)
        judgement = judge.judge(dets)
        if offset is None or not judgement.new_alert:
            continue
        report.alert_offsets_s.append(offset)
        if offset < 0:
            report.alerts_before_ignition += 1
            report.false_alerts += [_where(path, d) for d in judgement.alerted]
            continue
        if region is not None and not any(iou(d.box, region) > 0 for d in judgement.alerted):
            report.misplaced_alerts += [_where(path, d) for d in judgement.alerted]
        elif report.first_alert_offset_s is None:
            report.first_alert_offset_s, report.first_alert_file = offset, path.name
    return report
