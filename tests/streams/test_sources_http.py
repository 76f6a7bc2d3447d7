"""HTTP snapshot source against a real HTTP server: good, bad, flaky, silent and drip-feeding cameras."""

from __future__ import annotations

import time
from datetime import timezone

import pytest

from streams.sources.base import BadData, SourceUnavailable
from streams.sources.http_snapshot import HttpSnapshotSource


def source(url: str, retries: int = 0, timeout_s: float = 0.5) -> HttpSnapshotSource:
    return HttpSnapshotSource("cam", url, open_timeout_s=timeout_s, read_timeout_s=timeout_s,
                              retries=retries, backoff_min_s=0.05, backoff_max_s=0.1)


def test_reads_a_fresh_decoded_frame_each_time(http_cameras):
    camera = source(http_cameras.url("changing-a"))
    first, second = camera.read(), camera.read()
    camera.close()
    assert first.image.shape == (240, 320, 3) and first.image.dtype.name == "uint8"
    assert first.captured_at.tzinfo == timezone.utc and second.captured_at > first.captured_at
    assert (first.image != second.image).any()
    assert http_cameras.count("changing-a") == 2


def test_garbage_is_bad_data_and_not_retried(http_cameras):
    camera = source(http_cameras.url("garbage-a"), retries=3)
    with pytest.raises(BadData, match="undecodable"):
        camera.read()
    assert http_cameras.count("garbage-a") == 1


def test_404_is_bad_data_and_not_retried(http_cameras):
    camera = source(http_cameras.url("missing-a"), retries=3)
    with pytest.raises(BadData, match="HTTP 404"):
        camera.read()
    assert http_cameras.count("missing-a") == 1


def test_503_is_retried_until_the_camera_answers(http_cameras):
    http_cameras.flaky_failures = 2
    camera = source(http_cameras.url("flaky-a"), retries=2)
    assert camera.read().image.shape == (240, 320, 3)
    assert http_cameras.count("flaky-a") == 3


def test_retries_are_bounded(http_cameras):
    http_cameras.flaky_failures = 10
    camera = source(http_cameras.url("flaky-b"), retries=1)
    with pytest.raises(SourceUnavailable, match="HTTP 503.*2 attempts"):
        camera.read()
    assert http_cameras.count("flaky-b") == 2


def test_a_camera_that_never_answers_times_out(black_hole):
    camera = source(f"http://127.0.0.1:{black_hole}/snap.jpg", retries=1, timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match="timed out"):
        camera.read()
    assert time.monotonic() - started <= camera.max_read_s + 0.5


def test_a_drip_feeding_camera_is_cut_off_at_the_deadline(http_cameras):
    # A byte every 0.1 s never trips a per-read timeout of 0.5 s: only the total deadline ends it.
    camera = source(http_cameras.url("drip-a"), timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match="longer than"):
        camera.read()
    assert 0.9 <= time.monotonic() - started <= 2.0


def test_refused_connection_is_unavailable(closed_port):
    camera = source(f"http://127.0.0.1:{closed_port}/snap.jpg")
    with pytest.raises(SourceUnavailable, match="ConnectError"):
        camera.read()


def test_credentials_never_appear_in_errors(closed_port):
    camera = source(f"http://admin:s3cret@127.0.0.1:{closed_port}/snap.jpg")
    with pytest.raises(SourceUnavailable) as caught:
        camera.read()
    assert "s3cret" not in str(caught.value) and "***@" in str(caught.value)
