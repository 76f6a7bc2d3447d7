"""onnxruntime session factory: provider choice with CPU fallback, threads, model metadata, warm-up."""

from __future__ import annotations

import ast
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import onnxruntime as ort

from detector.cpu import cpu_model, int8_weights_saturate

log = logging.getLogger(__name__)

# Model metadata written by detector.training.quantize: "8" or "7". Models quantised before
# the key existed used 8-bit weights.
INT8_WEIGHT_BITS_KEY = "int8_weight_bits"

ProviderName = Literal["cpu", "cuda", "tensorrt", "openvino"]
GraphOptimization = Literal["disable", "basic", "extended", "all"]

# Each pinewatch provider name maps to the onnxruntime providers to try, best first.
_PROVIDER_CHAIN: dict[str, tuple[str, ...]] = {
    "cpu": ("CPUExecutionProvider",),
    "cuda": ("CUDAExecutionProvider", "CPUExecutionProvider"),
    "tensorrt": ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"),
    "openvino": ("OpenVINOExecutionProvider", "CPUExecutionProvider"),
}

_GRAPH_LEVEL = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


class ModelError(ValueError):
    """The ONNX file is missing, unreadable, or not a detector we understand."""


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """How to open a model. `threads` 0 lets onnxruntime decide (one per physical core)."""

    model_path: Path
    provider: ProviderName
    threads: int
    # Not configured values: implementation choices with a measured reason (benchmarks/README.md).
    graph_optimization: GraphOptimization = "all"
    # Spinning threads burn a core waiting for work; on a small shared box that steals the
    # CPU the stream decoders need, and under contention it made 2-thread runs 1.6x slower.
    allow_spinning: bool = False


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the detector needs to know about a model, read from the ONNX file."""

    input_name: str
    output_name: str
    imgsz: tuple[int, int]  # (height, width) the model was exported for
    class_names: tuple[str, ...]
    dynamic_batch: bool
    dynamic_hw: bool  # True: any multiple of the stride works, so letterbox to the minimum rectangle
    stride: int
    input_dtype: np.dtype
    int8_weight_bits: int | None = None  # None: a float model


@dataclass(slots=True)
class ModelSession:
    """An open onnxruntime session with the model's facts; `provider` is the one actually used."""

    session: ort.InferenceSession
    info: ModelInfo
    provider: str

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Raw model output for a ready NCHW tensor: [batch, 4 + classes, anchors]."""
        return self.session.run([self.info.output_name], {self.info.input_name: batch})[0]


def resolve_providers(provider: str, available: list[str]) -> list[str]:
    """The onnxruntime providers to ask for: the wanted chain limited to what is installed, CPU last."""
    if provider not in _PROVIDER_CHAIN:
        raise ValueError(f"unknown provider {provider!r}; choose one of {sorted(_PROVIDER_CHAIN)}")
    chosen = [name for name in _PROVIDER_CHAIN[provider] if name in available]
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


def parse_class_names(raw: str) -> tuple[str, ...]:
    """Ultralytics stores names as a Python dict literal, e.g. "{0: 'smoke', 1: 'fire'}"."""
    try:
        names = ast.literal_eval(raw)
    except (ValueError, SyntaxError) as exc:
        raise ModelError(f"cannot read class names from metadata {raw!r}") from exc
    if isinstance(names, dict):
        keys = sorted(names)
        if keys != list(range(len(keys))):
            raise ModelError(f"class ids in metadata are not 0..n-1: {keys}")
        return tuple(str(names[k]) for k in keys)
    if isinstance(names, (list, tuple)):
        return tuple(str(n) for n in names)
    raise ModelError(f"class names in metadata are neither a dict nor a list: {raw!r}")


def parse_imgsz(raw: str | None, input_shape: list) -> tuple[int, int]:
    """Export size from metadata ('[640, 640]' or '640'), else the static input shape."""
    if raw:
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError) as exc:
            raise ModelError(f"cannot read imgsz from metadata {raw!r}") from exc
        if isinstance(value, int):
            return value, value
        if isinstance(value, (list, tuple)) and len(value) == 2:
            return int(value[0]), int(value[1])
        raise ModelError(f"imgsz in metadata is neither an int nor [h, w]: {raw!r}")
    height, width = input_shape[2], input_shape[3]
    if isinstance(height, int) and isinstance(width, int):
        return height, width
    raise ModelError("the model has a dynamic input size and no 'imgsz' metadata")


def read_model_info(session: ort.InferenceSession) -> ModelInfo:
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(f"expected one input and one output, got {len(inputs)} and {len(outputs)}")
    shape = inputs[0].shape
    if len(shape) != 4 or shape[1] not in (3, "3"):
        raise ModelError(f"expected an NCHW 3-channel input, got shape {shape}")
    metadata = session.get_modelmeta().custom_metadata_map
    if "names" not in metadata:
        raise ModelError("the model has no 'names' metadata (export it with ultralytics)")
    class_names = parse_class_names(metadata["names"])
    out_shape = outputs[0].shape
    if len(out_shape) != 3 or (isinstance(out_shape[1], int) and out_shape[1] != 4 + len(class_names)):
        raise ModelError(
            f"expected output [batch, 4 + {len(class_names)} classes, anchors], got {out_shape}"
            " (end-to-end/NMS exports are not supported)"
        )
    dtype = np.float16 if "float16" in inputs[0].type else np.float32
    return ModelInfo(
        input_name=inputs[0].name,
        output_name=outputs[0].name,
        imgsz=parse_imgsz(metadata.get("imgsz"), shape),
        class_names=class_names,
        dynamic_batch=not isinstance(shape[0], int),
        dynamic_hw=not isinstance(shape[2], int) and not isinstance(shape[3], int),
        stride=int(metadata.get("stride", 32)),
        input_dtype=np.dtype(dtype),
        int8_weight_bits=int8_weight_bits(metadata),
    )


def int8_weight_bits(metadata: dict[str, str]) -> int | None:
    """7 or 8 for a model from detector.training.quantize (8 before it recorded the bits), else None."""
    if "quantization" not in metadata:
        return None
    raw = metadata.get(INT8_WEIGHT_BITS_KEY, "8")
    if raw not in ("7", "8"):
        raise ModelError(f"{INT8_WEIGHT_BITS_KEY} in metadata is neither 7 nor 8: {raw!r}")
    return int(raw)


def open_session(options: SessionOptions) -> ModelSession:
    """Open the model on the wanted provider (falling back to CPU), read its metadata, warm it up."""
    path = Path(options.model_path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    if options.threads < 0:
        raise ValueError("threads must be >= 0 (0 = onnxruntime decides)")
    if options.graph_optimization not in _GRAPH_LEVEL:
        raise ValueError(f"unknown graph optimisation {options.graph_optimization!r}")
    providers = resolve_providers(options.provider, ort.get_available_providers())
    if providers[0] != _PROVIDER_CHAIN[options.provider][0]:
        log.warning("provider %r is not available here; falling back to %s", options.provider, providers[0])

    session_options = ort.SessionOptions()
    session_options.graph_optimization_level = _GRAPH_LEVEL[options.graph_optimization]
    session_options.intra_op_num_threads = options.threads
    session_options.inter_op_num_threads = 1  # the graph is a chain; parallel branches buy nothing
    session_options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session_options.add_session_config_entry(
        "session.intra_op.allow_spinning", "1" if options.allow_spinning else "0"
    )
    # Rectangular letterboxes x batch sizes give many input shapes; the memory-pattern cache
    # plans (and holds) a block per shape, so RSS climbed with each new shape seen (+25 MB over
    # 24 shapes at 640 px, int8), and stayed flat without it at no measurable speed cost
    # (issue 14; tests/reliability/test_detector_memory.py).
    session_options.enable_mem_pattern = False
    try:
        session = ort.InferenceSession(str(path), session_options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own unrelated exception types
        if providers[0] == "CPUExecutionProvider":
            raise ModelError(f"cannot load {path}: {exc}") from exc
        log.warning("provider %s failed (%s); falling back to CPU", providers[0], exc)
        session = ort.InferenceSession(str(path), session_options, providers=["CPUExecutionProvider"])

    used = session.get_providers()[0]
    model = ModelSession(session=session, info=read_model_info(session), provider=used)
    bits = model.info.int8_weight_bits
    if used == "CPUExecutionProvider" and bits is not None and int8_weights_saturate(bits):
        log.warning(
            "%s is int8 with %d-bit weights, and this CPU (%s) has no VNNI: onnxruntime's int8 kernel "
            "can saturate here and lose detections (the shipped int8 scored a plume 0.18, fp32 0.84). "
            "Use the fp32 model here (a 7-bit re-export, `pinewatch export --reduce-range`, costs val mAP50: "
            "benchmarks/INT8.md).",
            path.name, bits, cpu_model(),
        )
    log.info(
        "model %s on %s (threads=%s, classes=%s, imgsz=%s)",
        path.name, used, options.threads or "auto", ",".join(model.info.class_names), model.info.imgsz,
    )
    warm_up(model)
    return model


def warm_up(model: ModelSession, runs: int = 2) -> None:
    """First runs allocate arenas and pick kernels; pay that before serving frames."""
    height, width = model.info.imgsz
    dummy = np.full((1, 3, height, width), 114 / 255, dtype=model.info.input_dtype)
    for _ in range(runs):
        model.run(dummy)
