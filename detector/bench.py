"""`pinewatch bench`: the production path against the bare session, a detector pool and ultralytics.

Contenders run on the same real frames, in one process, interleaved batch by batch with a
rotating order (A B C, then B C A, ...), so that noise from a shared box hits them alike; we
report medians. Each input size (`imgsz`, rectangular letterbox at the model stride) is one
block of interleaved runs.

- session: onnxruntime alone on tensors prepared beforehand: the bound for this model.
- pinewatch: decode the JPEG (as a snapshot camera delivers it) -> preprocess -> infer ->
  postprocess -> temporal vote: the production path. With `overlap`, the next batch is decoded
  in a second thread while this one infers (the wait for it stays inside this run's time).
- pool: the same path with detector.pool.DetectorPool (N single-thread worker processes).
- ultralytics: decode -> YOLO(<fp32 ONNX>).predict(...) at the same imgsz and thresholds.

Honesty: a figure from a busy box measures the contention, not the code. The machine's state
is recorded around every contender (load average; CPU time other processes took while it ran,
read from /proc and excluding this process and its children), a contender is flagged when
others took more than BUSY_CORE_FRACTION of a core during its runs, and `strict` refuses to
report (BenchBusy) naming the busy processes. Every row carries the val mAP50 of the model it
ran, when given, so that speed is never compared at unstated accuracy.
"""

from __future__ import annotations

import gc
import itertools
import logging
import math
import resource
import statistics
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from detector import media
from detector.detector import Detector, DetectorParams
from detector.machine import BUSY_CORE_FRACTION, OthersCpu, load_average, machine_facts, process_ticks, sample_others
from detector.pipeline import FrameJudge
from detector.preprocess import BatchBuffers, decode_image
from detector.session import SessionOptions, open_session
from detector.temporal import TemporalParams

log = logging.getLogger(__name__)

SAMPLE_INTERVAL_S = 10.0  # "cameras per box" assumes one frame per camera every 10 s
WARMUP_BATCHES = 2
PAUSE_BETWEEN_RUNS_S = 0.005
JPEG_QUALITY = 95  # how the frames extracted from videos are stored for the decode stage
PREFLIGHT_S = 1.0


class BenchError(RuntimeError):
    """The benchmark cannot run as asked; the message says why."""


class BenchBusy(BenchError):
    """`strict`: other processes used the CPU during the runs; the message names them."""

    def __init__(self, message: str, report: dict | None = None) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True, slots=True)
class BenchOptions:
    session: SessionOptions
    detector: DetectorParams  # batch_size is the bench's batch; imgsz is replaced by each of `imgsz`
    temporal: TemporalParams
    max_box_area: float
    sources: list[Path]  # video files, image files or folders of images
    frames: int
    peer: str | None  # None or "ultralytics"
    peer_model: Path | None  # the fp32 ONNX for ultralytics; None: the bench model
    peer_same_session: bool  # give ultralytics' onnxruntime session pinewatch's session options
    repeat: int = 1  # passes over the frames
    imgsz: tuple[int, ...] = ()  # input sizes to measure; () = detector.imgsz only
    pool_workers: int = 0  # > 0: also run the pool contender with that many workers
    overlap: bool = True  # decode the next batch while this one infers (pinewatch and pool)
    strict: bool = False
    map50: dict[str, float] = field(default_factory=dict)  # map50_key(model[, imgsz]) -> val mAP50
    skip_session: bool = False
    skip_pinewatch: bool = False


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
    others: "OthersCpu | None" = None
    load_before: tuple[float, float, float] | None = None
    load_after: tuple[float, float, float] | None = None

    def add_stage(self, stage: str, per_frame_ms: float) -> None:
        self.stages.setdefault(stage, []).append(per_frame_ms)


# --- frames ---------------------------------------------------------------------------------


def _spread(count: int, total: int) -> list[int]:
    return sorted({min(int(i * total / count), total - 1) for i in range(count)})


