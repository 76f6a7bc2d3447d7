"""Letterbox + BGR->RGB + HWC->CHW + /255, written straight into a preallocated batch tensor.

Two passes over the pixels and no temporary frame-sized arrays:
1. cv2.resize into a reused uint8 scratch buffer (skipped when the frame is already the right size);
2. one strided numpy multiply per channel that reads BGR and writes the RGB float plane in place.
Only the padding strips are filled; the padded pixels are never converted.
The placement (size, rounding, grey 114 padding) matches ultralytics' LetterBox so that
boxes agree with the model's training and validation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 114  # ultralytics' letterbox grey
_INV_255 = np.float32(1 / 255)
_PAD_FLOAT = np.float32(PAD_VALUE / 255)


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How one frame sits on the model input: input_xy = original_xy * scale + (pad_x, pad_y)."""

    scale: float
    pad_x: int
    pad_y: int
    width: int  # original frame size in pixels
    height: int


def resized_size(height: int, width: int, imgsz: int) -> tuple[int, int]:
    """(new_height, new_width) of the frame scaled to fit in imgsz x imgsz, aspect kept."""
    ratio = min(imgsz / height, imgsz / width)
    return max(round(height * ratio), 1), max(round(width * ratio), 1)


def input_hw(height: int, width: int, imgsz: int, stride: int, rect: bool, trained: int = 0) -> tuple[int, int]:
    """Model input size for one frame: imgsz square, or (rect) the smallest stride multiple that holds it.

    The rectangle is what ultralytics feeds a dynamic-shape model: a 16:9 frame at 640 runs at
    640x384, 40% less compute than 640x640, with the same boxes. With a dynamic-shape model
    imgsz caps the long side: a frame is enlarged to at most `trained` (the size the model was
    trained at, which is how training saw small images), never beyond. Enlarging a 640-px tower
    frame to 1280 adds no detail, costs 4x the compute and, measured on the smoke-free clips,
    raised false alerts on haze (models/MODEL_CARD.md, "Input size").
    """
    if not rect:
        return imgsz, imgsz
    new_h, new_w = resized_size(height, width, min(imgsz, max(height, width, trained)))
    return math.ceil(new_h / stride) * stride, math.ceil(new_w / stride) * stride


def batch_input_hw(shapes: list[tuple[int, ...]], imgsz: int, stride: int, rect: bool, trained: int = 0) -> tuple[int, int]:
    """One input size for a batch of frames: the smallest that holds each frame's own."""
    sizes = [input_hw(shape[0], shape[1], imgsz, stride, rect, trained) for shape in shapes]
    return max(h for h, _ in sizes), max(w for _, w in sizes)


def plan_letterbox(height: int, width: int, input_h: int, input_w: int) -> tuple[Letterbox, int, int]:
    """Where the frame goes on an input_h x input_w canvas; also returns the resized (height, width)."""
    ratio = min(input_h / height, input_w / width)
    new_h, new_w = max(round(height * ratio), 1), max(round(width * ratio), 1)
    # Same rounding as ultralytics: the odd pixel of padding goes bottom/right.
    pad_y, pad_x = round((input_h - new_h) / 2 - 0.1), round((input_w - new_w) / 2 - 0.1)
    return Letterbox(scale=ratio, pad_x=pad_x, pad_y=pad_y, width=width, height=height), new_h, new_w


