"""Static int8 QDQ quantisation of the fp32 detector, calibrated on REAL camera frames.

Calibration frames go through the runtime's own letterbox (detector.preprocess), so the
activation ranges are those the deployed model sees. Random calibration data picks ranges
that wreck boxes and scores; dynamic quantisation is no faster on CPU for a conv net.

What stays in float is a recipe (`Int8Recipe`), one option per accuracy-sensitive part:
- the detection head: its decode tail (DFL softmax, box arithmetic, sigmoid, concatenations),
  optionally also each branch's last conv, or the whole head module;
- the output concatenation: box coordinates (0..640) and scores (0..1) share one tensor, and
  one int8 range for both flattens the scores;
- the first convolution: it sees raw pixels, and its error feeds every later layer;
- whole modules by index, e.g. the stride-2 and stride-4 backbone stages (0, 1, 2): int8's step
  on the stem's activations is coarse next to a faint plume's contrast.
benchmarks/INT8.md has the val mAP50 of each recipe.

Needs the `onnx` package (dev/train extras); onnxruntime does the rest.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import random
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from detector.session import INT8_WEIGHT_BITS_KEY

if TYPE_CHECKING:
    import numpy as np

# cv2, numpy and detector.preprocess are imported where used: `pinewatch export` registers its
# options from this module, and every CLI start would pay for them.

log = logging.getLogger(__name__)

# Histogram calibration (percentile, entropy) holds every activation of the frames it is fed
# at once (~200 MB per 640x480 frame for a nano model), so frames go in chunks of this many;
# onnxruntime merges the chunks' histograms (its CalibStridedMinMax option, which despite the
# name drives any calibrator).
CALIBRATION_CHUNK = 4
MIN_CALIBRATION_FRAMES = 200  # the floor for a shipped int8 model
# The shared AI For Mankind folder: HPWREN tower frames, the deployment's view.
AFM_IMAGES = Path("datasets") / "afm-hpwren-smoke" / "images"

HeadPolicy = Literal["quantize-all", "float-tail", "float-tail-and-last-convs", "float-head"]
CalibrationName = Literal["minmax", "entropy", "percentile"]
HEAD_POLICIES: tuple[str, ...] = ("quantize-all", "float-tail", "float-tail-and-last-convs", "float-head")
CALIBRATION_METHODS: tuple[str, ...] = ("percentile", "entropy", "minmax")


@dataclass(frozen=True, slots=True)
class Int8Recipe:
    """What to quantise and how. The defaults are the best recipe measured on the shipped model
    (run 6, epoch 3; benchmarks/INT8.md: percentile 99.999 with symmetric ranges, the head's
    decode tail and the output concat in float, the first conv quantised): val mAP50 0.9 points
    above fp32's, within the 1-point rule. Recipes are per model: on run 1's weights the whole
    head and the first conv had to stay float, and none passed."""

    calibration: CalibrationName = "percentile"
    head: HeadPolicy = "float-tail"
    float_output_concat: bool = True
    float_first_conv: bool = False
    per_channel: bool = True
    percentile: float = 99.999  # percentile calibration only
    # Symmetric activation ranges ([-a, a]); None: onnxruntime's default for the method (percentile:
    # symmetric, the others not). With u8 activations a symmetric range wastes the half below the
    # SiLU's floor (-0.28), i.e. one bit; on run 6's weights it still measured 0.7-0.8 points better.
    symmetric: bool | None = True
    # Weights in [-64, 64] (onnxruntime's reduced range, "7 bits") instead of [-127, 127]: its
    # u8 x s8 kernel on CPUs without VNNI (detector.cpu) adds products in pairs into 16 bits, and
    # 255 x 127 x 2 overflows them; 255 x 64 x 2 does not. Costs weight precision everywhere.
    reduce_range: bool = False
    # Whole top-level modules kept in float, by index (YOLOv8: /model.0/ ... /model.21/ before the
    # head, /model.22/). Quantising module 0 (the stem) is where the early plume's score is lost;
    # 0-2 in float cost no measurable speed on a VNNI Xeon (benchmarks/INT8.md).
    float_modules: tuple[int, ...] = ()

    @property
    def weight_bits(self) -> int:
        return 7 if self.reduce_range else 8

    def label(self) -> str:
        parts = [self.calibration + (f"{self.percentile:g}" if self.calibration == "percentile" else ""), self.head]
        if self.symmetric is not None:
            parts.append("symmetric" if self.symmetric else "asymmetric")
        if self.float_output_concat:
            parts.append("float-concat")
        if self.float_first_conv:
            parts.append("float-first-conv")
        if not self.per_channel:
            parts.append("per-tensor")
        if self.reduce_range:
            parts.append("7bit-weights")
        if self.float_modules:
            parts.append("float-modules-" + "-".join(map(str, self.float_modules)))
        return "_".join(parts)


def calibration_frames(data_dir: Path, shared: Path, count: int = MIN_CALIBRATION_FRAMES, seed: int = 0) -> list[Path]:
    """`count` AI For Mankind tower frames of the TRAINING split, picked at random (seed).

    The split is the one `pinewatch train --dataset-only` wrote to `data_dir` (train/ and val/
    hold links to the shared images). A frame is taken only if its link resolves into the shared
    AFM folder and no val image resolves to the same file: calibrating on val would let the
    int8 model's accuracy be measured on its own calibration data.
    """
    train, val = Path(data_dir) / "train" / "images", Path(data_dir) / "val" / "images"
    if not train.is_dir() or not val.is_dir():
        raise FileNotFoundError(f"no dataset at {data_dir}: run `pinewatch train --dataset-only` first")
    afm = (Path(shared) / AFM_IMAGES).resolve()
    val_files = {p.resolve() for p in val.iterdir()}
    picked = sorted(
        resolved
        for p in train.iterdir()
        if p.name.startswith("afm")
        and (resolved := p.resolve()).parent == afm
        and resolved not in val_files
    )
    if len(picked) < count:
        raise ValueError(f"only {len(picked)} training-split AFM frames under {train}; {count} wanted")
    return sorted(random.Random(seed).sample(picked, count))


def _frame_hw(path: Path) -> tuple[int, int] | None:
    """(height, width) from the JPEG header, else by decoding; None when unreadable."""
    import cv2
    import numpy as np

    from detector.preprocess import jpeg_size

    try:
        data = path.read_bytes()
    except OSError:
        return None
    size = jpeg_size(data)
    if size is not None:
        return size
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if image is None else image.shape[:2]


class FrameCalibrationReader:
    """onnxruntime CalibrationDataReader over real frames letterboxed exactly as at run time.

    Frames that cannot be read, or that letterbox to another input size than the first
    (histogram calibration stacks activations, so they must share one shape), are dropped
    up front, so that len() is what will be fed. set_range() lets onnxruntime feed chunks.
    """

    def __init__(self, input_name: str, images: Sequence[Path], imgsz: int, stride: int = 32) -> None:
        from detector.preprocess import input_hw

        self.input_name = input_name
        self.imgsz = imgsz
        self.stride = stride
        self.images: list[Path] = []
        self.input_hw: tuple[int, int] | None = None
        for path in images:
            hw = _frame_hw(Path(path))
            if hw is None:
                log.warning("calibration: cannot read %s, skipped", path)
                continue
            # The rectangle the runtime would feed a dynamic-shape model for this frame.
            rect = input_hw(hw[0], hw[1], imgsz, stride, rect=True)
            self.input_hw = self.input_hw or rect
            if rect != self.input_hw:
                log.warning("calibration: %s letterboxes to %dx%d, not %dx%d; skipped", path, *rect, *self.input_hw)
                continue
            self.images.append(Path(path))
        self._start, self._end = 0, len(self.images)
        self._iterator: Iterator[dict[str, np.ndarray]] | None = None
        self.used = 0  # frames fed so far, over all ranges

    def __len__(self) -> int:
        return len(self.images)

    def _frames(self) -> Iterator[dict[str, np.ndarray]]:
        import cv2

        from detector.preprocess import BatchBuffers

        buffers = BatchBuffers(1)
        for path in self.images[self._start : self._end]:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:  # vanished or corrupt since the header check
                log.warning("calibration: cannot read %s, skipped", path)
                continue
            batch, _ = buffers.fill([image], *self.input_hw)
            self.used += 1
            yield {self.input_name: batch.copy()}  # the buffer is reused for the next frame

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._iterator is None:
            self._iterator = self._frames()
        return next(self._iterator, None)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._start, self._end = start_index, end_index
        self._iterator = None

    def rewind(self) -> None:
        self.set_range(0, len(self.images))
        self.used = 0


def head_prefix(model) -> str:
    """'/model.22/' for YOLOv8 (the module that produces the output); '' if names don't say."""
    output = model.graph.output[0].name
    for node in model.graph.node:
        if output in node.output:
            parts = node.name.split("/")
            return "/".join(parts[:2]) + "/" if len(parts) > 2 else ""
    return ""


