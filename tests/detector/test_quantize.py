from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from detector.preprocess import BatchBuffers  # noqa: E402
from detector.session import SessionOptions, open_session  # noqa: E402
from detector.training.quantize import (  # noqa: E402
    FrameCalibrationReader,
    head_nodes_to_exclude,
    head_prefix,
    quantize_int8,
)

SMOKE_IMAGES = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "afm-hpwren-smoke" / "images"


def test_head_policies_on_the_dev_graph(dev_model):
    model = onnx.load(dev_model)
    assert head_prefix(model) == "/model.22/"
    assert head_nodes_to_exclude(model, "quantize-all") == []
    tail = head_nodes_to_exclude(model, "float-tail")
    names = set(tail)
    assert "/model.22/Sigmoid" in names and "/model.22/dfl/conv/Conv" in names  # decode tail stays float
    assert not any("/cv2." in n or "/cv3." in n for n in tail)  # the conv branches are quantised
    with_convs = head_nodes_to_exclude(model, "float-tail-and-last-convs")
    assert sorted(set(with_convs) - names) == sorted(
        f"/model.22/{b}.{i}/{b}.{i}.2/Conv" for b in ("cv2", "cv3") for i in range(3)
    )


def test_calibration_reader_letterboxes_real_frames(real_frames, tmp_path):
    import cv2

    paths = []
    for i, frame in enumerate(real_frames):
        paths.append(tmp_path / f"{i}.jpg")
        cv2.imwrite(str(paths[-1]), frame)
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    reader = FrameCalibrationReader("images", [*paths, tmp_path / "broken.jpg"], 320)
    batches = []
    while (item := reader.get_next()) is not None:
        batches.append(item["images"])
    assert reader.used == 3 and len(batches) == 3
    assert batches[0].shape == (1, 3, 256, 320)  # 640x480 at 320: rectangle as at run time
    assert 0 <= batches[0].min() and batches[0].max() <= 1
    reader.rewind()
    assert reader.get_next() is not None


@pytest.mark.slow
def test_int8_model_keeps_metadata_and_follows_fp32(dev_model, real_frames, tmp_path):
    if not SMOKE_IMAGES.is_dir():
        pytest.skip("no real calibration frames")
    calibration = sorted(SMOKE_IMAGES.glob("*.jp*g"))[100:108]
    out = quantize_int8(dev_model, tmp_path / "int8.onnx", calibration, 640, calibrate_method="minmax")
    assert out.calibration_frames == 8 and out.excluded_nodes > 0
    fp32 = open_session(SessionOptions(dev_model, "cpu", 1))
    int8 = open_session(SessionOptions(out.out_path, "cpu", 1))
    assert int8.info.class_names == fp32.info.class_names and int8.info.imgsz == fp32.info.imgsz
    quantized_ops = {n.op_type for n in onnx.load(out.out_path).graph.node}
    assert "QuantizeLinear" in quantized_ops and "DequantizeLinear" in quantized_ops
    # Judge agreement on the 200 anchors fp32 scores highest, relative to the best score.
    # Quantising the decode tail too makes every score the same value (measured: 1 distinct
    # value, error = the whole score).
    for frame in real_frames[:2]:
        batch, _ = BatchBuffers(1).fill([frame], 480, 640)
        a, b = fp32.run(batch)[0], int8.run(batch)[0]
        top = np.argsort(-a[4:].max(0))[:200]
        scores_a, scores_b = a[4:, top].max(0), b[4:, top].max(0)
        assert np.unique(b[4:]).size > 50
        assert np.abs(scores_a - scores_b).mean() < 0.1 * scores_a.max()
        assert np.corrcoef(scores_a, scores_b)[0, 1] > 0.5
        assert np.median(np.abs(a[:4, top] - b[:4, top])) < 8  # box coordinates, input pixels