def _video_frames(path: Path, count: int) -> list[np.ndarray]:
    """`count` frames spread evenly over a clip, in ONE decode pass (detector.media's reader).

    The frame count is unknown until the end, so we keep every `stride`-th decoded frame and
    double the stride (dropping every other kept one) whenever more than 2 x count are held:
    memory stays bounded and the kept frames stay evenly spaced.
    """
    kept: list[media.DecodedFrame] = []
    stride = 1
    with media.VideoReader(path) as reader:
        for decoded in reader:
            if decoded.index % stride:
                continue
            kept.append(decoded)
            if len(kept) > 2 * count:
                kept = kept[::2]
                stride *= 2
    return [kept[i].image() for i in _spread(count, len(kept))] if kept else []


def load_frames(sources: list[Path], count: int) -> list[SourceFrame]:
    """Up to `count` frames from the sources, spread evenly, stored as JPEG bytes like a snapshot camera's."""
    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            files.extend(sorted(p for p in source.iterdir() if media.is_video(p)))
            files.extend(media.list_images(source))
        elif source.is_file():
            files.append(source)
        else:
            raise BenchError(f"source not found: {source}")
    videos = [f for f in files if media.is_video(f)]
    images = [f for f in files if media.is_image(f)]
    frames: list[SourceFrame] = []
    if videos:
        per_video = [count // len(videos) + (1 if i < count % len(videos) else 0) for i in range(len(videos))]
        for video, wanted in zip(videos, per_video):
            try:
                picked = _video_frames(video, wanted) if wanted else []
            except media.MediaError as exc:
                raise BenchError(str(exc)) from exc
            for image in picked:
                ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
                if ok:
                    frames.append(SourceFrame(video.stem, encoded.tobytes()))
    if len(frames) < count and images:
        for index in _spread(min(count - len(frames), len(images)), len(images)):
            path = images[index]
            frames.append(SourceFrame(path.parent.name, path.read_bytes()))
    if not frames:
        raise BenchError(f"no frames found in {', '.join(map(str, sources))}")
    return frames[:count]


def default_sources(project_root: Path, shared_clips: Path) -> list[Path]:
    """sample_videos/ of the project if it has clips, else the shared clips folder."""
    for folder in (project_root / "sample_videos", shared_clips):
        if folder.is_dir() and any(media.is_video(p) for p in folder.iterdir()):
            return [folder]
    raise BenchError(f"no clips in {project_root / 'sample_videos'} or {shared_clips}; pass --source")


# --- contenders -----------------------------------------------------------------------------


def _peak_rss_mb(extra_pids: list[int] = ()) -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    for pid in extra_pids:  # worker processes: their own high-water marks
        try:
            line = next(l for l in Path(f"/proc/{pid}/status").read_text().splitlines() if l.startswith("VmHWM"))
            own += int(line.split()[1]) / 1024
        except (OSError, StopIteration, ValueError):
            pass
    return own


def _decode_all(batch: list[SourceFrame]) -> tuple[list[np.ndarray], float]:
    start = time.perf_counter()
    images = [decode_image(frame.jpeg) for frame in batch]
    return images, (time.perf_counter() - start) * 1e3


class PinewatchContender:
    """decode -> detector.detect -> FrameJudge, as the stream worker does it.

    With `overlap`, decoding batch k+1 runs in a second thread while batch k is pre-processed,
    inferred and judged; run k waits for it before it returns, so no work leaks out of the
    timed window into the next contender's. The recorded `decode` stage is then what decoding
    costs (off the critical path), and `decode_wait` what the run actually waited for it.
    """

    def __init__(self, name: str, detector, options: BenchOptions) -> None:
        self.name = name
        self.detector = detector
        self.options = options
        self.judges: dict[str, FrameJudge] = {}
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"{name}-decode") if options.overlap else None
        self._ready: tuple[int, list[np.ndarray], float] | None = None  # (id(batch), images, decode ms)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()

    def run(self, batch: list[SourceFrame], stats: ContenderStats, next_batch: list[SourceFrame] | None = None) -> None:
        start = time.perf_counter()
        if self._ready is not None and self._ready[0] == id(batch):
            _, images, decode_ms = self._ready
        else:
            images, decode_ms = _decode_all(batch)
        self._ready = None
        decoded = time.perf_counter()
        upcoming: Future | None = None
        if self._executor is not None and next_batch is not None:
            upcoming = self._executor.submit(_decode_all, next_batch)
        results = self.detector.detect(images)
        detected = time.perf_counter()
        for frame, detections in zip(batch, results):
            judge = self.judges.get(frame.camera)
            if judge is None:
                judge = self.judges[frame.camera] = FrameJudge([], self.options.max_box_area, self.options.temporal)
            judge.judge(detections)
        judged = time.perf_counter()
        if upcoming is not None:
            next_images, next_ms = upcoming.result()
            self._ready = (id(next_batch), next_images, next_ms)
        end = time.perf_counter()
        n = len(batch)
        timings = self.detector.last_timings
        stats.batch_ms.append((end - start) * 1e3)
        stats.add_stage("decode", decode_ms / n)
        if self._executor is not None:
            stats.add_stage("decode_wait", ((decoded - start) + (end - judged)) * 1e3 / n)
        stats.add_stage("pre", timings.pre_ms / n)
        stats.add_stage("infer", timings.infer_ms / n)
        stats.add_stage("post", timings.post_ms / n)
        stats.add_stage("temporal", (judged - detected) * 1e3 / n)


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

    def close(self) -> None:
        pass

    def run(self, batch: list[SourceFrame], stats: ContenderStats, next_batch=None) -> None:
        tensor = self.tensors[id(batch)]
        start = time.perf_counter()
        self.detector.model.run(tensor)
        elapsed = (time.perf_counter() - start) * 1e3
        stats.batch_ms.append(elapsed)
        stats.add_stage("infer", elapsed / len(batch))


