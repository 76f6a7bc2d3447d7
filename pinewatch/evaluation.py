"""`pinewatch eval`: the model card's numbers, reproducible with one command.

Runs each model once per frame at a low score threshold, caches the detections,
then replays them through the live pipeline's FrameJudge at the shipped
settings (and, with a sweep, at a grid of temporal settings).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import cv2
from tqdm import tqdm

from detector.evaluate import (
    ClipReport,
    LabelledImage,
    SizeRecall,
    best_score_on_truths,
    labelled_frames,
    load_yolo_labels,
    recall_by_size,
    SequenceReport,
    ValReport,
    detect_sequence,
    val_detections,
    val_report,
    list_images,
    replay_clip,
    replay_sequence,
    smoke_region,
    video_frames,
)
from detector.training.export import sha256_of
from detector.types import Detection
from pinewatch.core.config import ROMAN, DetectorConfig, Settings, TemporalConfig, temporal_for_level
from streams.wiring import frame_judge, open_detector

LOW_THRESHOLD = 0.001  # complete PR curves; the shipped threshold is applied on replay


@dataclass
class ModelEvaluation:
    model: str
    imgsz: int
    score_threshold: float
    temporal: dict
    val: ValReport | None
    clips: list[ClipReport] = field(default_factory=list)
    sequences: list[SequenceReport] = field(default_factory=list)
    smoke_pr: list[dict] = field(default_factory=list)  # smoke precision/recall at several thresholds
    ms_per_frame: float = 0.0
    sweep: list[dict] = field(default_factory=list)
    val_smoke_by_size: list[SizeRecall] = field(default_factory=list)
    small_smoke: dict | None = None  # the boxed wc-s frames (measure only, never trained on)
    danger_levels: list[dict] = field(default_factory=list)  # issue 12: each fire-danger level's vote, replayed
    sha256: str = ""  # of the model file, so that a figure is never read for another file at the same path

    def as_dict(self) -> dict:
        out = asdict(self)
        if self.val is not None:
            out["val"]["map50"] = self.val.map50
        for seq, report in zip(out["sequences"], self.sequences):
            seq["minutes_to_detection"] = report.minutes_to_detection
        return out


SMALL_SMOKE_FRAMES = ("sequences/20190925_wc-s-mobo-c", "sequences/20190925_wc-s-mobo-c/labels")


def _width_px(path: Path) -> int:
    from detector.preprocess import jpeg_size

    size = jpeg_size(path.read_bytes()[:65536]) if path.suffix.lower() in (".jpg", ".jpeg") else None
    return size[1] if size else cv2.imread(str(path)).shape[1]


def labelled_images(pairs, label_dir: Path, class_names) -> list[LabelledImage]:
    return [
        LabelledImage(path, _width_px(path), load_yolo_labels(label_dir / f"{path.stem}.txt", class_names), dets)
        for path, dets in pairs
    ]


def small_smoke_report(detector, shared: Path, threshold: float) -> dict | None:
    """Recall by size, and the best score the model gave each box, on the boxed wc-s frames."""
    folder, labels = (shared / part for part in SMALL_SMOKE_FRAMES)
    frames = labelled_frames(folder, labels) if labels.exists() else []
    if not frames:
        return None
    pairs = [(image, detector.detect([cv2.imread(str(image))])[0]) for image, _ in frames]
    images = labelled_images(pairs, labels, detector.class_names)
    by_size = recall_by_size(images, "smoke", threshold)
    boxes = sum(b.ground_truths for b in by_size)
    return {
        "frames": len(images),
        "boxes": boxes,
        "recall_iou30": sum(b.recall_iou30 * b.ground_truths for b in by_size) / max(boxes, 1),
        "by_size": [asdict(b) for b in by_size],
        "best_score_per_frame": {image.path.name: round(best_score_on_truths(image, "smoke"), 3) for image in images},
        "frames_with_smoke_found_iou30": sum(1 for image in images if any(b.recall_iou30 > 0 for b in recall_by_size([image], "smoke", threshold))),
    }


def _above(detections: Sequence[list[Detection]], threshold: float) -> list[list[Detection]]:
    return [[d for d in dets if d.score >= threshold] for dets in detections]


@dataclass
class _Cached:
    clips: dict[str, list[list[Detection]]]
    sequences: dict[str, tuple[list[Path], list[list[Detection]]]]
    smoke_regions: dict[str, tuple[float, float, float, float] | None] = field(default_factory=dict)  # from labels


def _replay(cached: _Cached, detector_cfg: DetectorConfig, temporal: TemporalConfig) -> tuple[list[ClipReport], list[SequenceReport]]:
    threshold = detector_cfg.score_threshold
    clips = [replay_clip(name, _above(dets, threshold), frame_judge(detector_cfg, temporal), threshold) for name, dets in cached.clips.items()]
    sequences = [
        replay_sequence(name, files, _above(dets, threshold), frame_judge(detector_cfg, temporal), cached.smoke_regions.get(name))
        for name, (files, dets) in cached.sequences.items()
    ]
    return clips, sequences


def _alert_counts(clips: list[ClipReport], sequences: list[SequenceReport]) -> dict:
    """What one vote setting did: false alerts, alerts on the smoke clip, and time to detection."""
    return {
        "false_alerts_smoke_free_clips": sum(c.alerts for c in clips if "nosmoke" in c.clip),
        "alerts_smoke_clip": sum(c.alerts for c in clips if "nosmoke" not in c.clip),
        "alerts_before_ignition": sum(s.alerts_before_ignition for s in sequences),
        "misplaced_alerts": sum(len(s.misplaced_alerts) for s in sequences),
        "minutes_to_detection": {s.sequence: s.minutes_to_detection for s in sequences},
    }


def _counts_text(row: dict) -> str:
    """One row's _alert_counts as the report prints them."""
    ttd = ", ".join(f"{k.split('_')[1]} {'-' if v is None else f'{v:.0f}'}" for k, v in row["minutes_to_detection"].items())
    return (f"{row['false_alerts_smoke_free_clips']} / {row['alerts_before_ignition']} / {row['misplaced_alerts']}; "
            f"{row['alerts_smoke_clip']}; {ttd}")