def head_nodes_to_exclude(model, policy: HeadPolicy) -> list[str]:
    """Names of head nodes to keep in float under `policy`.

    float-tail: the decode tail, i.e. head nodes outside the conv branches (cv2.*, cv3.*):
    DFL, box arithmetic, the score sigmoid, the concatenations. The branches' own SiLU
    activations stay quantised; leaving them in float costs a dequantise/requantise per layer.
    float-tail-and-last-convs: also the final 1x1 conv of each branch (raw box and class logits).
    float-head: the whole head module, branches included.
    """
    if policy not in HEAD_POLICIES:
        raise ValueError(f"unknown head policy {policy!r}; choose one of {HEAD_POLICIES}")
    if policy == "quantize-all":
        return []
    prefix = head_prefix(model)
    if not prefix:
        log.warning("cannot find the detection head by node names; quantising everything")
        return []
    head = [node for node in model.graph.node if node.name.startswith(prefix)]
    if policy == "float-head":
        return [node.name for node in head]
    excluded = [node.name for node in head if not node.name[len(prefix):].startswith("cv")]
    if policy == "float-tail-and-last-convs":
        consumers: dict[str, list] = {}
        for node in head:
            for name in node.input:
                consumers.setdefault(name, []).append(node.op_type)
        for node in head:
            in_branch = node.name[len(prefix):].startswith("cv")
            # A branch's last conv feeds a concatenation, not a SiLU (Sigmoid + Mul) or another conv.
            feeds = set(consumers.get(node.output[0], []))
            if in_branch and node.op_type == "Conv" and not {"Sigmoid", "Conv"} & feeds:
                excluded.append(node.name)
    return excluded