def as_bgr(image: np.ndarray) -> np.ndarray:
    """Accept HxWx3 BGR uint8 as is; convert grey or BGRA; reject anything else clearly."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 numpy image, got {type(image).__name__} {getattr(image, 'dtype', '')}")
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    raise ValueError(f"expected an HxWx3 BGR image, got shape {image.shape}")


def letterbox_into(image: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> Letterbox:
    """Letterbox one BGR uint8 frame into `out`, a float32 (3, H, W) view of the batch tensor.

    `scratch` is a flat uint8 buffer of at least H * W * 3 bytes, reused across calls.
    """
    image = as_bgr(image)
    height, width = image.shape[:2]
    input_h, input_w = out.shape[1], out.shape[2]
    box, new_h, new_w = plan_letterbox(height, width, input_h, input_w)

    if (new_h, new_w) == (height, width):
        resized = image
    else:
        resized = scratch[: new_h * new_w * 3].reshape(new_h, new_w, 3)
        cv2.resize(image, (new_w, new_h), dst=resized, interpolation=cv2.INTER_LINEAR)

    top, left = box.pad_y, box.pad_x
    bottom, right = top + new_h, left + new_w
    for channel in range(3):  # RGB plane c reads BGR channel 2 - c
        np.multiply(resized[:, :, 2 - channel], _INV_255, out=out[channel, top:bottom, left:right])
    if top:
        out[:, :top, :] = _PAD_FLOAT
    if bottom < input_h:
        out[:, bottom:, :] = _PAD_FLOAT
    if left:
        out[:, top:bottom, :left] = _PAD_FLOAT
    if right < input_w:
        out[:, top:bottom, right:] = _PAD_FLOAT
    return box


class BatchBuffers:
    """Preallocated model-input tensors, one per input size seen, each holding `capacity` frames.

    A fleet of cameras has few distinct frame shapes, so few buffers ever exist.
    """

    def __init__(self, capacity: int, dtype: np.dtype = np.dtype(np.float32)) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self.dtype = np.dtype(dtype)
        self._tensors: dict[tuple[int, int], np.ndarray] = {}
        self._scratch = np.empty(0, dtype=np.uint8)

    def tensor(self, input_h: int, input_w: int) -> np.ndarray:
        key = (input_h, input_w)
        if key not in self._tensors:
            self._tensors[key] = np.empty((self.capacity, 3, input_h, input_w), dtype=np.float32)
        return self._tensors[key]

    def scratch(self, size: int) -> np.ndarray:
        if self._scratch.size < size:
            self._scratch = np.empty(size, dtype=np.uint8)
        return self._scratch

    def fill(self, images: list[np.ndarray], input_h: int, input_w: int) -> tuple[np.ndarray, list[Letterbox]]:
        """Letterbox `images` into the reused tensor; returns the (len(images), 3, H, W) view and placements."""
        if len(images) > self.capacity:
            raise ValueError(f"{len(images)} frames do not fit a batch of {self.capacity}")
        tensor = self.tensor(input_h, input_w)
        scratch = self.scratch(input_h * input_w * 3)
        boxes = [letterbox_into(image, tensor[i], scratch) for i, image in enumerate(images)]
        batch = tensor[: len(images)]
        if self.dtype != np.float32:  # fp16 models: one cast of the finished batch
            batch = batch.astype(self.dtype)
        return batch, boxes


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(height, width) from a JPEG's start-of-frame header, or None when it is not a readable JPEG."""
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 9 < len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # SOFn, not DHT/JPG/DAC
            return int.from_bytes(data[pos + 5 : pos + 7], "big"), int.from_bytes(data[pos + 7 : pos + 9], "big")
        pos += 2 + length
    return None


_REDUCED_FLAGS = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))


def decode_image(data: bytes, reduce_to: int | None = None) -> np.ndarray:
    """Decode a JPEG/PNG to BGR; with `reduce_to`, let libjpeg downscale a JPEG by 2, 4 or 8
    as long as its long side stays >= reduce_to.

    JPEG's DCT scaling is ~3x cheaper than a full decode (measured: 1080p 11.4 ms -> 4.2 ms) and the
    detector shrinks the frame to imgsz anyway.
    """
    flag = cv2.IMREAD_COLOR
    if reduce_to is not None and (size := jpeg_size(data)) is not None:
        long_side = max(size)
        flag = next((f for factor, f in _REDUCED_FLAGS if long_side // factor >= reduce_to), cv2.IMREAD_COLOR)
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flag)
    if image is None:
        raise ValueError("cannot decode image data (corrupt or not an image)")
    return image
