"""Static int8 QDQ quantisation of the fp32 detector, calibrated on REAL camera frames.

Calibration frames go through the runtime's own letterbox (detector.preprocess), so the
activation ranges are those the deployed model sees. Random calibration data picks ranges
that wreck boxes and scores; dynamic quantisation is no faster on CPU for a conv net.

The detection head's decode tail (DFL softmax, box arithmetic, sigmoid, concatenations) is
left in float by default: it is a sliver of the compute, and quantising the concatenation of
box coordinates (0..640) with scores (0..1) into one int8 range flattens the scores.
See benchmarks/README.md for the accuracy/speed measurements behind these choices.

Needs the `onnx` package (dev/train extras); onnxruntime does the rest.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from detector.preprocess import BatchBuffers, input_hw

log = logging.getLogger(__name__)

# Histogram calibration keeps all activations of all frames: cap the frames to bound memory.
HISTOGRAM_FRAMES = 24

HeadPolicy = Literal["quantize-all", "float-tail", "float-tail-and-last-convs"]


class FrameCalibrationReader:
    """onnxruntime CalibrationDataReader over real frames letterboxed exactly as at run time."""

    def __init__(self, input_name: str, images: Sequence[Path], imgsz: int, stride: int = 32) -> None:
        self.input_name = input_name
        self.images = list(images)
        self.imgsz = imgsz
        self.stride = stride
        self._iterator: Iterator[dict[str, np.ndarray]] | None = None
        self.used = 0

    def _frames(self) -> Iterator[dict[str, np.ndarray]]:
        buffers = BatchBuffers(1)
        first_hw: tuple[int, int] | None = None
        for path in self.images:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                log.warning("calibration: cannot read %s, skipped", path)
                continue
            # The rectangle the runtime would feed a dynamic-shape model for this frame.
            input_h, input_w = input_hw(image.shape[0], image.shape[1], self.imgsz, self.stride, rect=True)
            # Percentile calibration stacks every frame's activations: they must share one shape.
            first_hw = first_hw or (input_h, input_w)
            if (input_h, input_w) != first_hw:
                log.warning("calibration: %s letterboxes to %dx%d, not %dx%d; skipped", path, input_h, input_w, *first_hw)
                continue
            batch, _ = buffers.fill([image], input_h, input_w)
            self.used += 1
            yield {self.input_name: batch.copy()}  # the buffer is reused for the next frame

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._iterator is None:
            self._iterator = self._frames()
        return next(self._iterator, None)

    def rewind(self) -> None:
        self._iterator = None
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
    """
    if policy == "quantize-all":
        return []
    prefix = head_prefix(model)
    if not prefix:
        log.warning("cannot find the detection head by node names; quantising everything")
        return []
    head = [node for node in model.graph.node if node.name.startswith(prefix)]
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


@dataclass(frozen=True, slots=True)
class QuantizeReport:
    out_path: Path
    calibration_frames: int
    excluded_nodes: int
    policy: str


def quantize_int8(
    fp32_path: Path,
    out_path: Path,
    calibration_images: list[Path],
    imgsz: int,
    head_policy: HeadPolicy = "float-tail",
    per_channel: bool = True,
    calibrate_method: Literal["minmax", "entropy", "percentile"] = "percentile",
) -> QuantizeReport:
    """Write a static int8 QDQ model (u8 activations, s8 weights) calibrated on `calibration_images`.

    Percentile calibration (clip the 0.001% tails) beat MinMax and Entropy on real smoke frames
    (benchmarks/README.md). Histogram methods hold every activation of every frame in memory
    (~200 MB per 640 px frame for a nano model), so they use at most HISTOGRAM_FRAMES frames,
    picked evenly.
    """
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if not calibration_images:
        raise ValueError("int8 calibration needs real frames; none given")
    if calibrate_method != "minmax" and len(calibration_images) > HISTOGRAM_FRAMES:
        step = len(calibration_images) / HISTOGRAM_FRAMES
        calibration_images = [calibration_images[int(i * step)] for i in range(HISTOGRAM_FRAMES)]
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
        excluded = head_nodes_to_exclude(model, head_policy)
        input_name = model.graph.input[0].name
        reader = FrameCalibrationReader(input_name, calibration_images, imgsz)
        quantize_static(
            str(prepared),
            str(out_path),
            reader,
            quant_format=QuantFormat.QDQ,
            per_channel=per_channel,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=excluded,
            calibrate_method=methods[calibrate_method],
            # No CalibMaxIntermediateOutputs: in onnxruntime 1.32 MinMax it DISCARDS the frames
            # collected so far instead of merging them. MinMax keeps only per-tensor min/max
            # scalars per frame (ReduceMin/ReduceMax outputs), so memory stays small anyway.
        )
    copy_metadata(fp32_path, out_path)
    log.info("int8 model %s: %d calibration frames, %d head nodes in float", out_path, reader.used, len(excluded))
    return QuantizeReport(out_path, reader.used, len(excluded), head_policy)


def copy_metadata(source: Path, target: Path) -> None:
    """Class names, imgsz and stride must survive quantisation: the runtime reads them."""
    import onnx

    src, dst = onnx.load(source), onnx.load(target)
    existing = {p.key for p in dst.metadata_props}
    for prop in src.metadata_props:
        if prop.key not in existing:
            entry = dst.metadata_props.add()
            entry.key, entry.value = prop.key, prop.value
    entry = dst.metadata_props.add()
    entry.key, entry.value = "quantization", "int8 static QDQ (u8 activations, s8 per-channel weights)"
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
    from detector.detector import Detector, DetectorParams
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


def main(argv: list[str] | None = None) -> int:
    """python -m detector.training.quantize FP32.onnx OUT.onnx --images DIR [--count N] [--imgsz 640]"""
    import argparse

    parser = argparse.ArgumentParser(description="Static int8 QDQ quantisation calibrated on real frames.")
    parser.add_argument("fp32", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--images", type=Path, required=True, help="folder of real camera frames")
    parser.add_argument("--count", type=int, default=64, help="frames to pick evenly from the folder")
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--head", choices=["quantize-all", "float-tail", "float-tail-and-last-convs"],
                        default="float-tail")
    parser.add_argument("--calibration", choices=["minmax", "entropy", "percentile"], default="percentile")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    images = sorted(p for p in args.images.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if not images:
        parser.error(f"no images in {args.images}")
    step = max(len(images) / args.count, 1)
    picked = [images[int(i * step)] for i in range(min(args.count, len(images)))]
    report = quantize_int8(args.fp32, args.out, picked, args.imgsz, head_policy=args.head,
                           calibrate_method=args.calibration)
    print(f"wrote {report.out_path} ({report.calibration_frames} calibration frames, "
          f"{report.excluded_nodes} head nodes kept in float)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
