import cv2
import numpy as np
import pytest

from detector.preprocess import (
    PAD_VALUE,
    BatchBuffers,
    batch_input_hw,
    decode_image,
    input_hw,
    jpeg_size,
    letterbox_into,
    plan_letterbox,
)


def reference_letterbox(image: np.ndarray, input_h: int, input_w: int) -> np.ndarray:
    """The straightforward way (as ultralytics does it): resize, pad with grey, flip to RGB, CHW, /255."""
    h, w = image.shape[:2]
    r = min(input_h / h, input_w / w)
    new_w, new_h = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = (input_w - new_w) / 2, (input_h - new_h) / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR) if (new_w, new_h) != (w, h) else image
    padded = cv2.copyMakeBorder(resized, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    assert padded.shape[:2] == (input_h, input_w)
    return (padded[:, :, ::-1].transpose(2, 0, 1).astype(np.float32) / 255).astype(np.float32)


def random_frame(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    "shape, imgsz, rect",
    [
        ((1080, 1920), 640, True),
        ((1080, 1920), 640, False),
        ((480, 640), 640, True),
        ((1920, 1080), 320, True),  # portrait
        ((37, 21), 64, False),  # tiny: scaled up
        ((360, 640), 640, True),  # already the right size: no resize
        ((641, 639), 96, True),  # odd sizes: odd pixel of padding
    ],
)
def test_letterbox_matches_reference(shape, imgsz, rect):
    image = random_frame(*shape)
    input_h, input_w = input_hw(shape[0], shape[1], imgsz, 32, rect)
    buffers = BatchBuffers(2)
    batch, boxes = buffers.fill([image], input_h, input_w)
    expected = reference_letterbox(image, input_h, input_w)
    assert batch.shape == (1, 3, input_h, input_w) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[0], expected, atol=1e-6, rtol=0)
    # The placement maps pixel (0, 0) and (w, h) of the frame to the resized area's corners.
    box = boxes[0]
    assert box.width == shape[1] and box.height == shape[0]
    assert 0 <= box.pad_x <= input_w - round(shape[1] * box.scale) + 1
    assert 0 <= box.pad_y <= input_h - round(shape[0] * box.scale) + 1


def test_rect_input_size_matches_ultralytics_rule():
    # Ultralytics' auto letterbox: resized size + (imgsz - resized) % stride.
    for h, w in [(720, 1280), (1080, 1920), (480, 640), (960, 1280), (853, 1280), (1000, 300)]:
        r = min(640 / h, 640 / w)
        new_h, new_w = round(h * r), round(w * r)
        assert input_hw(h, w, 640, 32, True) == (new_h + (640 - new_h) % 32, new_w + (640 - new_w) % 32)
    assert input_hw(720, 1280, 640, 32, True) == (384, 640)
    assert input_hw(720, 1280, 640, 32, False) == (640, 640)
    assert batch_input_hw([(720, 1280, 3), (1000, 300, 3)], 640, 32, True) == (640, 640)


def test_batch_of_mixed_sizes_matches_reference_per_frame():
    images = [random_frame(720, 1280, 1), random_frame(480, 640, 2), random_frame(200, 100, 3)]
    input_h, input_w = batch_input_hw([i.shape for i in images], 320, 32, True)
    batch, _ = BatchBuffers(4).fill(images, input_h, input_w)
    for image, plane in zip(images, batch):
        np.testing.assert_allclose(plane, reference_letterbox(image, input_h, input_w), atol=1e-6, rtol=0)


def test_buffers_are_reused_not_reallocated():
    buffers = BatchBuffers(2)
    first, _ = buffers.fill([random_frame(480, 640)], 480, 640)
    second, _ = buffers.fill([random_frame(720, 1280, 5), random_frame(480, 640, 6)], 480, 640)
    assert np.shares_memory(first, second)
    # A smaller frame after a bigger one leaves no stale pixels behind (padding refilled).
    third, _ = buffers.fill([random_frame(100, 640, 7)], 480, 640)
    np.testing.assert_allclose(third[0], reference_letterbox(random_frame(100, 640, 7), 480, 640), atol=1e-6)


def test_grey_and_bgra_frames_are_accepted_and_bad_ones_rejected():
    grey = random_frame(64, 64)[:, :, 0]
    out = np.empty((3, 64, 64), np.float32)
    letterbox_into(grey, out, np.empty(64 * 64 * 3, np.uint8))
    np.testing.assert_allclose(out[0], out[2])
    bgra = np.dstack([random_frame(64, 64), np.full((64, 64), 255, np.uint8)])
    letterbox_into(bgra, out, np.empty(64 * 64 * 3, np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        letterbox_into(np.zeros((64, 64, 3), np.float32), out, np.empty(64 * 64 * 3, np.uint8))
    with pytest.raises(ValueError, match="do not fit"):
        BatchBuffers(1).fill([grey, grey], 64, 64)


def test_plan_letterbox_maps_frame_corners():
    box, new_h, new_w = plan_letterbox(720, 1280, 384, 640)
    assert (new_h, new_w) == (360, 640) and box.scale == 0.5
    assert (box.pad_x, box.pad_y) == (0, 12)


def test_decode_image_full_and_reduced():
    frame = random_frame(720, 1280)
    frame = cv2.GaussianBlur(frame, (9, 9), 3)
    data = cv2.imencode(".jpg", frame)[1].tobytes()
    assert jpeg_size(data) == (720, 1280)
    assert decode_image(data).shape == (720, 1280, 3)
    assert decode_image(data, reduce_to=640).shape == (360, 640, 3)  # 2x DCT scaling still covers 640
    assert decode_image(data, reduce_to=700).shape == (720, 1280, 3)  # halving would drop below 700
    assert decode_image(data, reduce_to=160).shape == (90, 160, 3)  # 8x: long side exactly 160
    assert decode_image(data, reduce_to=161).shape == (180, 320, 3)
    png = cv2.imencode(".png", frame)[1].tobytes()
    assert jpeg_size(png) is None and decode_image(png, reduce_to=320).shape == (720, 1280, 3)
    with pytest.raises(ValueError, match="cannot decode"):
        decode_image(b"\xff\xd8 not really a jpeg")


def test_imgsz_caps_the_long_side_and_enlarges_only_to_the_trained_size():
    # A 640x480 tower frame at a 1280 cap runs at its native size; a 1280x960 frame at 1280.
    assert input_hw(480, 640, 1280, 32, True, trained=640) == (480, 640)
    assert input_hw(960, 1280, 1280, 32, True, trained=640) == (960, 1280)
    assert input_hw(1536, 2048, 1280, 32, True, trained=640) == (960, 1280)
    assert input_hw(100, 150, 1280, 32, True, trained=640) == (448, 640)  # small images: as in training
    assert input_hw(100, 150, 640, 32, True) == (128, 160)  # no trained size: never enlarged
