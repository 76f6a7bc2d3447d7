"""RTSP source against a real RTSP server (gst-rtsp-server): reads, drops, restarts, silence."""

from __future__ import annotations

import time

import pytest

from streams.sources.base import SourceUnavailable
from streams.sources.rtsp import RtspSource

pytestmark = pytest.mark.slow


def rtsp(url: str, keep_alive: bool, timeout_s: float = 2.0) -> RtspSource:
    return RtspSource("cam", url, open_timeout_s=timeout_s, read_timeout_s=timeout_s, keep_alive=keep_alive)


def test_on_demand_connects_reads_one_keyframe_and_disconnects(rtsp_server):
    camera = rtsp(rtsp_server.url, keep_alive=False)
    frames = [camera.read() for _ in range(2)]
    assert all(f.image.shape == (240, 320, 3) for f in frames)
    assert frames[1].captured_at > frames[0].captured_at
    assert camera._reader is None  # nothing left running between samples


def test_keep_alive_gives_fresh_frames_then_recovers_after_the_server_dies(rtsp_server):
    camera = rtsp(rtsp_server.url, keep_alive=True, timeout_s=1.5)
    first = camera.read()
    time.sleep(1.1)
    second = camera.read()
    assert first.image.shape == second.image.shape == (240, 320, 3)
    assert (first.image != second.image).any()  # testsrc2 moves: a later keyframe differs

    rtsp_server.stop()  # the camera loses power mid-stream
    started = time.monotonic()
    with pytest.raises(SourceUnavailable):
        camera.read()
    assert time.monotonic() - started < camera.max_read_s + 1

    rtsp_server.start()  # same port, back again
    assert camera.read().image.shape == (240, 320, 3)
    camera.close()


def test_a_server_that_never_answers_times_out(black_hole):
    for keep_alive in (False, True):
        camera = rtsp(f"rtsp://127.0.0.1:{black_hole}/cam", keep_alive=keep_alive, timeout_s=0.5)
        started = time.monotonic()
        with pytest.raises(SourceUnavailable):
            camera.read()
        assert time.monotonic() - started < camera.max_read_s + 1
        camera.close()


def test_refused_and_wrong_path_are_unavailable(closed_port, rtsp_server):
    with pytest.raises(SourceUnavailable, match="Connection refused"):
        rtsp(f"rtsp://127.0.0.1:{closed_port}/cam", keep_alive=False).read()
    with pytest.raises(SourceUnavailable):
        rtsp(rtsp_server.url.replace("/cam", "/nothing-here"), keep_alive=False).read()
