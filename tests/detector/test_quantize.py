from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from detector.preprocess import BatchBuffers  # noqa: E402
from detector.session import SessionOptions, open_session  # noqa: E402
from detector.training.quantize import (  # noqa: E402
    FrameCalibrationReader,
    Int8Recipe,
    calibration_frames,
    first_conv_node,
    head_nodes_to_exclude,
    head_prefix,
    nodes_to_exclude,
    output_concat_node,
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


def test_each_sensitive_part_can_stay_float(dev_model):
    model = onnx.load(dev_model)
    assert first_conv_node(model) == "/model.0/conv/Conv"
    assert output_concat_node(model) == "/model.22/Concat_26"
    tail = set(head_nodes_to_exclude(model, "float-tail"))
    head = set(head_nodes_to_exclude(model, "float-head"))
    assert tail < head and all(n.startswith("/model.22/") for n in head)
    assert "/model.22/cv2.0/cv2.0.0/conv/Conv" in head  # the branches too
    bare = nodes_to_exclude(model, Int8Recipe(head="quantize-all", float_output_concat=False, float_first_conv=False))
    assert bare == []
    concat_only = nodes_to_exclude(model, Int8Recipe(head="quantize-all", float_output_concat=True, float_first_conv=False))
    assert concat_only == ["/model.22/Concat_26"]
    both = nodes_to_exclude(model, Int8Recipe(head="float-tail", float_first_conv=True))
    assert set(both) == tail | {"/model.0/conv/Conv"} and len(both) == len(set(both))
    with pytest.raises(ValueError, match="head policy"):
        head_nodes_to_exclude(model, "float-everything")


def test_whole_modules_can_stay_float(dev_model):
    model = onnx.load(dev_model)
    stem = nodes_to_exclude(model, Int8Recipe(head="quantize-all", float_output_concat=False, float_modules=(0, 1)))
    assert stem == ["/model.0/conv/Conv", "/model.0/act/Sigmoid", "/model.0/act/Mul",
                    "/model.1/conv/Conv", "/model.1/act/Sigmoid", "/model.1/act/Mul"]
    # With the first conv also asked for, nothing is listed twice.
    both = nodes_to_exclude(model, Int8Recipe(float_first_conv=True, float_modules=(0, 2)))
    assert len(both) == len(set(both)) and any(n.startswith("/model.2/") for n in both)
    assert Int8Recipe(float_modules=(0, 1)).label().endswith("float-modules-0-1")
    with pytest.raises(ValueError, match="no module 99"):
        nodes_to_exclude(model, Int8Recipe(float_modules=(99,)))


def test_float_modules_option_reads_indices():
    import argparse

    from detector.training.quantize import add_recipe_arguments, recipe_from_args

    parser = argparse.ArgumentParser()
    add_recipe_arguments(parser)
    assert recipe_from_args(parser.parse_args(["--float-modules", "4,0,2"])).float_modules == (0, 2, 4)
    assert recipe_from_args(parser.parse_args([])).float_modules == ()
    with pytest.raises(SystemExit):
        parser.parse_args(["--float-modules", "stem"])


def _link(folder: Path, name: str, target: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).symlink_to(target)


def test_calibration_frames_are_training_split_tower_frames_only(tmp_path):
    shared = tmp_path / "shared"
    afm = shared / "datasets" / "afm-hpwren-smoke" / "images"
    afm.mkdir(parents=True)
    other = tmp_path / "roboflow"
    other.mkdir()
    for i in range(6):
        (afm / f"a{i}.jpeg").write_bytes(b"x")
    (other / "r.jpg").write_bytes(b"x")
    data = tmp_path / "yolo"
    for i in range(5):
        _link(data / "train" / "images", f"afm__a{i}.jpeg", afm / f"a{i}.jpeg")
    _link(data / "train" / "images", "roboflow__r.jpg", other / "r.jpg")  # not a tower frame
    _link(data / "train" / "images", "afm__elsewhere.jpg", other / "r.jpg")  # named afm, lives elsewhere
    _link(data / "val" / "images", "afm-negative__a4.jpeg", afm / "a4.jpeg")  # also in val: never
    _link(data / "val" / "images", "afm__a5.jpeg", afm / "a5.jpeg")
    picked = calibration_frames(data, shared, count=4)
    assert picked == sorted(afm.resolve() / f"a{i}.jpeg" for i in range(4))
    assert calibration_frames(data, shared, count=2) == calibration_frames(data, shared, count=2)  # seeded
    with pytest.raises(ValueError, match="only 4 training-split AFM frames"):
        calibration_frames(data, shared, count=5)
    with pytest.raises(FileNotFoundError, match="dataset-only"):
        calibration_frames(tmp_path / "missing", shared)


def test_calibration_reader_drops_odd_frames_up_front_and_feeds_ranges(real_frames, tmp_path):
    import cv2

    paths = []
    for i, frame in enumerate(real_frames[:2] * 3):  # six 640x480 frames
        paths.append(tmp_path / f"{i}.jpg")
        cv2.imwrite(str(paths[-1]), frame)
    odd = tmp_path / "odd.jpg"
    cv2.imwrite(str(odd), np.zeros((300, 900, 3), np.uint8))  # another letterbox shape
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    reader = FrameCalibrationReader("images", [*paths[:3], odd, tmp_path / "broken.jpg", *paths[3:]], 640)
    assert len(reader) == 6 and reader.input_hw == (480, 640)
    reader.set_range(2, 4)
    chunk = []
    while (item := reader.get_next()) is not None:
        chunk.append(item["images"])
    assert len(chunk) == 2 and chunk[0].shape == (1, 3, 480, 640)
    reader.set_range(4, 6)
    assert reader.get_next() is not None and reader.used == 3


@pytest.mark.slow
def test_int8_model_keeps_metadata_and_follows_fp32(dev_model, real_frames, tmp_path):
    if not SMOKE_IMAGES.is_dir():
        pytest.skip("no real calibration frames")
    calibration = sorted(SMOKE_IMAGES.glob("*.jp*g"))[100:109]  # 9: trimmed to whole chunks of 4
    cache = tmp_path / "cache"
    recipe = Int8Recipe(calibration="minmax", head="float-tail", float_first_conv=True, symmetric=False)
    out = quantize_int8(dev_model, tmp_path / "int8.onnx", calibration, 640, recipe=recipe, cache_dir=cache)
    assert out.calibration_frames == 8 and out.excluded_nodes > 0 and out.recipe["float_first_conv"] is True
    graph = onnx.load(out.out_path).graph
    conv0 = next(n for n in graph.node if n.name == "/model.0/conv/Conv")
    assert conv0.input[0] == graph.input[0].name  # reads the float pixels, no QuantizeLinear before it
    assert conv0.input[1] in {i.name for i in graph.initializer}  # float weights, not a DequantizeLinear
    meta = {p.key: p.value for p in onnx.load(out.out_path).metadata_props}
    assert meta["int8_recipe"].startswith("minmax_float-tail_asymmetric_float-concat_float-first-conv; 8 calibration frames")
    # Another exclusion with the same frames and method reuses the cached ranges.
    again = quantize_int8(dev_model, tmp_path / "int8-head.onnx", calibration, 640,
                          recipe=Int8Recipe(calibration="minmax", head="float-head", symmetric=False), cache_dir=cache)
    assert len(list(cache.iterdir())) == 1 and again.excluded_nodes > out.excluded_nodes
    # The stem kept whole in float: module 0's SiLU output reaches module 1 unquantised.
    stem = quantize_int8(dev_model, tmp_path / "int8-stem.onnx", calibration, 640,
                         recipe=Int8Recipe(**{**out.recipe, "float_modules": (0,)}), cache_dir=cache)
    stem_graph = onnx.load(stem.out_path).graph
    assert any(n.op_type == "QuantizeLinear" and n.input[0].startswith("/model.0/act/Sigmoid") for n in graph.node)
    assert not any(n.op_type == "QuantizeLinear" and n.input[0].startswith("/model.0/act/Sigmoid") for n in stem_graph.node)
    assert {p.key: p.value for p in onnx.load(stem.out_path).metadata_props}["int8_recipe"].startswith(
        "minmax_float-tail_asymmetric_float-concat_float-first-conv_float-modules-0;")
    # 7-bit weights (for CPUs without VNNI) from the same cached ranges; the metadata says which.
    narrow = quantize_int8(dev_model, tmp_path / "int8-7bit.onnx", calibration, 640,
                           recipe=Int8Recipe(**{**out.recipe, "reduce_range": True}), cache_dir=cache)
    assert len(list(cache.iterdir())) == 1

    def weights(path):
        model = onnx.load(path)
        return [onnx.numpy_helper.to_array(i) for i in model.graph.initializer if i.data_type == onnx.TensorProto.INT8], \
            {p.key: p.value for p in model.metadata_props}

    wide, wide_meta = weights(out.out_path)
    seven, seven_meta = weights(narrow.out_path)
    assert len(seven) == len(wide) > 50
    assert max(int(np.abs(w).max()) for w in wide) == 127 and wide_meta["int8_weight_bits"] == "8"
    assert all(-64 <= w.min() and w.max() <= 64 for w in seven) and seven_meta["int8_weight_bits"] == "7"
    assert seven_meta["int8_recipe"].startswith("minmax_float-tail_asymmetric_float-concat_float-first-conv_7bit-weights;")
    assert open_session(SessionOptions(narrow.out_path, "cpu", 1)).info.int8_weight_bits == 7
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


def test_export_refuses_too_few_frames_a_missing_dataset_and_overwriting_its_input(dev_model, tmp_path, capsys):
    from pinewatch.cli import main

    assert main(["export", "--from-onnx", str(dev_model), "--calibration-frames", "50"]) == 2
    assert ">= 200" in capsys.readouterr().out
    assert main(["export", "--from-onnx", str(dev_model), "--data", str(tmp_path / "none"), "--out", str(tmp_path)]) == 2
    assert "dataset-only" in capsys.readouterr().out
    shared = tmp_path / "shared"
    afm = shared / "datasets" / "afm-hpwren-smoke" / "images"
    afm.mkdir(parents=True)
    for i in range(200):
        (afm / f"a{i}.jpeg").write_bytes(b"x")
        _link(tmp_path / "yolo" / "train" / "images", f"afm__a{i}.jpeg", afm / f"a{i}.jpeg")
    (tmp_path / "yolo" / "val" / "images").mkdir(parents=True)
    fp32 = tmp_path / "model.onnx"
    fp32.symlink_to(dev_model)
    code = main(["export", "--from-onnx", str(fp32), "--data", str(tmp_path / "yolo"), "--shared", str(shared),
                 "--out", str(tmp_path), "--int8-name", "model.onnx"])
    assert code == 2 and "overwrite" in capsys.readouterr().out
