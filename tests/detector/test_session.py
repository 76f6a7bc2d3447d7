import logging

import numpy as np
import pytest

from detector.session import (
    ModelError,
    SessionOptions,
    open_session,
    parse_class_names,
    parse_imgsz,
    resolve_providers,
)


def test_parse_metadata():
    assert parse_class_names("{0: 'smoke', 1: 'fire'}") == ("smoke", "fire")
    assert parse_class_names("['smoke']") == ("smoke",)
    with pytest.raises(ModelError):
        parse_class_names("{0: 'smoke', 2: 'fire'}")
    with pytest.raises(ModelError):
        parse_class_names("not python")
    assert parse_imgsz("[640, 480]", ["b", 3, "h", "w"]) == (640, 480)
    assert parse_imgsz("320", ["b", 3, "h", "w"]) == (320, 320)
    assert parse_imgsz(None, [1, 3, 256, 256]) == (256, 256)
    with pytest.raises(ModelError):
        parse_imgsz(None, [1, 3, "h", "w"])


def test_resolve_providers_falls_back_to_cpu():
    cpu_only = ["CPUExecutionProvider"]
    assert resolve_providers("cuda", cpu_only) == ["CPUExecutionProvider"]
    assert resolve_providers("tensorrt", ["CUDAExecutionProvider", "CPUExecutionProvider"]) == [
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]
    assert resolve_providers("openvino", ["OpenVINOExecutionProvider"]) == [
        "OpenVINOExecutionProvider",
        "CPUExecutionProvider",
    ]
    with pytest.raises(ValueError, match="unknown provider"):
        resolve_providers("gpu", cpu_only)


def test_open_reads_metadata(synthetic_model):
    model = open_session(SessionOptions(synthetic_model, "cpu", 1))
    assert model.info.class_names == ("smoke", "fire")
    assert model.info.imgsz == (64, 64)
    assert model.info.dynamic_batch and model.info.dynamic_hw
    assert model.provider == "CPUExecutionProvider"
    out = model.run(np.zeros((2, 3, 64, 96), np.float32))
    assert out.shape == (2, 6, 6)


def test_unavailable_provider_falls_back_and_says_so(synthetic_model, caplog):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("CUDA is available here; nothing to fall back from")
    with caplog.at_level(logging.INFO, logger="detector.session"):
        model = open_session(SessionOptions(synthetic_model, "cuda", 1))
    assert model.provider == "CPUExecutionProvider"
    assert "falling back" in caplog.text and "on CPUExecutionProvider" in caplog.text


def test_bad_models_are_refused(tmp_path, synthetic_model):
    with pytest.raises(ModelError, match="not found"):
        open_session(SessionOptions(tmp_path / "missing.onnx", "cpu", 1))
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not an onnx model")
    with pytest.raises(ModelError, match="cannot load"):
        open_session(SessionOptions(garbage, "cpu", 1))
    import onnx

    model = onnx.load(synthetic_model)
    del model.metadata_props[:]
    nameless = tmp_path / "nameless.onnx"
    onnx.save(model, nameless)
    with pytest.raises(ModelError, match="names"):
        open_session(SessionOptions(nameless, "cpu", 1))
