"""Export a trained checkpoint to ONNX (fp32, dynamic batch) and an int8 QDQ variant.

Needs the `train` extra (ultralytics, onnx). The int8 model is calibrated on
real frames: random calibration data wrecks boxes and scores.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_onnx(checkpoint: Path, target: Path, imgsz: int = 640, opset: int = 17) -> Path:
    """Write an fp32 ONNX with a dynamic batch axis; class names stay in its metadata."""
    from ultralytics import YOLO

    exported = Path(
        YOLO(str(checkpoint)).export(format="onnx", imgsz=imgsz, opset=opset, dynamic=True, simplify=True, batch=1)
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(exported), target)
    return target


def write_checksums(models_dir: Path) -> Path:
    lines = [f"{sha256_of(p)}  {p.name}\n" for p in sorted(models_dir.glob("*.onnx"))]
    out = models_dir / "SHA256SUMS"
    out.write_text("".join(lines))
    return out