class UltralyticsContender:
    name = "ultralytics"

    def __init__(self, model_path: Path, options: BenchOptions, imgsz: int) -> None:
        try:
            from ultralytics import YOLO  # the train extra; only the bench's peer needs it
        except ImportError as exc:
            raise BenchError(
                "--peer ultralytics needs the train extra (pip install -e '.[train]', with torch first)"
            ) from exc
        # Its INFO lines go to stdout and would corrupt `--json`.
        logging.getLogger("ultralytics").setLevel(logging.WARNING)
        self.options = options
        self.imgsz = imgsz
        self.model = YOLO(str(model_path), task="detect")
        self._same_session = options.peer_same_session
        self._swapped = False

    def close(self) -> None:
        pass

    def _predict(self, images: list[np.ndarray]):
        params = self.options.detector
        return self.model.predict(
            images, imgsz=self.imgsz, conf=params.score_threshold, iou=params.nms_iou, device="cpu", verbose=False
        )

    def run(self, batch: list[SourceFrame], stats: ContenderStats, next_batch=None) -> None:
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
        "load_before": stats.load_before,
        "load_after": stats.load_after,
        "others": stats.others.as_dict() if stats.others is not None else None,
    }


def _resolved(path: Path | str) -> str:
    return str(Path(path).resolve())


def map50_key(model: Path | str, imgsz: int | None = None) -> str:
    """How BenchOptions.map50 names a model: its resolved path, '@imgsz' when measured at a given size."""
    return _resolved(model) + (f"@{imgsz}" if imgsz is not None else "")


def map50_of(options: BenchOptions, model: Path, imgsz: int | None = None) -> float | None:
    """The val mAP50 measured for this model at this input size, else the one given for the model."""
    if imgsz is not None and (value := options.map50.get(map50_key(model, imgsz))) is not None:
        return value
    return options.map50.get(map50_key(model))