def output_concat_node(model) -> str | None:
    """The Concat that produces the model output (boxes next to scores), if the output is one."""
    output = model.graph.output[0].name
    return next((n.name for n in model.graph.node if output in n.output and n.op_type == "Concat"), None)


def first_conv_node(model) -> str | None:
    """The Conv that reads the graph input (raw pixels)."""
    image = model.graph.input[0].name
    return next((n.name for n in model.graph.node if n.op_type == "Conv" and image in n.input), None)


def module_nodes(model, index: int) -> list[str]:
    """Names of the nodes of top-level module `index` (exported names start with /model.INDEX/)."""
    prefix = f"/model.{index}/"
    return [node.name for node in model.graph.node if node.name.startswith(prefix)]


def nodes_to_exclude(model, recipe: Int8Recipe) -> list[str]:
    excluded = head_nodes_to_exclude(model, recipe.head)
    for index in recipe.float_modules:
        names = module_nodes(model, index)
        if not names:
            raise ValueError(f"float_modules: this graph has no module {index} (no node named /model.{index}/...)")
        excluded += [name for name in names if name not in excluded]
    for wanted, find in ((recipe.float_output_concat, output_concat_node), (recipe.float_first_conv, first_conv_node)):
        name = find(model) if wanted else None
        if wanted and name is None:
            raise ValueError(f"{find.__name__}: no such node in this graph; cannot keep it in float")
        if name is not None and name not in excluded:
            excluded.append(name)
    return excluded


@dataclass(frozen=True, slots=True)
class QuantizeReport:
    out_path: Path
    calibration_frames: int
    excluded_nodes: int
    policy: str  # the head policy
    recipe: dict | None = None


