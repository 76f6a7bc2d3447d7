"""Synthetic early smoke: real smoke crops, shrunk to the size of a fresh plume, blended onto smoke-free frames.

Few real boxes are under 32 px (84 of AFM's 744), but a plume in its first
minutes is 8-40 px wide at 640 px. Shrinking real smoke crops and blending them
with a feathered mask onto real smoke-free tower frames gives the model many
small examples without inventing what smoke looks like. Pure functions; the
caller supplies the random generator so a build is reproducible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class PasteSettings:
    min_width: int = 8
    max_width: int = 40
    min_opacity: float = 0.6
    max_opacity: float = 0.95
    band: tuple[float, float] = (0.25, 0.7)  # vertical band of the frame (fractions) where plumes are placed
    min_contrast: float = 12.0  # mean grey-level change over the box below which a paste is refused


def feathered_mask(height: int, width: int) -> np.ndarray:
    """An ellipse that fades to 0 at the patch border, float32 in [0, 1]."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    dy = (yy + 0.5 - height / 2) / (height / 2)
    dx = (xx + 0.5 - width / 2) / (width / 2)
    radius = np.sqrt(dx * dx + dy * dy)
    return np.clip((1.0 - radius) / 0.5, 0.0, 1.0).astype(np.float32)


def smoke_alpha(smoke: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(alpha in [0, 1], BGR colour) of the plume in a crop: where it differs from the crop's border (its background).

    Smoke can be brighter (haze over a ridge) or darker (a dark column against the sky)
    than what is behind it, so the absolute difference in luminance gives its shape and
    the pixels that differ most give its colour.
    """
    grey = cv2.cvtColor(smoke, cv2.COLOR_BGR2GRAY).astype(np.float32)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    diff = np.abs(grey - float(np.median(border)))
    peak = float(diff.max())
    if peak < 1.0:
        return np.zeros_like(grey), smoke.reshape(-1, 3).mean(axis=0)
    shape = diff / peak
    colour = smoke[shape >= np.quantile(shape, 0.8)].reshape(-1, 3).mean(axis=0)
    return shape, colour


def paste_smoke(
    background: np.ndarray, smoke: np.ndarray, width: int, x: int, y: int, opacity: float
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Blend the plume of `smoke` (a BGR crop of a real plume), resized to `width` px, with its top-left near (x, y).

    Returns the new frame and the pixel box (x1, y1, x2, y2) where the pasted plume is visible.
    """
    h0, w0 = smoke.shape[:2]
    height = max(6, round(width * h0 / w0))
    patch = cv2.resize(smoke, (width, height), interpolation=cv2.INTER_AREA)
    shape, colour = smoke_alpha(patch)
    H, W = background.shape[:2]
    x = int(np.clip(x, 0, W - width))
    y = int(np.clip(y, 0, H - height))
    alpha = (np.sqrt(shape) * feathered_mask(height, width) * opacity)[..., None]
    out = background.copy()
    region = out[y : y + height, x : x + width].astype(np.float32)
    out[y : y + height, x : x + width] = np.clip(alpha * colour + (1 - alpha) * region, 0, 255).astype(np.uint8)
    visible = np.argwhere(alpha[..., 0] >= 0.15 * max(float(alpha.max()), 1e-6))
    if len(visible) == 0:
        return out, (x, y, x + width, y + height)
    (r1, c1), (r2, c2) = visible.min(axis=0), visible.max(axis=0)
    return out, (x + int(c1), y + int(r1), x + int(c2) + 1, y + int(r1 if r2 < r1 else r2) + 1)


def random_paste(
    background: np.ndarray, smoke: np.ndarray, rng: random.Random, settings: PasteSettings = PasteSettings()
) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """Paste at a random place and size; (frame, box), or None when the plume would hardly show.

    A plume that changes the frame by under `min_contrast` grey levels on average
    over its box would teach the model to box empty sky.
    """
    H, W = background.shape[:2]
    width = rng.randint(settings.min_width, settings.max_width)
    x = rng.randint(int(0.08 * W), int(0.92 * W) - width)
    y = rng.randint(int(settings.band[0] * H), int(settings.band[1] * H))
    out, box = paste_smoke(background, smoke, width, x, y, rng.uniform(settings.min_opacity, settings.max_opacity))
    x1, y1, x2, y2 = box
    change = np.abs(out[y1:y2, x1:x2].astype(np.float32) - background[y1:y2, x1:x2].astype(np.float32)).mean()
    return (out, box) if change >= settings.min_contrast else None
