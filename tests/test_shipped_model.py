"""The shipped model finds real smoke and stays quiet on a real smoke-free frame."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import pytest

from detector.cpu import int8_dot_product_flags
from detector.temporal import iou
from pinewatch.core.config import DetectorConfig
from streams.wiring import open_detector

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
SHARED = ROOT.parent / "shared"


def _frame(clip: Path, index: int):
    capture = cv2.VideoCapture(str(clip))
    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, frame = capture.read()
    capture.release()
    assert ok
    return frame


@pytest.fixture(scope="module", params=["pinewatch-smoke.onnx", "pinewatch-smoke-int8.onnx"])
def detector(request):
    path = MODELS / request.param
    if not path.exists():
        pytest.fail(f"{path} is not shipped")
    return open_detector(DetectorConfig(), path)


def test_checksums_match():
    sums = (MODELS / "SHA256SUMS").read_text().split("\n")
    listed = dict(reversed(line.split()) for line in sums if line.strip())
    assert {"pinewatch-smoke.onnx", "pinewatch-smoke-int8.onnx"} <= set(listed)
    for name, digest in listed.items():
        assert hashlib.sha256((MODELS / name).read_bytes()).hexdigest() == digest, name


def test_classes(detector):
    assert detector.class_names == ("smoke", "fire")


def test_finds_smoke_in_a_real_smoke_frame(detector):
    # Frame 10 of the sample clip: a plume in the upper right of an HPWREN view.
    detections = detector.detect([_frame(ROOT / "sample_videos" / "smoke_hpwren_mixed.mp4", 10)])[0]
    assert any(d.label == "smoke" for d in detections), detections


def test_nothing_in_real_smoke_free_frames(detector):
    # int8 kernels round by CPU instruction set; the shipped int8 scores these frames under 0.05 on
    # an AVX-512 VNNI / AMX Xeon, far from the 0.25 threshold (models/MODEL_CARD.md).
    clip = ROOT / "sample_videos" / "nosmoke_hpwren_lyons_peak.mp4"
    frames = [_frame(clip, i) for i in (0, 60, 119)]
    assert detector.detect(frames) == [[], [], []]


def test_finds_the_labelled_plume_in_a_tower_image(detector, request):
    """An AI For Mankind / HPWREN image with a hand-drawn smoke box (needs ../shared)."""
    if "int8" in request.node.callspec.id and int8_dot_product_flags() == set():
        # Without VNNI, onnxruntime's u8 x s8 kernels add pairs of products in 16 bits, which can
        # saturate (detector.cpu; the runtime warns). Measured: the shipped int8 scores this plume
        # 0.18 on an AVX2-only AMD EPYC (fp32: 0.84); 7-bit weights cost 2.8 val points on a VNNI CPU
        # and are unmeasured without one (benchmarks/INT8.md).
        # It runs and is reported either way (models/MODEL_CARD.md, Known failure modes).
        request.applymarker(pytest.mark.xfail(reason="int8 on a CPU without VNNI (issue 10)", strict=False))
    image_path = SHARED / "datasets/afm-hpwren-smoke/images/ck0k99e6p79go0944lmxivkmv.jpeg"
    if not image_path.exists():
        pytest.skip("../shared is not beside the checkout")
    image = cv2.imread(str(image_path))
    truth = (448 / 640, 196 / 480, 539 / 640, 241 / 480)  # from its VOC annotation
    detections = [d for d in detector.detect([image])[0] if d.label == "smoke"]
    assert detections
    best = max(detections, key=lambda d: d.score)
    assert iou(best.box, truth) > 0.3


@pytest.mark.xfail(strict=True, reason="the shipped model (run 6, epoch 3) boxes none of the 14 wc-s frames (issue 9); strict: remove when one does")
def test_fp32_finds_small_early_smoke_in_a_boxed_wc_s_frame():
    """The smallest, earliest smoke: 20-50 px plumes in 1280-px frames, never trained on."""
    folder = SHARED / "sequences" / "20190925_wc-s-mobo-c"
    if not (folder / "labels").exists():
        pytest.skip("../shared is not beside the checkout")
    fp32 = open_detector(DetectorConfig(), MODELS / "pinewatch-smoke.onnx")
    found = 0
    for label in sorted((folder / "labels").glob("*.txt")):
        image = cv2.imread(str(folder / f"{label.stem}.jpg"))
        detections = [d for d in fp32.detect([image])[0] if d.label == "smoke"]
        for line in label.read_text().splitlines():
            _, cx, cy, w, h = (float(v) for v in line.split()[:5])
            truth = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            found += any(iou(d.box, truth) >= 0.3 for d in detections)
    assert found >= 1


@pytest.mark.parametrize("sequence", ["20190925_wc-s-mobo-c", "20180728_rm-w-mobo-c"])
def test_fp32_raises_no_alert_before_ignition(sequence):
    """Every pre-ignition frame through the shipped vote: no alert. This is what kept run 4 from
    shipping: it scores the microwave dish on wc-s's own tower as smoke (models/MODEL_CARD.md)."""
    from detector.evaluate import ignition_offset_s, list_images
    from pinewatch.core.config import Settings
    from streams.wiring import frame_judge

    folder = SHARED / "sequences" / sequence
    if not folder.exists():
        pytest.skip("../shared is not beside the checkout")
    settings = Settings()
    fp32 = open_detector(settings.detector, MODELS / "pinewatch-smoke.onnx")
    judge = frame_judge(settings.detector, settings.temporal)
    before = [path for path in list_images(folder) if (ignition_offset_s(path.name) or 0) < 0]
    assert len(before) >= 30
    alerts = [path.name for path in before if judge.judge(fp32.detect([cv2.imread(str(path))])[0]).new_alert]
    assert alerts == []