def _calibration_key(fp32_path: Path, images: Sequence[Path], recipe: Int8Recipe, imgsz: int) -> str:
    """Ranges depend on the model, the frames, the method (and percentile), not on what is excluded."""
    digest = hashlib.sha256()
    digest.update(Path(fp32_path).read_bytes())
    for path in images:
        digest.update(str(Path(path).resolve()).encode())
    digest.update(f"{recipe.calibration}:{recipe.percentile}:{recipe.symmetric}:{imgsz}".encode())
    return digest.hexdigest()[:16]


def quantize_int8(
    fp32_path: Path,
    out_path: Path,
    calibration_images: list[Path],
    imgsz: int,
    head_policy: HeadPolicy | None = None,
    per_channel: bool | None = None,
    calibrate_method: CalibrationName | None = None,
    recipe: Int8Recipe | None = None,
    cache_dir: Path | None = None,
) -> QuantizeReport:
    """Write a static int8 QDQ model (u8 activations, s8 weights) calibrated on `calibration_images`.

    Every frame is used, fed in chunks of CALIBRATION_CHUNK (the count is trimmed to a multiple
    of it). With `cache_dir`, the activation ranges are kept there keyed by model, frames and
    method, so that recipes differing only in what stays float calibrate once.
    The loose keyword arguments override the recipe's fields (the older call form).
    """
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    recipe = recipe or Int8Recipe()
    overrides = {"head": head_policy, "per_channel": per_channel, "calibration": calibrate_method}
    recipe = Int8Recipe(**{**asdict(recipe), **{k: v for k, v in overrides.items() if v is not None}})
    if recipe.calibration not in CALIBRATION_METHODS:
        raise ValueError(f"unknown calibration {recipe.calibration!r}; choose one of {CALIBRATION_METHODS}")
    if not calibration_images:
        raise ValueError("int8 calibration needs real frames; none given")
    fp32_path, out_path = Path(fp32_path), Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    methods = {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
    }
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        # Shape inference + graph clean-up first, as onnxruntime recommends before static quantisation.
        # Symbolic shape inference gives up on the dynamic batch/H/W axes; ONNX's own is enough.
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        model = onnx.load(prepared)
        excluded = nodes_to_exclude(model, recipe)
        reader = FrameCalibrationReader(model.graph.input[0].name, calibration_images, imgsz)
        chunk = min(CALIBRATION_CHUNK, len(reader))
        if chunk == 0:
            raise ValueError("none of the calibration frames could be read")
        del reader.images[len(reader) - len(reader) % chunk :]  # onnxruntime wants whole chunks
        reader.rewind()
        cache = None
        if cache_dir is not None:
            Path(cache_dir).mkdir(parents=True, exist_ok=True)
            cache = Path(cache_dir) / f"ranges-{recipe.calibration}-{_calibration_key(fp32_path, reader.images, recipe, imgsz)}.json"
        frames_used = len(reader)
        extra = {"CalibStridedMinMax": chunk}
        if recipe.calibration == "percentile":
            extra["CalibPercentile"] = recipe.percentile
        if recipe.symmetric is not None:
            extra["CalibTensorRangeSymmetric"] = recipe.symmetric
        quantize_static(
            str(prepared),
            str(out_path),
            reader,
            quant_format=QuantFormat.QDQ,
            per_channel=recipe.per_channel,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=excluded,
            calibrate_method=methods[recipe.calibration],
            calibration_cache_path=str(cache) if cache is not None else None,
            reduce_range=recipe.reduce_range,
            extra_options=extra,
            # No CalibMaxIntermediateOutputs: in onnxruntime 1.32 MinMax it DISCARDS the frames
            # collected so far instead of merging them; the chunks above merge correctly.
        )
        if cache is not None and reader.used == 0:
            log.info("int8: activation ranges from the cache %s (%d frames)", cache, frames_used)
    copy_metadata(fp32_path, out_path, recipe, frames_used)
    log.info("int8 model %s: %d calibration frames, %d nodes in float (%s)", out_path, frames_used, len(excluded), recipe.label())
    return QuantizeReport(out_path, frames_used, len(excluded), recipe.head, asdict(recipe))