def _run_setting(options: BenchOptions, model, batches: list[list[SourceFrame]], imgsz: int) -> dict:
    """All contenders at one input size, interleaved; the machine's state around each."""
    params = DetectorParams(
        imgsz=imgsz, score_threshold=options.detector.score_threshold, nms_iou=options.detector.nms_iou,
        batch_size=options.detector.batch_size, batch_wait_ms=options.detector.batch_wait_ms,
    )
    try:
        detector = Detector(model, params)
    except ValueError as exc:
        raise BenchError(f"imgsz {imgsz}: {exc}") from exc
    bench_model = Path(options.session.model_path)
    peer_model = Path(options.peer_model or bench_model)
    contenders: list = []
    models: dict[str, Path] = {}
    stats: dict[str, ContenderStats] = {}

    def add(contender, model_path: Path, warm: bool, extra_pids: list[int] = ()) -> None:
        if warm:
            for i, batch in enumerate(batches[:WARMUP_BATCHES]):
                contender.run(batch, ContenderStats("warm-up"), batches[i + 1] if i + 1 < len(batches) else None)
        gc.collect()
        contenders.append(contender)
        models[contender.name] = model_path
        stats[contender.name] = ContenderStats(contender.name, peak_rss_mb=_peak_rss_mb(extra_pids))

    pool = None
    try:
        if not options.skip_pinewatch:
            add(PinewatchContender("pinewatch", detector, options), bench_model, warm=True)
        if not options.skip_session:
            add(SessionContender(detector, batches), bench_model, warm=False)
        if options.pool_workers > 0:
            from detector.pool import DetectorPool

            pool = DetectorPool(options.session, params, workers=options.pool_workers)
            add(PinewatchContender("pool", pool, options), bench_model, warm=True, extra_pids=pool.pids)
        if options.peer == "ultralytics":
            add(UltralyticsContender(peer_model, options, imgsz), peer_model, warm=True)
        elif options.peer is not None:
            raise BenchError(f"unknown peer {options.peer!r} (only 'ultralytics')")
        if not contenders:
            raise BenchError("no contender left to run")

        # Cycle through every order of the contenders so that each runs right after each other
        # one equally often (a session with spinning threads keeps a core busy for a moment after
        # it returns), and leave a short pause between runs for such spinners to go idle.
        orders = list(itertools.permutations(contenders))
        for s in stats.values():
            s.others = OthersCpu()
        before_setting = load_average()
        round_index = 0
        schedule = [batch for _ in range(options.repeat) for batch in batches]
        # Each run is bracketed by its own /proc snapshots (the pause falls between two runs'
        # brackets), and others' CPU share is over the bracket (the run plus reading /proc), in
        # which their ticks were counted: over the run alone a short run would overstate it.
        time.sleep(PAUSE_BETWEEN_RUNS_S)
        snapshot, snapshot_at = process_ticks(), time.perf_counter()
        for position, batch in enumerate(schedule):
            upcoming = schedule[position + 1] if position + 1 < len(schedule) else None
            for contender in orders[round_index % len(orders)]:
                record = stats[contender.name]
                if record.load_before is None:
                    record.load_before = load_average()
                contender.run(batch, record, upcoming)
                after = process_ticks()
                record.others.add(snapshot, after, time.perf_counter() - snapshot_at)
                time.sleep(PAUSE_BETWEEN_RUNS_S)
                snapshot, snapshot_at = process_ticks(), time.perf_counter()
            round_index += 1
        for s in stats.values():
            s.load_after = load_average()
        first = decode_image(batches[0][0].jpeg)
        input_h, input_w = detector.input_hw([first.shape])
        return {
            "imgsz": imgsz,
            "input_hw_first_frame": [input_h, input_w],
            "frame_hw_first": list(first.shape[:2]),
            "load_before": before_setting,
            "load_after": load_average(),
            "results": [
                {**summarise(stats[c.name], params.batch_size), "model": str(models[c.name]),
                 "val_map50": map50_of(options, models[c.name], imgsz)}
                for c in contenders
            ],
        }
    finally:
        for contender in contenders:
            contender.close()
        if pool is not None:
            pool.close()


