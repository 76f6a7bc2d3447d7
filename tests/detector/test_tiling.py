import numpy as np
import pytest

from detector.tiling import Tile, axis_starts, merge_detections, plan_tiles, to_frame
from detector.types import Detection


def test_tiles_cover_the_frame_with_overlap():
    tiles = plan_tiles(3840, 2160, 1280, 0.2)
    covered = np.zeros((2160, 3840), bool)
    for t in tiles:
        assert t.x1 - t.x0 == 1280 and t.y1 - t.y0 == 1280
        covered[t.y0 : t.y1, t.x0 : t.x1] = True
    assert covered.all()
    xs = sorted({t.x0 for t in tiles})
    assert all(b - a <= 1280 * 0.8 for a, b in zip(xs, xs[1:]))  # neighbours share >= 20%
    assert len(tiles) == len(xs) * len({t.y0 for t in tiles}) == 4 * 2


def test_small_frame_is_one_tile():
    assert plan_tiles(640, 480, 1280, 0.2) == [Tile(0, 0, 640, 480)]
    assert axis_starts(1000, 1000, 0.5) == [0]
    with pytest.raises(ValueError):
        plan_tiles(100, 100, 50, 1.0)


def test_to_frame_maps_tile_boxes():
    tile = Tile(1000, 500, 2000, 1500)
    d = to_frame(Detection("smoke", 0.5, (0.0, 0.0, 0.5, 1.0)), tile, 4000, 2000)
    assert d.box == pytest.approx((0.25, 0.25, 0.375, 0.75))


def test_merge_suppresses_duplicates_per_class():
    a = Detection("smoke", 0.9, (0.1, 0.1, 0.3, 0.3))
    a_dup = Detection("smoke", 0.7, (0.11, 0.1, 0.3, 0.31))
    fire_same_place = Detection("fire", 0.6, (0.1, 0.1, 0.3, 0.3))
    far = Detection("smoke", 0.5, (0.6, 0.6, 0.7, 0.7))
    assert merge_detections([a_dup, far, a, fire_same_place], 0.5) == [a, fire_same_place, far]
    assert merge_detections([], 0.5) == []


def test_detect_frames_without_tiling_is_plain_detect(dev_model, real_frames):
    from detector.detector import Detector, DetectorParams
    from detector.session import SessionOptions
    from detector.tiling import detect_frames

    detector = Detector.open(SessionOptions(dev_model, "cpu", 1), DetectorParams(640, 0.005, 0.5, 4, 0))
    frame = real_frames[2]  # 1280x960: at most 2 x 640, so tiling changes nothing
    assert detect_frames(detector, [frame], tiling=False) == detector.detect([frame])
    assert detect_frames(detector, [frame], tiling=True) == detector.detect([frame])