def copy_metadata(source: Path, target: Path, recipe: Int8Recipe | None = None, frames: int | None = None) -> None:
    """Class names, imgsz and stride must survive quantisation: the runtime reads them."""
    import onnx

    src, dst = onnx.load(source), onnx.load(target)
    existing = {p.key for p in dst.metadata_props}
    for prop in src.metadata_props:
        if prop.key not in existing:
            entry = dst.metadata_props.add()
            entry.key, entry.value = prop.key, prop.value
    entry = dst.metadata_props.add()
    channel = "per-channel" if recipe is None or recipe.per_channel else "per-tensor"
    entry.key, entry.value = "quantization", f"int8 static QDQ (u8 activations, s8 {channel} weights)"
    # The runtime reads this to warn where 8-bit weights saturate (detector.session).
    entry = dst.metadata_props.add()
    entry.key, entry.value = INT8_WEIGHT_BITS_KEY, str(8 if recipe is None else recipe.weight_bits)
    if recipe is not None:
        entry = dst.metadata_props.add()
        entry.key, entry.value = "int8_recipe", f"{recipe.label()}; {frames} calibration frames"
    onnx.save(dst, target)


# --- checking an int8 model against its fp32 parent ---------------------------------------


@dataclass(frozen=True, slots=True)
class AgreementReport:
    """How closely int8 follows fp32 on the same frames (raw outputs and final detections)."""

    frames: int
    anchors_compared: int  # the top `top_anchors` anchors of each frame by fp32 score
    score_mae: float  # mean |score_int8 - score_fp32| at those anchors
    score_corr: float  # Pearson correlation of those scores
    box_mae_px: float  # mean |coordinate difference| in input pixels at those anchors
    fp32_detections: int
    matched_detections: int  # fp32 detections with an int8 one (at half the threshold) of the same class, IoU >= 0.5
    matched_mean_iou: float
    matched_score_mae: float


def compare_models(
    fp32_path: Path, int8_path: Path, images: Sequence[Path], imgsz: int, score_threshold: float,
    top_anchors: int = 100, threads: int = 1,
) -> AgreementReport:
    import cv2
    import numpy as np

    from detector.detector import Detector, DetectorParams
    from detector.preprocess import BatchBuffers
    from detector.session import SessionOptions
    from detector.temporal import iou

    params = DetectorParams(imgsz=imgsz, score_threshold=score_threshold, nms_iou=0.5, batch_size=1, batch_wait_ms=0)
    fp32 = Detector.open(SessionOptions(Path(fp32_path), "cpu", threads), params)
    int8 = Detector.open(SessionOptions(Path(int8_path), "cpu", threads), params)
    loose = DetectorParams(imgsz=imgsz, score_threshold=score_threshold / 2, nms_iou=0.5, batch_size=1, batch_wait_ms=0)
    int8_loose = Detector(int8.model, loose)
    buffers = BatchBuffers(1)
    score_pairs, box_diffs = [], []
    fp32_count = matched = 0
    ious, score_diffs = [], []
    frames = 0
    for path in images:
        image = cv2.imread(str(path))
        if image is None:
            continue
        frames += 1
        input_h, input_w = fp32.input_hw([image.shape])
        batch, _ = buffers.fill([image], input_h, input_w)
        raw_fp32, raw_int8 = fp32.model.run(batch)[0], int8.model.run(batch)[0]
        best = raw_fp32[4:].max(0)
        keep = np.argsort(-best)[:top_anchors]
        score_pairs.append(np.stack([best[keep], raw_int8[4:, keep].max(0)], 1))
        box_diffs.append(np.abs(raw_fp32[:4, keep] - raw_int8[:4, keep]).ravel())

        # int8 at half the threshold: a box whose score merely slipped under the line still
        # matches, so `matched` counts boxes that moved or collapsed, not borderline scores.
        ours, theirs = fp32.detect([image])[0], int8_loose.detect([image])[0]
        fp32_count += len(ours)
        for detection in ours:
            candidates = [(iou(detection.box, o.box), o) for o in theirs if o.label == detection.label]
            best_iou, other = max(candidates, key=lambda c: c[0], default=(0.0, None))
            if other is not None and best_iou >= 0.5:
                matched += 1
                ious.append(best_iou)
                score_diffs.append(abs(detection.score - other.score))
    scores = np.concatenate(score_pairs) if score_pairs else np.empty((0, 2))
    boxes = np.concatenate(box_diffs) if box_diffs else np.empty(0)
    corr = float(np.corrcoef(scores[:, 0], scores[:, 1])[0, 1]) if len(scores) > 2 else float("nan")
    return AgreementReport(
        frames=frames,
        anchors_compared=len(scores),
        score_mae=float(np.abs(scores[:, 0] - scores[:, 1]).mean()) if len(scores) else float("nan"),
        score_corr=corr,
        box_mae_px=float(boxes.mean()) if boxes.size else float("nan"),
        fp32_detections=fp32_count,
        matched_detections=matched,
        matched_mean_iou=float(np.mean(ious)) if ious else float("nan"),
        matched_score_mae=float(np.mean(score_diffs)) if score_diffs else float("nan"),
    )