def busy_processes(report: dict) -> list[str]:
    """'contender at imgsz: pid comm x.xx of a core, ...' for every flagged contender."""
    lines = []
    for setting in report["runs"]:
        for r in setting["results"]:
            if r["others"] and r["others"]["busy"]:
                named = ", ".join(f"{p['pid']} {p['comm']} {p['core_fraction']:.2f}" for p in r["others"]["top"])
                lines.append(f"{r['name']} at {setting['imgsz']}: others used {r['others']['core_fraction']:.2f} of a core ({named})")
    return lines


def run_bench(options: BenchOptions) -> dict:
    machine = machine_facts()
    preflight = sample_others(PREFLIGHT_S)
    machine["preflight_others"] = preflight.as_dict()
    if options.strict and preflight.core_fraction > BUSY_CORE_FRACTION:
        named = ", ".join(f"{p['pid']} {p['comm']} {p['core_fraction']:.2f}" for p in preflight.top())
        raise BenchBusy(
            f"the box is busy before the bench starts: other processes used {preflight.core_fraction:.2f} of a core "
            f"over {PREFLIGHT_S:.0f} s (limit {BUSY_CORE_FRACTION}): {named}. Pause them (kill -STOP PID) and rerun."
        )
    frames = load_frames(options.sources, options.frames)
    batch_size = options.detector.batch_size
    batches = [frames[i : i + batch_size] for i in range(0, len(frames), batch_size)]
    batches = [b for b in batches if len(b) == batch_size] or batches[:1]  # equal batches only
    used = sum(len(b) for b in batches)
    model = open_session(options.session)
    sizes = options.imgsz or (options.detector.imgsz,)
    runs = [_run_setting(options, model, batches, imgsz) for imgsz in sizes]
    machine["load_average_after"] = load_average()
    report = {
        "model": str(options.session.model_path),
        "model_val_map50": map50_of(options, Path(options.session.model_path)),
        "provider": model.provider,
        "threads": options.session.threads,
        "frames": used,
        "batch": batch_size,
        "repeat": options.repeat,
        "overlap": options.overlap,
        "pool_workers": options.pool_workers or None,
        "peer_model": str(options.peer_model or options.session.model_path) if options.peer else None,
        "peer_same_session": options.peer_same_session if options.peer else None,
        "machine": machine,
        "runs": runs,
    }
    busy = busy_processes(report)
    report["quiet"] = not busy
    report["busy"] = busy
    if options.strict and busy:
        raise BenchBusy(
            "refusing to report: other processes used the CPU during the runs (limit "
            f"{BUSY_CORE_FRACTION} of a core):\n  " + "\n  ".join(busy)
            + "\nPause them (kill -STOP PID, later kill -CONT PID) and rerun.",
            report,
        )
    return report


def _fmt_map(value: float | None) -> str:
    return f"{value:.3f}" if value is not None else "-"


