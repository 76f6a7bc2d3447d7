"""`pinewatch export-feedback` on a real store with real evidence files, and `train --feedback`'s
dataset merge (the dataset is built; no training runs)."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from alerting.ingest import Rules, ingest_detection
from alerting.service import open_store
from alerting.store.db import session_factory
from alerting.store.repository import apply_verdict, upsert_cameras
from detector.training.dataset import BuildSettings, build, feedback_samples
from pinewatch.cli import main
from pinewatch.core.config import PROJECT_ROOT, CameraConfig, load_settings
from pinewatch.core.messages import BoxDetection, DetectionEvent

VIDEOS = PROJECT_ROOT / "sample_videos"
T0 = datetime(2026, 8, 1, 3, 0, tzinfo=timezone.utc)
RULES = Rules(timedelta(minutes=30), timedelta(minutes=30), 50_000, 0.5, ())
CAMERAS = [CameraConfig(id="tower-1", name="Tháp 1", source="rtsp://127.0.0.1:1/x"), CameraConfig(id="tower-2", name="Tháp 2", source="rtsp://127.0.0.1:1/y")]


def video_frame(name: str, index: int) -> np.ndarray:
    capture = cv2.VideoCapture(str(VIDEOS / name))
    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, image = capture.read()
    capture.release()
    assert ok, (name, index)
    return image


def publish(factory, evidence_dir: Path, camera: str, minutes: float, frame: np.ndarray, box, label="smoke") -> DetectionEvent:
    at = T0 + timedelta(minutes=minutes)
    relative = f"{camera}/{at:%Y-%m-%d}/{camera}_{at:%H%M%S}.jpg"
    (evidence_dir / relative).parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(evidence_dir / relative), frame)
    event = DetectionEvent(
        event_id=f"{camera}-{at:%H%M%S}", camera_id=camera, captured_at=at,
        detections=[BoxDetection(label=label, score=0.8, box=box)], evidence_path=relative,
        frame_width=frame.shape[1], frame_height=frame.shape[0], model="test",
    )
    ingest_detection(factory, event, RULES)
    return event


@pytest.fixture
def store(tmp_path):
    """A real SQLite store and evidence folder with confirmed, out, dismissed, other-smoke and new alerts."""
    evidence_dir = tmp_path / "evidence"
    evidence_dir.mkdir()
    config = tmp_path / "pinewatch.yaml"
    config.write_text(yaml.safe_dump({
        "alerting": {"database_url": f"sqlite:///{tmp_path / 'alerts.db'}"},
        "streams": {"evidence_dir": str(evidence_dir)},
    }))
    settings = load_settings(config)
    engine = open_store(settings)
    factory = session_factory(engine)
    upsert_cameras(factory, CAMERAS)
    box = [0.80, 0.34, 0.99, 0.56]
    confirmed = [publish(factory, evidence_dir, "tower-1", m, video_frame("smoke_hpwren_mixed.mp4", i), box) for m, i in ((0, 22), (1, 27), (2, 33))]
    dismissed = [publish(factory, evidence_dir, "tower-1", 120 + m, video_frame("nosmoke_alertwildfire_clouds.mp4", i), [0.1, 0.1, 0.3, 0.2]) for m, i in ((0, 0), (1, 10))]
    out = [publish(factory, evidence_dir, "tower-2", m, video_frame("nosmoke_hpwren_lyons_peak.mp4", i), [0.4, 0.5, 0.5, 0.6], "fire") for m, i in ((0, 5), (1, 60))]
    other = publish(factory, evidence_dir, "tower-2", 300, video_frame("nosmoke_hpwren_lyons_peak.mp4", 90), [0.6, 0.1, 0.7, 0.2])
    still_new = publish(factory, evidence_dir, "tower-2", 400, video_frame("nosmoke_hpwren_lyons_peak.mp4", 100), [0.2, 0.7, 0.3, 0.8])
    lost = publish(factory, evidence_dir, "tower-1", 600, video_frame("smoke_hpwren_mixed.mp4", 38), box)
    (evidence_dir / lost.evidence_path).unlink()  # retention, or never written
    ids = {}
    with factory() as session:
        from alerting.store.models import AlertFrame

        for event in (*confirmed, *dismissed, *out, other, still_new, lost):
            ids[event.event_id] = session.query(AlertFrame).filter_by(event_id=event.event_id).one().alert_id
    verdict = lambda event, status, **kw: apply_verdict(factory, ids[event.event_id], status, "olivia", kw.pop("note", ""), False, [], **kw)  # noqa: E731
    verdict(confirmed[0], "confirmed")
    verdict(dismissed[0], "dismissed", reason="cloud", note="low cloud")
    verdict(out[0], "confirmed")
    verdict(out[0], "out")
    verdict(other, "other_smoke")
    verdict(lost, "confirmed")
    yield {"config": config, "evidence": evidence_dir, "ids": ids, "confirmed": confirmed, "dismissed": dismissed, "out": out, "other": other, "new": still_new}
    engine.dispose()


def test_export_feedback_writes_a_yolo_dataset_with_its_manifest(store, tmp_path, capsys):
    out_dir = tmp_path / "feedback"
    assert main(["export-feedback", "--config", str(store["config"]), "--out", str(out_dir)]) == 0
    assert "5 confirmed frames, 2 negatives from 3 alerts (1 frames without their file" in capsys.readouterr().out

    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["classes"] == ["smoke", "fire"] and manifest["counts"]["missing_files"] == 1
    rows = {row["event_id"]: row for row in manifest["frames"]}
    assert set(rows) == {e.event_id for e in (*store["confirmed"], *store["dismissed"], *store["out"])}, "other smoke and open alerts stay out"
    with (out_dir / "manifest.csv").open(encoding="utf-8") as handle:
        assert {row["event_id"]: row["image"] for row in csv.DictReader(handle)} == {k: v["image"] for k, v in rows.items()}

    first = rows[store["confirmed"][0].event_id]
    assert (first["camera_id"], first["camera_name"], first["verdict"], first["verdict_by"], first["alert_status"]) == ("tower-1", "Tháp 1", "confirmed", "olivia", "confirmed")
    assert first["captured_at"] == T0.isoformat() and first["alert_id"] == store["ids"][store["confirmed"][0].event_id]
    assert (out_dir / first["label"]).read_text() == "0 0.895000 0.450000 0.190000 0.220000\n"
    assert (out_dir / first["image"]).read_bytes() == (store["evidence"] / store["confirmed"][0].evidence_path).read_bytes()
    fire = rows[store["out"][1].event_id]
    assert (fire["verdict"], fire["alert_status"]) == ("confirmed", "out")
    assert (out_dir / fire["label"]).read_text().startswith("1 "), "a fire box is class 1"
    negative = rows[store["dismissed"][1].event_id]
    assert (negative["verdict"], negative["reason"], negative["boxes"]) == ("dismissed", "cloud", 0)
    assert (out_dir / negative["label"]).read_text() == ""

    # A rerun replaces the export; a folder that is not one is refused, naming it.
    assert main(["export-feedback", "--config", str(store["config"]), "--out", str(out_dir)]) == 0
    assert len(list((out_dir / "images").iterdir())) == 7
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"x")
    assert main(["export-feedback", "--config", str(store["config"]), "--out", str(foreign)]) == 2
    assert f"--out {foreign}: the folder is not empty" in capsys.readouterr().err


def fake_shared(root: Path) -> Path:
    """The smallest ../shared the recipe reads: 3 boxed + 2 unboxed AFM frames, 2 Roboflow frames."""
    rng = np.random.default_rng(3)

    def scene(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(path), cv2.resize(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8), (640, 480)))

    afm = root / "datasets" / "afm-hpwren-smoke"
    (afm / "annotations").mkdir(parents=True)
    for i in range(3):
        scene(afm / "images" / f"boxed{i}.jpeg")
        (afm / "annotations" / f"boxed{i}.xml").write_text(
            f"<annotation><filename>boxed{i}.jpeg</filename><size><width>640</width><height>480</height></size>"
            "<object><name>smoke</name><bndbox><xmin>100</xmin><ymin>100</ymin><xmax>200</xmax><ymax>160</ymax></bndbox></object></annotation>"
        )
    for i in range(2):
        scene(afm / "images" / f"plain{i}.jpeg")
    for split in ("train", "valid"):
        scene(root / "datasets" / "roboflow-fire-smoke" / split / "images" / f"r-{split}.jpg")
        (root / "datasets" / "roboflow-fire-smoke" / split / "labels").mkdir(parents=True)
        (root / "datasets" / "roboflow-fire-smoke" / split / "labels" / f"r-{split}.txt").write_text("1 0.5 0.5 0.2 0.2\n")
    return root


def test_train_feedback_adds_each_alert_to_one_split(store, tmp_path):
    feedback = tmp_path / "feedback"
    assert main(["export-feedback", "--config", str(store["config"]), "--out", str(feedback)]) == 0
    samples = feedback_samples(feedback, "feedback0")
    assert len(samples) == 7 and sum(1 for s in samples if not s.labels) == 2

    out = tmp_path / "yolo"
    settings = BuildSettings(shared=fake_shared(tmp_path / "shared"), out=out, val_fraction=0.5, negatives=2, reviewed=False, fesb=False, synthetic=0, feedback=(feedback,))
    report = build(settings)
    sides: dict[int, set[str]] = {}
    manifest = {Path(r["image"]).stem: r for r in json.loads((feedback / "manifest.json").read_text())["frames"]}
    for split in ("train", "val"):
        for label in (out / split / "labels").glob("feedback0__*.txt"):
            row = manifest[label.stem.split("__", 1)[1]]
            sides.setdefault(row["alert_id"], set()).add(split)
            assert label.read_text() == (feedback / row["label"]).read_text()
            image = out / split / "images" / f"{label.stem}.jpg"
            assert image.resolve() == (feedback / row["image"]).resolve()
    assert len(sides) == 3, "every exported alert is in the dataset"
    assert all(len(s) == 1 for s in sides.values()), f"an alert's frames straddle the split: {sides}"
    assert {"train", "val"} == set().union(*sides.values()), "with half for val, feedback reaches both sides"
    counts = report["counts"]
    assert counts["train"].get("from_feedback", 0) + counts["val"].get("from_feedback", 0) == 7
    assert counts["train"].get("from_afm", 0) + counts["val"].get("from_afm", 0) == 3, "the public sources are still there"


def test_train_refuses_a_folder_that_is_not_an_export(tmp_path, capsys):
    (tmp_path / "nothing").mkdir()
    assert main(["train", "--dataset-only", "--shared", str(fake_shared(tmp_path / "shared")), "--data", str(tmp_path / "yolo"), "--synthetic", "0", "--feedback", str(tmp_path / "nothing")]) == 2
    assert "no manifest.json" in capsys.readouterr().out
    assert main(["train", "--resume", "--feedback", str(tmp_path / "nothing")]) == 2
    assert "cannot go with --resume" in capsys.readouterr().out