def sweep_temporal(cached: _Cached, detector_cfg: DetectorConfig, base: TemporalConfig) -> list[dict]:
    rows = []
    grid = itertools.product(
        (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5), ((1, 1), (2, 2), (3, 2), (4, 2), (3, 3), (4, 3), (5, 3), (6, 4)), (0.0, 0.2, 0.3)
    )
    for score, (window, hits), floor in grid:
        if floor and floor <= score:
            continue  # the floor only matters above the per-frame score
        temporal = base.model_copy(update={"window": window, "min_hits": hits, "alert_score": score, "min_mean_score": floor})
        cfg = detector_cfg.model_copy(update={"score_threshold": min(detector_cfg.score_threshold, score)})
        clips, sequences = _replay(cached, cfg, temporal)
        rows.append(
            {
                "alert_score": score,
                "window": window,
                "min_hits": hits,
                "min_mean_score": floor,
                **_alert_counts(clips, sequences),
            }
        )
    return rows


def danger_level_rows(cached: _Cached, detector_cfg: DetectorConfig, settings: Settings) -> list[dict]:
    """Each configured fire-danger level's vote (fire_danger.levels over the temporal section) on
    the same cached detections: the false-alert / time-to-alert trade-off of the levels (issue 12)."""
    rows = []
    for number, level in sorted(settings.fire_danger.levels.items()):
        temporal = temporal_for_level(settings.temporal, level)
        clips, sequences = _replay(cached, detector_cfg, temporal)
        rows.append(
            {
                "level": ROMAN[number],
                "alert_score": temporal.alert_score,
                "window": temporal.window,
                "min_hits": temporal.min_hits,
                "min_mean_score": temporal.min_mean_score,
                "escalate_after_min": level.escalate_after_min,
                "smoke_free_frames": sum(c.frames for c in clips if "nosmoke" in c.clip),
                **_alert_counts(clips, sequences),
            }
        )
    return rows


def evaluate_model(
    model: Path,
    settings: Settings,
    dataset: Path | None,
    clips: Sequence[Path],
    sequences: Sequence[Path],
    imgsz: int | None = None,
    sweep: bool = False,
    shared: Path | None = None,
    danger_levels: bool = False,
) -> ModelEvaluation:
    detector_cfg = settings.detector if imgsz is None else settings.detector.model_copy(update={"imgsz": imgsz})
    detector = open_detector(detector_cfg, model, score_threshold=LOW_THRESHOLD)
    val = None
    smoke_pr: list[dict] = []
    by_size: list[SizeRecall] = []
    if dataset is not None and (dataset / "images").exists():
        pairs = val_detections(detector.detect, dataset, progress=lambda it: tqdm(it, desc=f"val {model.name}", unit="batch", leave=False))
        val = val_report(pairs, dataset, detector.class_names, detector_cfg.score_threshold)
        for threshold in (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6):
            report = val_report(pairs, dataset, detector.class_names, threshold)
            smoke = next(c for c in report.classes if c.label == "smoke")
            smoke_pr.append({"threshold": threshold, "precision": smoke.precision, "recall": smoke.recall, "f1": smoke.f1})
        by_size = recall_by_size(labelled_images(pairs, dataset / "labels", detector.class_names), "smoke", detector_cfg.score_threshold)
    small = small_smoke_report(detector, shared, detector_cfg.score_threshold) if shared is not None else None
    cached = _Cached({}, {})
    frames_seen, started = 0, time.perf_counter()
    for clip in clips:
        frames = list(tqdm(video_frames(clip), desc=f"clip {clip.name}", unit="frame", leave=False))
        cached.clips[clip.stem] = detect_sequence(detector.detect, frames)
        frames_seen += len(frames)
    for folder in sequences:
        files = list_images(folder)
        images = (cv2.imread(str(p)) for p in tqdm(files, desc=f"sequence {folder.name}", unit="frame", leave=False))
        cached.sequences[folder.name] = (files, detect_sequence(detector.detect, images))
        cached.smoke_regions[folder.name] = smoke_region(folder / "labels")
        frames_seen += len(files)
    elapsed_ms = (time.perf_counter() - started) * 1e3
    clip_reports, sequence_reports = _replay(cached, detector_cfg, settings.temporal)
    return ModelEvaluation(
        model=str(model),
        sha256=sha256_of(Path(model)),
        imgsz=detector_cfg.imgsz,
        score_threshold=detector_cfg.score_threshold,
        temporal=settings.temporal.model_dump(),
        val=val,
        clips=clip_reports,
        sequences=sequence_reports,
        smoke_pr=smoke_pr,
        ms_per_frame=elapsed_ms / max(frames_seen, 1),
        sweep=sweep_temporal(cached, detector_cfg, settings.temporal) if sweep else [],
        val_smoke_by_size=by_size,
        small_smoke=small,
        danger_levels=danger_level_rows(cached, detector_cfg, settings) if danger_levels else [],
    )