def format_table(report: dict) -> str:
    m = report["machine"]
    lines = [
        f"model {report['model']}  provider {report['provider']}  threads {report['threads'] or 'auto'}  "
        f"frames {report['frames']}  batch {report['batch']}  repeat {report['repeat']}  "
        f"overlap {'on' if report['overlap'] else 'off'}" + (f"  pool {report['pool_workers']} workers" if report["pool_workers"] else ""),
        f"machine {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, onnxruntime {m['onnxruntime']}, python {m['python']}; "
        f"load {m['load_average']} before, {m['load_average_after']} after; "
        f"others before start {m['preflight_others']['core_fraction']:.2f} of a core",
        "",
        f"{'imgsz':>6}{'contender':>12}{'val mAP50':>10}{'fps':>8}{'p50 ms':>9}{'p95 ms':>9}{'decode':>8}{'pre':>7}"
        f"{'infer':>8}{'post':>7}{'temporal':>9}{'RSS MB':>8}{'cameras':>9}{'others':>8}  flag",
    ]
    for setting in report["runs"]:
        for r in setting["results"]:
            stage = lambda s: f"{r['stages_ms'][s]:.2f}" if s in r["stages_ms"] else "-"  # noqa: E731
            others = r["others"] or {}
            lines.append(
                f"{setting['imgsz']:>6}{r['name']:>12}{_fmt_map(r['val_map50']):>10}{r['fps']:>8.2f}{r['p50_ms']:>9.1f}"
                f"{r['p95_ms']:>9.1f}{stage('decode'):>8}{stage('pre'):>7}{stage('infer'):>8}{stage('post'):>7}"
                f"{stage('temporal'):>9}{r['peak_rss_mb']:>8.0f}{r['cameras_per_box']:>9}"
                f"{others.get('core_fraction', float('nan')):>8.2f}  {'BUSY' if others.get('busy') else ''}"
            )
    lines += [
        "",
        "stages: median ms per frame (pool: summed over workers); decode with overlap runs beside inference;",
        "cameras: at 1 frame per 10 s per camera, this process alone; others: cores' worth of CPU other",
        f"processes used during the contender's runs (BUSY above {BUSY_CORE_FRACTION}); RSS: cumulative peak after loading.",
    ]
    for setting in report["runs"]:
        by_name = {r["name"]: r for r in setting["results"]}
        ratios = []
        for a, b in (("pinewatch", "session"), ("pinewatch", "ultralytics"), ("pool", "pinewatch"), ("pool", "ultralytics")):
            if a in by_name and b in by_name:
                ratios.append(f"{a} / {b} fps {by_name[a]['fps'] / by_name[b]['fps']:.2f}")
        if ratios:
            lines.append(f"imgsz {setting['imgsz']}: " + "; ".join(ratios))
    if report["busy"]:
        lines.append("NOT QUOTABLE: " + "; ".join(report["busy"]))
    return "\n".join(lines)


def format_markdown(report: dict) -> str:
    """One markdown table of the report, with its machine facts, for benchmarks/results/."""
    m = report["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, kernel {m['kernel']}, onnxruntime {m['onnxruntime']}, "
        f"python {m['python']}; load average {m['load_average']} before, {m['load_average_after']} after; "
        f"{'quiet' if report['quiet'] else 'BUSY, not quotable'}.",
        f"Model `{report['model']}`, threads {report['threads'] or 'auto'}, batch {report['batch']}, "
        f"{report['frames']} frames x {report['repeat']}, overlap {'on' if report['overlap'] else 'off'}"
        + (f", pool {report['pool_workers']} workers" if report["pool_workers"] else "") + ".",
        "",
        "| imgsz | contender | model | val mAP50 | fps | p50 ms | p95 ms | decode / pre / infer / post / temporal ms | peak RSS MB | cameras at 1 frame / 10 s | others (cores) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for setting in report["runs"]:
        for r in setting["results"]:
            stages = " / ".join(
                f"{r['stages_ms'][s]:.2f}" if s in r["stages_ms"] else "-" for s in ("decode", "pre", "infer", "post", "temporal")
            )
            others = r["others"] or {}
            lines.append(
                f"| {setting['imgsz']} ({setting['input_hw_first_frame'][0]}x{setting['input_hw_first_frame'][1]}) | {r['name']} | "
                f"{Path(r['model']).name} | {_fmt_map(r['val_map50'])} | {r['fps']:.2f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
                f"{stages} | {r['peak_rss_mb']:.0f} | {r['cameras_per_box']} | {others.get('core_fraction', float('nan')):.2f} |"
            )
    return "\n".join(lines) + "\n"
