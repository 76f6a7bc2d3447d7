import logging
from pathlib import Path

import pytest

from detector.cpu import INT8_DOT_PRODUCT_FLAGS, cpu_model, int8_dot_product_flags, int8_weights_saturate
from detector.session import ModelError, SessionOptions, int8_weight_bits, open_session

ROOT = Path(__file__).resolve().parents[2]


def test_8_bit_weights_saturate_only_where_the_cpu_has_no_dot_product_instruction():
    assert int8_weights_saturate(8, set())  # AVX2 or AVX-512BW only
    assert not int8_weights_saturate(7, set())  # 255 x 64 x 2 fits in 16 bits
    for flag in INT8_DOT_PRODUCT_FLAGS:
        assert not int8_weights_saturate(8, {flag})
    assert not int8_weights_saturate(8, None)  # unknown CPU: no warning on a guess


def test_the_cpu_facts_come_from_this_machine():
    flags = int8_dot_product_flags()
    if not Path("/proc/cpuinfo").exists():
        assert flags is None
        return
    listed = set(Path("/proc/cpuinfo").read_text().split())
    assert flags == listed & INT8_DOT_PRODUCT_FLAGS
    assert cpu_model() in Path("/proc/cpuinfo").read_text()


def test_weight_bits_from_metadata():
    assert int8_weight_bits({"names": "['smoke']"}) is None  # a float model
    assert int8_weight_bits({"quantization": "int8 static QDQ"}) == 8  # written before the key existed
    assert int8_weight_bits({"quantization": "int8 static QDQ", "int8_weight_bits": "7"}) == 7
    with pytest.raises(ModelError, match="int8_weight_bits"):
        int8_weight_bits({"quantization": "int8 static QDQ", "int8_weight_bits": "4"})


def test_loading_the_shipped_int8_warns_exactly_where_it_saturates(caplog):
    """The shipped int8 has 8-bit weights: on this CPU the warning appears iff it lacks VNNI/AMX."""
    with caplog.at_level(logging.WARNING, logger="detector.session"):
        model = open_session(SessionOptions(ROOT / "models" / "pinewatch-smoke-int8.onnx", "cpu", 1))
    assert model.info.int8_weight_bits == 8
    warned = "has no VNNI" in caplog.text
    assert warned == int8_weights_saturate(8), caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="detector.session"):
        fp32 = open_session(SessionOptions(ROOT / "models" / "pinewatch-smoke.onnx", "cpu", 1))
    assert fp32.info.int8_weight_bits is None and "VNNI" not in caplog.text
