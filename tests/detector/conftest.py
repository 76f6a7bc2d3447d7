"""Shared fixtures for detector tests: real frames, the development model, a tiny synthetic model."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
# The shipped fp32 model: a real YOLOv8n export, present in every checkout.
DEV_MODEL = ROOT / "models" / "pinewatch-smoke.onnx"
SMOKE_IMAGES = SHARED / "datasets" / "afm-hpwren-smoke" / "images"
CLIPS = SHARED / "clips"


@pytest.fixture(scope="session")
def dev_model() -> Path:
    if not DEV_MODEL.is_file():
        pytest.skip(f"development model not present at {DEV_MODEL}")
    return DEV_MODEL


@pytest.fixture(scope="session")
def real_frames() -> list[np.ndarray]:
    """Three real camera frames of different sizes (640x480 smoke images and a 1280x960 timelapse frame)."""
    paths = sorted(SMOKE_IMAGES.glob("*.jp*g"))[:2] + sorted((SHARED / "sequences").glob("*/*.jpg"))[:1]
    if len(paths) < 3:
        pytest.skip("real frames under ../shared are not present")
    frames = [cv2.imread(str(p)) for p in paths]
    assert all(f is not None for f in frames)
    return frames


@pytest.fixture(scope="session")
def clips_dir() -> Path:
    if not any(CLIPS.glob("*.mp4")):
        pytest.skip("no clips under ../shared/clips")
    return CLIPS


def make_synthetic_model(path: Path, class_names: tuple[str, ...] = ("smoke", "fire"), dynamic: bool = True) -> Path:
    """A tiny ONNX 'detector' with the YOLO output layout [batch, 4 + classes, anchors].

    Rows are 32x32 average-pooled input channels (cycled), so its output is a fixed,
    cheap function of the input: enough to test plumbing without real weights.
    """
    import onnx
    from onnx import TensorProto, helper

    rows = 4 + len(class_names)
    dims = ["batch", 3, "height", "width"] if dynamic else [1, 3, 64, 64]
    pooled = helper.make_node("AveragePool", ["images"], ["pooled"], kernel_shape=[32, 32], strides=[32, 32])
    shape = helper.make_tensor("shape", TensorProto.INT64, [3], [0, 3, -1])
    flat = helper.make_node("Reshape", ["pooled", "shape"], ["flat"])
    repeats = [(i % 3) for i in range(rows)]
    index = helper.make_tensor("index", TensorProto.INT64, [rows], repeats)
    gather = helper.make_node("Gather", ["flat", "index"], ["output0"], axis=1)
    graph = helper.make_graph(
        [pooled, flat, gather],
        "synthetic",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", rows, "anchors"])],
        initializer=[shape, index],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    names = "{" + ", ".join(f"{i}: {n!r}" for i, n in enumerate(class_names)) + "}"
    for key, value in {"names": names, "imgsz": "[64, 64]", "stride": "32"}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


@pytest.fixture(scope="session")
def synthetic_model(tmp_path_factory) -> Path:
    pytest.importorskip("onnx")
    return make_synthetic_model(tmp_path_factory.mktemp("models") / "synthetic.onnx")
