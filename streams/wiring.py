"""Config sections -> the detector's parameter objects, in one place.

The detector package takes explicit values and never imports our config, so
this is where the one set of defaults (pinewatch.core.config) reaches it.
"""

from __future__ import annotations

from pathlib import Path

from detector.detector import Detector, DetectorParams
from detector.pipeline import FrameJudge
from detector.pool import DetectorPool
from detector.session import SessionOptions
from detector.temporal import TemporalParams
from pinewatch.core.config import CameraConfig, DetectorConfig, TemporalConfig


def detector_params(config: DetectorConfig, score_threshold: float | None = None) -> DetectorParams:
    return DetectorParams(
        imgsz=config.imgsz,
        score_threshold=config.score_threshold if score_threshold is None else score_threshold,
        nms_iou=config.nms_iou,
        batch_size=config.batch_size,
        batch_wait_ms=config.batch_wait_ms,
    )


def session_options(config: DetectorConfig, model_path: Path | None = None) -> SessionOptions:
    return SessionOptions(model_path=Path(model_path or config.model_path), provider=config.provider, threads=config.threads)


def open_detector(
    config: DetectorConfig, model_path: Path | None = None, score_threshold: float | None = None
) -> Detector | DetectorPool:
    """One in-process session, or with `pool_workers` > 0 a pool of single-thread worker processes
    (same detect() contract; close() it when done)."""
    options, params = session_options(config, model_path), detector_params(config, score_threshold)
    if config.pool_workers > 0:
        return DetectorPool(options, params, workers=config.pool_workers)
    return Detector.open(options, params)


def temporal_params(config: TemporalConfig) -> TemporalParams:
    return TemporalParams(
        window=config.window,
        min_hits=config.min_hits,
        overlap_iou=config.overlap_iou,
        release_misses=config.release_misses,
        alert_score=config.alert_score,
        min_mean_score=config.min_mean_score,
    )


def frame_judge(detector: DetectorConfig, temporal: TemporalConfig, camera: CameraConfig | None = None) -> FrameJudge:
    masks = camera.masks if camera is not None else []
    return FrameJudge(masks=masks, max_box_area=detector.max_box_area, temporal=temporal_params(temporal))
