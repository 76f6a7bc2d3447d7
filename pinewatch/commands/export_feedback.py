"""`pinewatch export-feedback --out DIR`: confirmed and dismissed alerts' frames as a YOLO dataset."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export-feedback",
        help="write operators' verdicts as a YOLO dataset (confirmed frames with boxes, dismissed frames as negatives)",
        description=(
            "Copy the frames of confirmed (and marked-out) alerts with their boxes as YOLO labels, and the frames "
            "of dismissed alerts as negatives (empty label files), into DIR/images and DIR/labels, with "
            "DIR/manifest.csv and DIR/manifest.json saying where each frame came from (alert, camera, time, "
            "verdict, reason). 'Other smoke' alerts are left out. Add it to training with "
            "`pinewatch train --feedback DIR`."
        ),
    )
    parser.add_argument("--config", "-c", help="YAML configuration file (its alerting.database_url and streams.evidence_dir)")
    parser.add_argument("--out", type=Path, required=True, help="an empty folder, or an earlier export to replace")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from alerting.service import open_store
    from alerting.store.db import session_factory
    from detector.training.dataset import CLASSES
    from pinewatch.core.config import ConfigError, load_settings
    from pinewatch.feedback import FeedbackError, export_feedback

    settings = load_settings(args.config)
    url = settings.alerting.database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise ConfigError(f"alerting.database_url: no database at {url.removeprefix('sqlite:///')} (set it in the config file or PINEWATCH_ALERTING__DATABASE_URL)")
    evidence_dir = Path(settings.streams.evidence_dir)
    if not evidence_dir.is_dir():
        raise ConfigError(f"streams.evidence_dir: no folder at {evidence_dir} (set it in the config file or PINEWATCH_STREAMS__EVIDENCE_DIR)")
    engine = open_store(settings)
    try:
        report = export_feedback(session_factory(engine), evidence_dir, args.out, CLASSES)
    except FeedbackError as exc:
        print(f"pinewatch export-feedback: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(
        f"{args.out}: {report.positives} confirmed frames, {report.negatives} negatives from {report.alerts} alerts"
        f" ({report.missing_files} frames without their file, {report.conflicting} shown by a confirmed alert too)"
    )
    return 0
