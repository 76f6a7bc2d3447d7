import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from detector.detector import BatchingService, Detector, DetectorParams, FrameDropped
from detector.session import SessionOptions, open_session


def params(**overrides) -> DetectorParams:
    values = dict(imgsz=640, score_threshold=0.25, nms_iou=0.5, batch_size=4, batch_wait_ms=20)
    values.update(overrides)
    return DetectorParams(**values)


@pytest.fixture(scope="module")
def dev_detector(dev_model) -> Detector:
    # A very low threshold so that the development model (not trained on smoke) yields boxes.
    return Detector.open(SessionOptions(dev_model, "cpu", 1), params(score_threshold=0.005))


def test_dev_model_on_real_frames_is_sane(dev_detector, real_frames):
    results = dev_detector.detect(real_frames)
    assert len(results) == 3 and sum(len(r) for r in results) > 0
    for detections in results:
        assert [d.score for d in detections] == sorted((d.score for d in detections), reverse=True)
        for d in detections:
            x1, y1, x2, y2 = d.box
            assert 0 <= x1 <= x2 <= 1 and 0 <= y1 <= y2 <= 1
            assert d.label in dev_detector.class_names and 0.005 < d.score <= 1
    timings = dev_detector.last_timings
    assert timings.frames == 3 and timings.infer_ms > 0 and timings.pre_ms > 0


def test_batch_of_three_equals_three_singles(dev_detector, real_frames):
    batched = dev_detector.detect(real_frames)
    singles = [dev_detector.detect([frame])[0] for frame in real_frames]
    for got, want in zip(batched, singles):
        assert [d.label for d in got] == [d.label for d in want]
        np.testing.assert_allclose([d.score for d in got], [d.score for d in want], atol=1e-4)
        np.testing.assert_allclose([d.box for d in got], [d.box for d in want], atol=1e-4)


def test_raw_scores_drop_when_normalisation_is_wrong(dev_model, real_frames):
    """Sanity of /255 and RGB order: the model's best score collapses on a wrongly scaled input."""
    model = open_session(SessionOptions(dev_model, "cpu", 1))
    detector = Detector(model, params())
    input_h, input_w = detector.input_hw([real_frames[0].shape])
    batch, _ = detector._buffers.fill([real_frames[0]], input_h, input_w)
    assert 0 <= batch.min() and batch.max() <= 1 and batch.std() > 0.05
    good = model.run(batch)[0, 4:].max()
    assert model.run(batch * 255)[0, 4:].max() != pytest.approx(good, rel=0.05)


@pytest.mark.slow
def test_same_detections_as_ultralytics(dev_model, real_frames):
    """The reference implementation of pre/post-processing: ultralytics itself on the same ONNX."""
    ultralytics = pytest.importorskip("ultralytics")
    detector = Detector.open(SessionOptions(dev_model, "cpu", 1), params(score_threshold=0.005))
    yolo = ultralytics.YOLO(str(dev_model), task="detect")
    compared = 0
    for frame in real_frames:
        ours = detector.detect([frame])[0]
        theirs = yolo.predict(frame, imgsz=640, conf=0.005, iou=0.5, verbose=False)[0].boxes
        order = np.argsort(-theirs.conf.numpy(), kind="stable")
        assert len(ours) == len(order)
        np.testing.assert_allclose([d.score for d in ours], theirs.conf.numpy()[order], atol=1e-4)
        np.testing.assert_allclose(
            np.reshape([d.box for d in ours], (-1, 4)), theirs.xyxyn.numpy()[order], atol=1e-4
        )
        assert [d.label for d in ours] == [yolo.names[int(c)] for c in theirs.cls.numpy()[order]]
        compared += len(ours)
    assert compared > 0


def test_detector_validates_its_configuration(synthetic_model):
    model = open_session(SessionOptions(synthetic_model, "cpu", 1))
    with pytest.raises(ValueError, match="stride"):
        Detector(model, params(imgsz=100))
    with pytest.raises(ValueError):
        params(score_threshold=0)
    with pytest.raises(ValueError):
        params(batch_size=0)


@pytest.fixture()
def synthetic_detector(synthetic_model) -> Detector:
    model = open_session(SessionOptions(synthetic_model, "cpu", 1))
    return Detector(model, params(imgsz=64, batch_size=4, batch_wait_ms=0))


def frame(value: int = 200) -> np.ndarray:
    return np.full((48, 64, 3), value, np.uint8)


def wait_until(condition, timeout=5.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def test_service_drops_and_counts_when_full(synthetic_detector):
    service = BatchingService(synthetic_detector, max_pending=2)
    try:
        with synthetic_detector._lock:  # hold the detector busy so frames pile up
            first = service.submit(frame())
            wait_until(lambda: service.pending == 0)  # the worker took it and is blocked
            queued = [service.submit(frame()) for _ in range(2)]
            dropped = [service.submit(frame()) for _ in range(3)]
            assert service.dropped == 3 and service.pending == 2
            for future in dropped:
                assert isinstance(future.exception(timeout=0), FrameDropped)
        for future in [first, *queued]:
            assert isinstance(future.result(timeout=5), list)
        assert service.processed == 3
    finally:
        service.close()


def test_service_batches_frames_from_many_threads(synthetic_model):
    detector = Detector(
        open_session(SessionOptions(synthetic_model, "cpu", 1)), params(imgsz=64, batch_size=4, batch_wait_ms=300)
    )
    with BatchingService(detector, max_pending=16) as service:
        with detector._lock:
            with ThreadPoolExecutor(4) as pool:
                futures = list(pool.map(lambda v: service.submit(frame(v)), [50, 100, 150, 200]))
        results = [f.result(timeout=5) for f in futures]
        assert service.batches == 1 and service.processed == 4
        # Each frame got its own result: brighter frames give higher synthetic scores.
        assert [r[0].score for r in results] == sorted(r[0].score for r in results)
        assert results == [detector.detect([frame(v)])[0] for v in [50, 100, 150, 200]]


def test_lone_frame_waits_at_most_batch_wait(synthetic_model):
    detector = Detector(
        open_session(SessionOptions(synthetic_model, "cpu", 1)), params(imgsz=64, batch_size=8, batch_wait_ms=30)
    )
    with BatchingService(detector, max_pending=4) as service:
        start = time.monotonic()
        service.submit(frame()).result(timeout=5)
        assert time.monotonic() - start < 2
        assert service.batches == 1


def test_service_rejects_bad_frames_and_closes_cleanly(synthetic_detector):
    service = BatchingService(synthetic_detector, max_pending=8)
    with pytest.raises(ValueError):
        service.submit(np.zeros((4, 4), np.float32))
    with synthetic_detector._lock:
        running = service.submit(frame())
        wait_until(lambda: service.pending == 0)
        waiting = service.submit(frame())
        closer = threading.Thread(target=service.close)
        closer.start()
    closer.join(5)
    assert isinstance(running.result(timeout=5), list)  # the batch in progress completes
    assert isinstance(waiting.exception(timeout=5), FrameDropped)  # the queued one is dropped, counted
    assert isinstance(service.submit(frame()).exception(timeout=0), FrameDropped)
    assert service.dropped == 2
