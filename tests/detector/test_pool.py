import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from detector.detector import Detector, DetectorParams
from detector.pool import DetectorPool, PoolError
from detector.session import SessionOptions

PARAMS = DetectorParams(imgsz=640, score_threshold=0.05, nms_iou=0.5, batch_size=2, batch_wait_ms=0)
SYNTHETIC = DetectorParams(imgsz=64, score_threshold=0.05, nms_iou=0.5, batch_size=2, batch_wait_ms=0)


def segments(pool: DetectorPool) -> list[Path]:
    return [Path("/dev/shm") / w.memory.name.lstrip("/") for w in pool._workers]


def test_pool_matches_one_session_on_real_frames(dev_model, real_frames):
    frames = real_frames + real_frames[::-1]  # 6 frames, mixed sizes: split over both workers
    single = Detector.open(SessionOptions(dev_model, "cpu", 1), PARAMS)
    expected = [single.detect([frame])[0] for frame in frames]
    assert sum(map(len, expected)) > 0  # the frames have something to compare
    with DetectorPool(SessionOptions(dev_model, "cpu", 0), PARAMS, workers=2) as pool:
        assert len(set(pool.pids)) == 2 and pool.class_names == single.class_names
        got = pool.detect(frames)
        one_by_one = [pool.detect([frame])[0] for frame in frames]
    for result in (got, one_by_one):
        assert len(result) == len(expected)
        for ours, theirs in zip(result, expected):
            assert [d.label for d in ours] == [d.label for d in theirs]
            np.testing.assert_allclose([d.score for d in ours], [d.score for d in theirs], atol=1e-5)
            np.testing.assert_allclose([d.box for d in ours], [d.box for d in theirs], atol=1e-5)


def test_killed_worker_raises_and_names_it(synthetic_model):
    pool = DetectorPool(SessionOptions(synthetic_model, "cpu", 1), SYNTHETIC, workers=2)
    try:
        frame = np.full((64, 64, 3), 100, np.uint8)
        assert len(pool.detect([frame, frame, frame])) == 3
        victim = pool.pids[1]
        os.kill(victim, signal.SIGKILL)
        started = time.monotonic()
        with pytest.raises(PoolError, match=rf"worker 1 \(pid {victim}\) killed by signal 9"):
            for _ in range(10):  # the dead one is met within a few calls (first idle worker first)
                pool.detect([frame, frame])
        assert time.monotonic() - started < 10  # noticed, not a hang
        with pytest.raises(PoolError, match="broken"):
            pool.detect([frame])
        names = segments(pool)
    finally:
        pool.close()
    assert not any(p.exists() for p in names)
    assert not any(w.process.is_alive() for w in pool._workers)


def test_no_segments_left_after_close_and_growth(synthetic_model):
    pool = DetectorPool(SessionOptions(synthetic_model, "cpu", 1), SYNTHETIC, workers=2)
    first = segments(pool)
    assert all(p.exists() for p in first)
    big = np.full((1088, 2048, 3), 50, np.uint8)  # 2 of these outgrow the initial 2 x 1080p segment
    small = np.full((64, 64, 3), 50, np.uint8)
    reference = Detector.open(SessionOptions(synthetic_model, "cpu", 1), SYNTHETIC)
    assert pool.detect([big] * 4) == reference.detect([big] * 4)
    grown = segments(pool)
    assert set(grown).isdisjoint(first) and not any(p.exists() for p in first)  # old ones unlinked
    assert pool.detect([small]) == reference.detect([small])
    processes = [w.process for w in pool._workers]
    pool.close()
    pool.close()  # idempotent
    assert not any(p.exists() for p in grown)
    assert not any(p.is_alive() for p in processes)
    with pytest.raises(PoolError, match="closed"):
        pool.detect([small])


def test_concurrent_callers_get_their_own_answers(synthetic_model):
    reference = Detector.open(SessionOptions(synthetic_model, "cpu", 1), SYNTHETIC)
    frames = [np.full((64 + 32 * (i % 3), 96, 3), 20 * i, np.uint8) for i in range(8)]
    expected = [reference.detect([f])[0] for f in frames]
    errors: list[BaseException] = []
    with DetectorPool(SessionOptions(synthetic_model, "cpu", 1), SYNTHETIC, workers=2) as pool:
        def caller(offset: int) -> None:
            try:
                for round_ in range(5):
                    chosen = frames[offset:] + frames[:offset]
                    assert pool.detect(chosen) == expected[offset:] + expected[:offset]
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=caller, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)
    assert not errors, errors


def test_a_worker_that_cannot_load_the_model_fails_the_start(tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not a model")
    ours = lambda: {n for n in os.listdir("/dev/shm") if n.startswith("psm_")}  # noqa: E731
    before = ours()
    with pytest.raises(PoolError, match="could not open the model"):
        DetectorPool(SessionOptions(bad, "cpu", 1), SYNTHETIC, workers=2)
    assert ours() - before == set()


def test_wiring_opens_a_pool_when_configured(synthetic_model):
    from pinewatch.core.config import DetectorConfig
    from streams.wiring import open_detector

    single = open_detector(DetectorConfig(imgsz=64, score_threshold=0.05), synthetic_model)
    assert isinstance(single, Detector)
    pool = open_detector(DetectorConfig(imgsz=64, score_threshold=0.05, pool_workers=2), synthetic_model)
    try:
        assert isinstance(pool, DetectorPool) and pool.workers_count == 2
        frame = np.full((64, 64, 3), 90, np.uint8)
        assert pool.detect([frame]) == single.detect([frame]) != [[]]
    finally:
        pool.close()


def test_batching_service_keeps_one_batch_per_worker_in_flight(synthetic_model):
    from detector.detector import BatchingService

    reference = Detector.open(SessionOptions(synthetic_model, "cpu", 1), SYNTHETIC)
    frames = [np.full((64, 64, 3), 10 * i, np.uint8) for i in range(12)]
    with DetectorPool(SessionOptions(synthetic_model, "cpu", 1), SYNTHETIC, workers=2) as pool:
        service = BatchingService(pool, max_pending=32)
        try:
            assert service.concurrency == 2 and len(service._workers) == 2
            futures = [service.submit(frame) for frame in frames]
            got = [future.result(timeout=60) for future in futures]
        finally:
            service.close(timeout=10)
        assert not any(t.is_alive() for t in service._workers)
    assert got == [reference.detect([frame])[0] for frame in frames]
    assert service.processed == 12 and service.dropped == 0
    # A plain Detector keeps its single serving thread.
    with BatchingService(reference, max_pending=4) as single:
        assert single.concurrency == 1
