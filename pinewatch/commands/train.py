"""`pinewatch train`: rebuild the dataset from ../shared and fine-tune YOLO (needs the `train` extra)."""

from __future__ import annotations

import json
from pathlib import Path

from pinewatch.core.config import PROJECT_ROOT


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="build the dataset and train the detector (train extra)",
        description="Rebuild the YOLO dataset (classes smoke, fire) from the shared data, then fine-tune a "
        "COCO-derived checkpoint. A checkpoint is saved every epoch; --resume continues an interrupted run.",
    )
    parser.add_argument("--shared", type=Path, default=PROJECT_ROOT.parent / "shared", help="the shared data folder")
    parser.add_argument("--data", type=Path, default=PROJECT_ROOT / "data" / "yolo", help="where the dataset is written")
    parser.add_argument("--weights", default="yolov8n-smartrail", help="starting checkpoint: a name (see model card) or a .pt path")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--freeze", type=int, default=0, help="freeze the first N layers (10 = the backbone)")
    parser.add_argument("--lr0", type=float, default=None, help="AdamW learning rate (default: ultralytics chooses)")
    parser.add_argument("--warmup-epochs", type=float, default=3.0)
    parser.add_argument("--close-mosaic", type=int, default=2, help="last N epochs without mosaic augmentation")
    parser.add_argument("--patience", type=int, default=100, help="stop after N epochs without a better val fitness")
    parser.add_argument("--scale", type=float, default=0.5, help="random rescale gain; 0.9 shrinks objects down to a tenth")
    parser.add_argument("--synthetic", type=int, default=None, help="train images with pasted small smoke (default: none; 0 = none)")
    parser.add_argument(
        "--review-rounds", type=int, default=None,
        help="how many rounds of reviewed AFM frames (detector/training/afm_unboxed_review*.csv) to use; "
        "later rounds add to train only (default: all)",
    )
    parser.add_argument("--keep", action="store_true", help="only copy last/best checkpoints, args and curves of --name into models/training and stop")
    parser.add_argument("--device", default="cpu", help="cpu, or a CUDA device index such as 0")
    parser.add_argument("--threads", type=int, default=None, help="torch threads on the CPU (default: every core)")
    parser.add_argument("--project", type=Path, default=PROJECT_ROOT / "runs")
    parser.add_argument("--name", default="pinewatch")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="resume from <project>/<name>/weights/last.pt, else from models/training/<name>-last.pt (committed between sessions)",
    )
    parser.add_argument("--dataset-only", action="store_true", help="build the dataset, print its counts and stop")
    parser.add_argument(
        "--feedback", type=Path, action="append", default=[], metavar="DIR",
        help="add a `pinewatch export-feedback` folder (repeatable); each alert's frames go to one split",
    )
    parser.set_defaults(func=_run)


RECIPE_FILE = "pinewatch-recipe.json"  # in the dataset folder: the recipe it was built with


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def dataset_plan(asked: dict, resume: bool, run_recipe: dict | None, data_recipe: dict | None, data_exists: bool) -> tuple[dict, bool]:
    """The dataset recipe to train on, and whether the dataset folder must be (re)built.

    A new run builds what it was asked for. A resumed run trains on the recipe it started with
    (kept beside its checkpoint), so a fresh machine rebuilds the same data, and a folder built
    for another run (say, without the synthetic frames) is rebuilt rather than silently reused.
    """
    if not resume:
        return asked, True
    # Runs started before recipes were kept used the defaults; before review rounds, the first only.
    recipe = {"review_rounds": 1, **(run_recipe or asked)}
    data_recipe = None if data_recipe is None else {"review_rounds": 1, **data_recipe}
    return recipe, not data_exists or (data_recipe is not None and data_recipe != recipe)


def _run(args) -> int:
    from detector.training.dataset import BuildSettings, build

    from detector.training.train import TrainSettings, keep_for_next_session, train

    models_dir = PROJECT_ROOT / "models" / "training"
    if args.feedback and args.resume:
        print("pinewatch train: --feedback rebuilds the dataset, so it cannot go with --resume (a run keeps its data)")
        return 2
    if args.keep:
        settings = TrainSettings(data_yaml=args.data / "data.yaml", project=args.project, name=args.name)
        for path in keep_for_next_session(settings, models_dir):
            print(f"kept {path}")
        from detector.training.curves import plot_runs

        print(f"drew {plot_runs(models_dir, models_dir / 'curves.png')}")
        return 0
    run_recipe_file = models_dir / f"{args.name}-dataset.json"
    data_recipe_file = args.data / RECIPE_FILE
    recipe, rebuild = dataset_plan(
        {"synthetic": BuildSettings.synthetic if args.synthetic is None else args.synthetic, "review_rounds": BuildSettings.review_rounds if args.review_rounds is None else args.review_rounds}, args.resume, _read_json(run_recipe_file), _read_json(data_recipe_file),
        (args.data / "data.yaml").exists(),
    )
    if rebuild:
        try:
            report = build(BuildSettings(shared=args.shared, out=args.data, synthetic=recipe["synthetic"],
                                 review_rounds=recipe["review_rounds"], feedback=tuple(args.feedback)))
        except ValueError as exc:  # a --feedback folder that is not a finished export, an unknown review round
            print(f"pinewatch train: {exc}")
            return 2
        data_recipe_file.write_text(json.dumps(recipe))
        print(json.dumps(report, indent=2))
        if args.dataset_only:
            return 0
    if not args.resume and not args.dataset_only:
        run_recipe_file.parent.mkdir(parents=True, exist_ok=True)
        run_recipe_file.write_text(json.dumps(recipe) + "\n")  # committed with the run, so a resume rebuilds the same data
    import importlib.util

    if importlib.util.find_spec("ultralytics") is None:
        print("pinewatch train needs the train extra: make train-deps")
        return 2
    settings = TrainSettings(
        data_yaml=args.data / "data.yaml",
        weights=args.weights,
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        freeze=args.freeze,
        device=args.device,
        threads=args.threads,
        lr0=args.lr0,
        warmup_epochs=args.warmup_epochs,
        close_mosaic=args.close_mosaic,
        project=args.project,
        name=args.name,
        patience=args.patience,
        scale=args.scale,
    )
    best = train(settings, resume=args.resume, models_dir=models_dir)
    print(f"best checkpoint: {best}")
    return 0
