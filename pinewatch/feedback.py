"""Operators' verdicts as a YOLO dataset for the next model (`pinewatch export-feedback`).

A frame of an alert an operator confirmed (still active, or since marked out) is a positive: its
image with its stored box as a YOLO label. A frame of a dismissed alert is a negative: its image
with an empty label file; these are the model's own false alarms (cloud, haze, dust, glare...),
the hardest negatives there are. "Other smoke" alerts are left out: the smoke was real, and
calling it nothing would teach the model to miss a wildfire that starts like a field burn.

    DIR/images/alert<id>_frame<id>.jpg    copies, so the dataset outlives evidence retention
    DIR/labels/alert<id>_frame<id>.txt    "class cx cy w h" (normalised), empty for a negative
    DIR/manifest.csv, DIR/manifest.json   where each frame came from: alert, camera, time, verdict, reason

Only the best box of each frame is stored with an alert, so a confirmed frame with a second
plume has one box. `pinewatch train --feedback DIR` adds the dataset, each alert in one split
(detector/training/dataset.py).
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from alerting.api.files import safe_file
from alerting.store.models import Alert, AlertFrame, Verdict

FORMAT = "pinewatch-feedback/1"
MARKER = ".pinewatch-feedback"  # marks a folder as an export, so a rerun may replace it
POSITIVE_STATUSES = ("confirmed", "out")  # out: a confirmed fire, later marked out
NEGATIVE_STATUSES = ("dismissed",)
MANIFEST_COLUMNS = [
    "image", "label", "alert_id", "frame_id", "event_id", "camera_id", "camera_name", "captured_at",
    "verdict", "reason", "verdict_by", "verdict_at", "alert_status", "boxes", "frame_width", "frame_height",
    "model", "evidence_path",
]  # fmt: skip
_BATCH = 200


class FeedbackError(ValueError):
    """The output folder cannot take the export; the text says why."""


@dataclass
class ExportReport:
    alerts: int = 0  # alerts with at least one frame exported
    positives: int = 0
    negatives: int = 0
    missing_files: int = 0  # evidence deleted (retention) or never written
    conflicting: int = 0  # a dismissed alert's frame that a confirmed alert also shows: not a negative


def yolo_row(class_index: int, box: list[float]) -> str:
    """[x1, y1, x2, y2] normalised -> 'class cx cy w h'."""
    x1, y1, x2, y2 = box
    return f"{class_index} {(x1 + x2) / 2:.6f} {(y1 + y2) / 2:.6f} {x2 - x1:.6f} {y2 - y1:.6f}\n"


def _deciding_verdict(alert: Alert) -> Verdict | None:
    """The verdict that made it a positive (the confirmation) or a negative (the dismissal)."""
    wanted = "confirmed" if alert.status in POSITIVE_STATUSES else "dismissed"
    return next((v for v in reversed(alert.verdicts) if v.status == wanted), None)


def _prepare(out: Path) -> None:
    """An empty folder, or an earlier export (replaced); never someone else's folder."""
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise FeedbackError(f"--out {out}: the folder is not empty and holds no earlier export ({MARKER})")
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(FORMAT + "\n")
    for name in ("manifest.json", "manifest.csv"):  # written again last: an unfinished export has none
        (out / name).unlink(missing_ok=True)
    for sub in ("images", "labels"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True)


def _alerts(session: Session, after_id: int) -> list[Alert]:
    return list(
        session.scalars(
            select(Alert)
            .options(selectinload(Alert.frames), selectinload(Alert.verdicts), selectinload(Alert.camera))
            .where(Alert.status.in_(POSITIVE_STATUSES + NEGATIVE_STATUSES), Alert.id > after_id)
            .order_by(Alert.id)
            .limit(_BATCH)
        ).all()
    )


def export_feedback(factory: sessionmaker[Session], evidence_dir: Path, out: Path, classes: tuple[str, ...]) -> ExportReport:
    out = Path(out)
    _prepare(out)
    report = ExportReport()
    with factory() as session:
        positive_paths = set(
            session.scalars(
                select(AlertFrame.evidence_path).join(Alert, AlertFrame.alert_id == Alert.id).where(Alert.status.in_(POSITIVE_STATUSES))
            )
        )
    rows: list[dict] = []
    after_id = 0
    while True:
        with factory() as session:
            alerts = _alerts(session, after_id)
            if not alerts:
                break
            after_id = alerts[-1].id
            for alert in alerts:
                exported = _export_alert(alert, Path(evidence_dir), out, classes, positive_paths, report)
                report.alerts += bool(exported)
                rows += exported
    _write_manifest(out, rows, classes, report)
    return report


def _export_alert(alert: Alert, evidence_dir: Path, out: Path, classes, positive_paths: set[str], report: ExportReport) -> list[dict]:
    positive = alert.status in POSITIVE_STATUSES
    verdict = _deciding_verdict(alert)
    decided_at = verdict.at if verdict is not None else alert.status_at
    rows = []
    for frame in alert.frames:
        if not positive and frame.evidence_path in positive_paths:
            report.conflicting += 1
            continue
        source = safe_file(evidence_dir, frame.evidence_path, suffixes=(".jpg", ".jpeg")) if frame.evidence_path else None
        if source is None:
            report.missing_files += 1
            continue
        stem = f"alert{alert.id}_frame{frame.id}"
        shutil.copyfile(source, out / "images" / f"{stem}.jpg")
        label = yolo_row(classes.index(frame.label), list(frame.box)) if positive else ""
        (out / "labels" / f"{stem}.txt").write_text(label)
        if positive:
            report.positives += 1
        else:
            report.negatives += 1
        rows.append(
            {
                "image": f"images/{stem}.jpg",
                "label": f"labels/{stem}.txt",
                "alert_id": alert.id,
                "frame_id": frame.id,
                "event_id": frame.event_id,
                "camera_id": alert.camera_id,
                "camera_name": (alert.camera.name or alert.camera_id) if alert.camera is not None else alert.camera_id,
                "captured_at": frame.captured_at.isoformat(),
                "verdict": "confirmed" if positive else "dismissed",
                "reason": verdict.reason if verdict is not None and verdict.reason else "",
                "verdict_by": verdict.by if verdict is not None else alert.status_by,
                "verdict_at": decided_at.isoformat() if decided_at is not None else "",
                "alert_status": alert.status,
                "boxes": 1 if positive else 0,
                "frame_width": frame.frame_width,
                "frame_height": frame.frame_height,
                "model": frame.model,
                "evidence_path": frame.evidence_path,
            }
        )
    return rows


def _write_manifest(out: Path, rows: list[dict], classes, report: ExportReport) -> None:
    with (out / "manifest.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "classes": list(classes),
        "counts": asdict(report),
        "frames": rows,
    }
    partial = out / "manifest.json.part"
    partial.write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    partial.replace(out / "manifest.json")  # last: a folder with a manifest is a finished export