def format_report(evaluation: ModelEvaluation) -> str:
    lines = [f"model {evaluation.model}  imgsz {evaluation.imgsz}  threshold {evaluation.score_threshold}  "
             f"({evaluation.ms_per_frame:.0f} ms/frame on clips+sequences)"]
    if evaluation.val is not None:
        lines.append(f"val: {evaluation.val.images} images, mAP50 {evaluation.val.map50:.3f}")
        lines.append(f"  {'class':<6} {'GT':>5} {'P':>6} {'R':>6} {'F1':>6} {'AP50':>6}")
        for c in evaluation.val.classes:
            lines.append(f"  {c.label:<6} {c.ground_truths:>5} {c.precision:>6.3f} {c.recall:>6.3f} {c.f1:>6.3f} {c.ap50:>6.3f}")
        if evaluation.smoke_pr:
            lines.append("  smoke P/R by threshold: " + ", ".join(f"{r['threshold']}: {r['precision']:.2f}/{r['recall']:.2f}" for r in evaluation.smoke_pr))
    if evaluation.val_smoke_by_size:
        lines.append("  smoke recall by native box width (IoU>=0.5 / >=0.3): " + ", ".join(
            f"{b.bucket} px: {b.recall_iou50:.2f}/{b.recall_iou30:.2f} ({b.ground_truths})" for b in evaluation.val_smoke_by_size))
    if evaluation.small_smoke:
        small = evaluation.small_smoke
        lines.append(f"boxed wc-s frames: {small['frames']} frames, {small['boxes']} boxes, recall (IoU>=0.3) {small['recall_iou30']:.2f}, "
                     f"frames found {small['frames_with_smoke_found_iou30']}; by width: " + ", ".join(
                         f"{b['bucket']}: {b['recall_iou30']:.2f} ({b['ground_truths']})" for b in small["by_size"] if b["ground_truths"]))
        lines.append("  best smoke score on the box per frame: " + ", ".join(f"{k.split('_')[1].split('.')[0]}: {v:.2f}" for k, v in small["best_score_per_frame"].items()))
    for clip in evaluation.clips:
        lines.append(f"clip {clip.clip}: {clip.frames} frames, {clip.frames_with_detections} with detections, {clip.alerts} alerts")
    for seq in evaluation.sequences:
        ttd = "never" if seq.minutes_to_detection is None else f"{seq.minutes_to_detection:+.0f} min ({seq.first_alert_file})"
        lines.append(f"sequence {seq.sequence}: {seq.frames} frames, first alert after ignition {ttd}, "
                     f"alerts before ignition {seq.alerts_before_ignition}"
                     + ("" if seq.smoke_region is None else f", off the labelled smoke {len(seq.misplaced_alerts)}"))
        lines += [f"  alert before ignition: {where}" for where in seq.false_alerts]
        lines += [f"  alert after ignition off the labelled smoke (not counted as the detection): {where}" for where in seq.misplaced_alerts]
    if evaluation.danger_levels:
        lines.append("fire-danger levels (alert_score, window, min_hits, mean-score floor): false alerts on smoke-free clips / before ignition / "
                     "off the labelled smoke; smoke-clip alerts; minutes to detection")
        for row in evaluation.danger_levels:
            lines.append(f"  {row['level']:>3}: {row['alert_score']:.2f} {row['window']} {row['min_hits']} {row['min_mean_score']:.1f}: {_counts_text(row)}")
    if evaluation.sweep:
        lines.append("temporal sweep (alert_score, window, min_hits, mean-score floor): false alerts on smoke-free clips / before ignition / off the labelled smoke; smoke-clip alerts; minutes to detection")
        for row in evaluation.sweep:
            lines.append(f"  {row['alert_score']:.2f} {row['window']} {row['min_hits']} {row['min_mean_score']:.1f}: {_counts_text(row)}")
    return "\n".join(lines)
