"""`pinewatch bench`: the production path against the bare session and (optionally) ultralytics.

Contenders run on the same real frames, in one process, interleaved batch by batch with a
rotating order, so that noise from a shared box hits them alike; we report medians.

- session: onnxruntime alone on tensors prepared beforehand: the bound for this model.
- pinewatch: decode the JPEG (as a snapshot camera delivers it) -> preprocess -> infer ->
  postprocess -> temporal vote: the production path.
- ultralytics: decode -> YOLO(<fp32 ONNX>).predict(...) at the same imgsz and thresholds.
"""

from __future__ import annotations

import gc
import itertools
import logging
import math
import resource
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from detector.detector import Detector, DetectorParams
from detector.pipeline import FrameJudge
from detector.preprocess import BatchBuffers, decode_image
from detector.session import SessionOptions, open_session
from detector.temporal import TemporalParams

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".ts"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
SAMPLE_INTERVAL_S = 10.0  # "cameras per box" assumes one frame per camera every 10 s
WARMUP_BATCHES = 2
PAUSE_BETWEEN_RUNS_S = 0.005
JPEG_QUALITY = 95  # how the frames extracted from videos are stored for the decode stage


class BenchError(RuntimeError):
    """The benchmark cannot run as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class BenchOptions:
    session: SessionOptions
    detector: DetectorParams  # batch_size is the bench's batch
    temporal: TemporalParams
    max_box_area: float
    sources: list[Path]  # video files, image files or folders of images
    frames: int
    peer: str | None  # None or "ultralytics"
    peer_model: Path | None  # the fp32 ONNX for ultralytics; None: the bench model
    peer_same_session: bool  # give ultralytics' onnxruntime session pinewatch's session options
    repeat: int = 1  # passes over the frames


@dataclass(slots=True)
class SourceFrame:
    camera: str  # the clip or folder it came from
    jpeg: bytes


@dataclass(slots=True)
class ContenderStats:
    name: str
    batch_ms: list[float] = field(default_factory=list)
    stages: dict[str, list[float]] = field(default_factory=dict)  # per-frame ms of each stage, per batch
    peak_rss_mb: float = 0.0

    def add_stage(self, stage: str, per_frame_ms: float) -> None:
        self.stages.setdefault(stage, []).append(per_frame_ms)


# --- frames ---------------------------------------------------------------------------------


def _video_frames(path: Path, count: int) -> list[np.ndarray]:
    """`count` frames spread evenly over a video, decoded with PyAV."""
    import av

    # Count by decoding: container frame counts and packet counts can both overstate what decodes.
    with av.open(str(path)) as container:
        total = sum(1 for _ in container.decode(video=0))
    if total == 0:
        return []
    wanted = {min(int(i * total / count), total - 1) for i in range(count)}
    picked = []
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                picked.append(frame.to_ndarray(format="bgr24"))
            if index >= max(wanted):
                break
    return picked


def load_frames(sources: list[Path], count: int) -> list[SourceFrame]:
    """Up to `count` frames from the sources, spread evenly, stored as JPEG bytes like a snapshot camera's."""
    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            files.extend(sorted(p for p in source.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES | IMAGE_SUFFIXES))
        elif source.is_file():
            files.append(source)
        else:
            raise BenchError(f"source not found: {source}")
    videos = [f for f in files if f.suffix.lower() in VIDEO_SUFFIXES]
    images = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
    frames: list[SourceFrame] = []
    if videos:
        per_video = [count // len(videos) + (1 if i < count % len(videos) else 0) for i in range(len(videos))]
        for video, wanted in zip(videos, per_video):
            for image in _video_frames(video, wanted) if wanted else []:
                ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
                if ok:
                    frames.append(SourceFrame(video.stem, encoded.tobytes()))
    if len(frames) < count and images:
        step = max(len(images) / (count - len(frames)), 1)
        for i in range(min(count - len(frames), len(images))):
            path = images[int(i * step)]
            frames.append(SourceFrame(path.parent.name, path.read_bytes()))
    if not frames:
        raise BenchError(f"no frames found in {', '.join(map(str, sources))}")
    return frames[:count]


def default_sources(project_root: Path, shared_clips: Path) -> list[Path]:
    """sample_videos/ of the project if it has clips, else the shared clips folder."""
    for folder in (project_root / "sample_videos", shared_clips):
        if folder.is_dir() and any(p.suffix.lower() in VIDEO_SUFFIXES for p in folder.iterdir()):
            return [folder]
    raise BenchError(f"no clips in {project_root / 'sample_videos'} or {shared_clips}; pass --source")


# --- contenders -----------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


class PinewatchContender:
    name = "pinewatch"

    def __init__(self, detector: Detector, options: BenchOptions) -> None:
        self.detector = detector
        self.options = options
        self.judges: dict[str, FrameJudge] = {}

    def run(self, batch: list[SourceFrame], stats: ContenderStats) -> None:
        start = time.perf_counter()
        images = [decode_image(frame.jpeg) for frame in batch]
        decoded = time.perf_counter()
        results = self.detector.detect(images)
        detected = time.perf_counter()
        for frame, detections in zip(batch, results):
            judge = self.judges.get(frame.camera)
            if judge is None:
                judge = self.judges[frame.camera] = FrameJudge([], self.options.max_box_area, self.options.temporal)
            judge.judge(detections)
        end = time.perf_counter()
        n = len(batch)
        timings = self.detector.last_timings
        stats.batch_ms.append((end - start) * 1e3)
        stats.add_stage("decode", (decoded - start) * 1e3 / n)
        stats.add_stage("pre", timings.pre_ms / n)
        stats.add_stage("infer", timings.infer_ms / n)
        stats.add_stage("post", timings.post_ms / n)
        stats.add_stage("temporal", (end - detected) * 1e3 / n)


class SessionContender:
    """Bare onnxruntime on input tensors prepared once, from the same frames, at the same sizes."""

    name = "session"

    def __init__(self, detector: Detector, batches: list[list[SourceFrame]]) -> None:
        self.detector = detector
        buffers = BatchBuffers(max(len(b) for b in batches), detector.model.info.input_dtype)
        self.tensors: dict[int, np.ndarray] = {}
        for batch in batches:
            images = [decode_image(frame.jpeg) for frame in batch]
            tensor, _ = buffers.fill(images, *detector.input_hw([i.shape for i in images]))
            self.tensors[id(batch)] = tensor.copy()

    def run(self, batch: list[SourceFrame], stats: ContenderStats) -> None:
        tensor = self.tensors[id(batch)]
        start = time.perf_counter()
        self.detector.model.run(tensor)
        elapsed = (time.perf_counter() - start) * 1e3
        stats.batch_ms.append(elapsed)
        stats.add_stage("infer", elapsed / len(batch))


class UltralyticsContender:
    name = "ultralytics"

    def __init__(self, model_path: Path, options: BenchOptions) -> None:
        try:
            from ultralytics import YOLO  # the train extra; only the bench's peer needs it
        except ImportError as exc:
            raise BenchError(
                "--peer ultralytics needs the train extra (pip install -e '.[train]', with torch first)"
            ) from exc
        # Its INFO lines go to stdout and would corrupt `--json`.
        logging.getLogger("ultralytics").setLevel(logging.WARNING)
        self.options = options
        self.model = YOLO(str(model_path), task="detect")
        self._same_session = options.peer_same_session
        self._swapped = False

    def _predict(self, images: list[np.ndarray]):
        params = self.options.detector
        return self.model.predict(
            images, imgsz=params.imgsz, conf=params.score_threshold, iou=params.nms_iou, device="cpu", verbose=False
        )

    def run(self, batch: list[SourceFrame], stats: ContenderStats) -> None:
        if self._same_session and not self._swapped:
            self._predict([decode_image(batch[0].jpeg)])  # creates the predictor and its session
            backend = self.model.predictor.model.backend
            backend.session = open_session(self.options.session).session
            self._swapped = True
        start = time.perf_counter()
        images = [decode_image(frame.jpeg) for frame in batch]
        decoded = time.perf_counter()
        results = self._predict(images)
        end = time.perf_counter()
        n = len(batch)
        stats.batch_ms.append((end - start) * 1e3)
        stats.add_stage("decode", (decoded - start) * 1e3 / n)
        for stage, key in (("pre", "preprocess"), ("infer", "inference"), ("post", "postprocess")):
            stats.add_stage(stage, statistics.fmean(r.speed[key] for r in results))


# --- running --------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else math.nan


def summarise(stats: ContenderStats, batch_size: int) -> dict:
    p50 = statistics.median(stats.batch_ms)
    total_frames = batch_size * len(stats.batch_ms)
    fps = batch_size * 1000 / p50
    return {
        "name": stats.name,
        "fps": round(fps, 2),
        "p50_ms": round(p50, 2),
        "p95_ms": round(percentile(stats.batch_ms, 95), 2),
        "throughput_fps": round(total_frames * 1000 / sum(stats.batch_ms), 2),
        "stages_ms": {stage: round(statistics.median(v), 3) for stage, v in stats.stages.items()},
        "peak_rss_mb": round(stats.peak_rss_mb, 1),
        "cameras_per_box": int(fps * SAMPLE_INTERVAL_S),
    }


def run_bench(options: BenchOptions) -> dict:
    frames = load_frames(options.sources, options.frames)
    batch_size = options.detector.batch_size
    batches = [frames[i : i + batch_size] for i in range(0, len(frames), batch_size)]
    batches = [b for b in batches if len(b) == batch_size] or batches[:1]  # equal batches only
    used = sum(len(b) for b in batches)

    detector = Detector.open(options.session, options.detector)
    contenders: list = [PinewatchContender(detector, options)]
    stats = {"pinewatch": ContenderStats("pinewatch")}
    for batch in batches[:WARMUP_BATCHES]:
        contenders[0].run(batch, ContenderStats("warm-up"))
    gc.collect()
    stats["pinewatch"].peak_rss_mb = _peak_rss_mb()  # before the other contenders add theirs

    session = SessionContender(detector, batches)
    contenders.insert(0, session)
    stats["session"] = ContenderStats("session")
    stats["session"].peak_rss_mb = _peak_rss_mb()

    if options.peer == "ultralytics":
        peer = UltralyticsContender(options.peer_model or options.session.model_path, options)
        for batch in batches[:WARMUP_BATCHES]:
            peer.run(batch, ContenderStats("warm-up"))
        contenders.append(peer)
        stats["ultralytics"] = ContenderStats("ultralytics")
        stats["ultralytics"].peak_rss_mb = _peak_rss_mb()
    elif options.peer is not None:
        raise BenchError(f"unknown peer {options.peer!r} (only 'ultralytics')")

    # Cycle through every order of the contenders so that each runs right after each other one
    # equally often (a session with spinning threads keeps a core busy for a moment after it
    # returns), and leave a short pause between runs for such spinners to go idle.
    orders = list(itertools.permutations(contenders))
    round_index = 0
    for _ in range(options.repeat):
        for batch in batches:
            for contender in orders[round_index % len(orders)]:
                time.sleep(PAUSE_BETWEEN_RUNS_S)
                contender.run(batch, stats[contender.name])
            round_index += 1

    input_h, input_w = detector.input_hw([decode_image(frames[0].jpeg).shape])
    return {
        "model": str(options.session.model_path),
        "provider": detector.provider,
        "threads": options.session.threads,
        "imgsz": options.detector.imgsz,
        "input_hw_first_frame": [input_h, input_w],
        "frames": used,
        "batch": batch_size,
        "repeat": options.repeat,
        "peer_model": str(options.peer_model or options.session.model_path) if options.peer else None,
        "peer_same_session": options.peer_same_session if options.peer else None,
        "results": [summarise(stats[c.name], batch_size) for c in contenders],
    }


def format_table(report: dict) -> str:
    lines = [
        f"model {report['model']}  provider {report['provider']}  threads {report['threads'] or 'auto'}  "
        f"imgsz {report['imgsz']} (first frame runs at {report['input_hw_first_frame'][0]}x"
        f"{report['input_hw_first_frame'][1]})  frames {report['frames']}  batch {report['batch']}"
        f"  repeat {report['repeat']}",
        "",
        f"{'contender':<12}{'fps':>8}{'p50 ms':>9}{'p95 ms':>9}{'decode':>8}{'pre':>7}{'infer':>8}{'post':>7}"
        f"{'temporal':>9}{'peak RSS MB':>13}{'cameras':>9}",
    ]
    for r in report["results"]:
        stage = lambda s: f"{r['stages_ms'][s]:.2f}" if s in r["stages_ms"] else "-"  # noqa: E731
        lines.append(
            f"{r['name']:<12}{r['fps']:>8.2f}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{stage('decode'):>8}"
            f"{stage('pre'):>7}{stage('infer'):>8}{stage('post'):>7}{stage('temporal'):>9}"
            f"{r['peak_rss_mb']:>13.0f}{r['cameras_per_box']:>9}"
        )
    by_name = {r["name"]: r for r in report["results"]}
    lines.append("")
    lines.append("stages: median ms per frame; cameras: at 1 frame per 10 s per camera, this process alone;")
    lines.append("peak RSS: this process after the contender loaded (cumulative, in the order pinewatch, session, peer)")
    if "pinewatch" in by_name and "session" in by_name:
        ours, bound = by_name["pinewatch"], by_name["session"]
        lines.append(f"pinewatch / session fps: {ours['fps'] / bound['fps']:.2f}")
        # Decoding is a camera's cost, not the detector's: in the service it runs in the camera
        # threads, alongside inference. This is what the detector itself adds to the session.
        added = sum(v for k, v in ours["stages_ms"].items() if k not in ("decode", "infer"))
        lines.append(
            f"pinewatch pre+post+temporal: {added:.2f} ms per frame = {100 * added / bound['stages_ms']['infer']:.1f}%"
            " of the session's inference"
        )
    if "pinewatch" in by_name and "ultralytics" in by_name:
        lines.append(f"pinewatch / ultralytics fps: {by_name['pinewatch']['fps'] / by_name['ultralytics']['fps']:.2f}")
    return "\n".join(lines)