def add_recipe_arguments(parser) -> None:
    """The Int8Recipe options, shared by `pinewatch export` and `python -m detector.training.quantize`."""
    default = Int8Recipe()
    parser.add_argument("--calibration", choices=CALIBRATION_METHODS, default=default.calibration,
                        help=f"activation range method (default {default.calibration})")
    parser.add_argument("--percentile", type=float, default=default.percentile,
                        help=f"percentile calibration's clip point (default {default.percentile})")
    parser.add_argument("--head", choices=HEAD_POLICIES, default=default.head,
                        help=f"what of the detection head stays float (default {default.head})")
    parser.add_argument("--float-output-concat", action=argparse.BooleanOptionalAction,
                        default=default.float_output_concat, help="keep the output Concat (boxes + scores) in float")
    parser.add_argument("--float-first-conv", action=argparse.BooleanOptionalAction,
                        default=default.float_first_conv, help="keep the first convolution (raw pixels) in float")
    parser.add_argument("--per-channel", action=argparse.BooleanOptionalAction, default=default.per_channel,
                        help="per-channel weight scales")
    parser.add_argument("--symmetric", action=argparse.BooleanOptionalAction, default=default.symmetric,
                        help="symmetric activation ranges (default: yes, the best measured on the shipped model)")
    parser.add_argument("--reduce-range", action=argparse.BooleanOptionalAction, default=default.reduce_range,
                        help="7-bit weights, for CPUs without VNNI where 8-bit ones saturate (detector.cpu)")
    parser.add_argument("--float-modules", type=_module_indices, default=default.float_modules, metavar="I,J,...",
                        help="top-level modules kept whole in float, by index (e.g. 0,1,2: the first backbone stages)")


def _module_indices(text: str) -> tuple[int, ...]:
    try:
        return tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--float-modules wants comma-separated module indices, got {text!r}") from None


def recipe_from_args(args) -> Int8Recipe:
    return Int8Recipe(
        calibration=args.calibration, head=args.head, float_output_concat=args.float_output_concat,
        float_first_conv=args.float_first_conv, per_channel=args.per_channel, percentile=args.percentile,
        symmetric=args.symmetric, reduce_range=args.reduce_range, float_modules=args.float_modules,
    )


def main(argv: list[str] | None = None) -> int:
    """python -m detector.training.quantize FP32.onnx OUT.onnx [--data data/yolo] [--count 200] [recipe options]"""
    parser = argparse.ArgumentParser(description="Static int8 QDQ quantisation calibrated on real training frames.")
    parser.add_argument("fp32", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--data", type=Path, default=Path("data/yolo"), help="dataset built by `pinewatch train --dataset-only`")
    parser.add_argument("--shared", type=Path, default=Path("../shared"), help="the shared data folder")
    parser.add_argument("--count", type=int, default=MIN_CALIBRATION_FRAMES, help="training-split AFM frames to calibrate on")
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--cache-dir", type=Path, help="keep activation ranges here (recipes differing in exclusions reuse them)")
    add_recipe_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        frames = calibration_frames(args.data, args.shared, args.count)
    except (FileNotFoundError, ValueError) as exc:
        parser.error(str(exc))
    report = quantize_int8(args.fp32, args.out, frames, args.imgsz, recipe=recipe_from_args(args), cache_dir=args.cache_dir)
    print(f"wrote {report.out_path} ({report.calibration_frames} calibration frames, "
          f"{report.excluded_nodes} nodes kept in float)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
