"""Build one YOLO dataset (classes smoke, fire) from the read-only sources in ../shared.

The images are never copied: the dataset folder holds symlinks and label files,
so the recipe can be rerun from a clean checkout in seconds.

Near-duplicates (consecutive frames of one camera, frames of one drone video)
must never straddle train and val, or val measures memory instead of skill.
We group images by (a) the video a file name says it came from and (b) a 64-bit
difference hash of a small grey thumbnail, joining any two images whose hashes
differ in few bits, then assign whole groups to one side.
"""

from __future__ import annotations

import hashlib
import random
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

CLASSES = ("smoke", "fire")
_ROBOFLOW_CLASS_TO_OURS = {0: 1, 1: 0}  # roboflow: 0 fire, 1 smoke -> ours: 0 smoke, 1 fire
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


@dataclass
class Sample:
    image: Path
    labels: list[tuple[int, float, float, float, float]]  # class, cx, cy, w, h (normalised)
    source: str  # afm | afm-negative | roboflow
    video: str | None = None  # set when the file name says which video it came from
    group: int = -1
    extras: dict = field(default_factory=dict)


@dataclass
class BuildSettings:
    shared: Path
    out: Path
    val_fraction: float = 0.15
    negatives: int = 300
    max_frames_per_video: int = 120
    hash_distance: int = 6
    seed: int = 0


def voc_to_yolo(xml_path: Path) -> tuple[str, list[tuple[int, float, float, float, float]]]:
    """Parse one Pascal VOC file into (image stem, YOLO rows). Pure, testable."""
    root = ET.parse(xml_path).getroot()
    width = float(root.findtext("size/width"))
    height = float(root.findtext("size/height"))
    rows = []
    for obj in root.iter("object"):
        name = obj.findtext("name", "").strip().lower()
        if name not in CLASSES:
            continue
        box = obj.find("bndbox")
        x1, y1, x2, y2 = (float(box.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        x1, x2 = max(0.0, min(x1, x2)), min(width, max(x1, x2))
        y1, y2 = max(0.0, min(y1, y2)), min(height, max(y1, y2))
        if x2 - x1 < 1 or y2 - y1 < 1:
            continue
        rows.append(
            (
                CLASSES.index(name),
                (x1 + x2) / 2 / width,
                (y1 + y2) / 2 / height,
                (x2 - x1) / width,
                (y2 - y1) / height,
            )
        )
    stem = Path(root.findtext("filename", xml_path.stem)).stem or xml_path.stem
    return stem, rows


def roboflow_video_name(file_name: str) -> str | None:
    """'1-Zenmuse_X4S_1_1_mp4-1000_jpg.rf.<hash>.jpg' -> '1-Zenmuse_X4S_1_1_mp4'."""
    stem = file_name.split(".rf.")[0]
    match = re.match(r"(.+_(?:mp4|avi|mov))-\d+_(?:jpg|png)$", stem)
    if match:
        return match.group(1)
    match = re.match(r"(yt-[A-Za-z0-9_-]+?)-\d+_(?:jpg|png)$", stem)
    return match.group(1) if match else None


def difference_hash(image_bgr: np.ndarray) -> int:
    """64-bit dHash: robust to small changes in light and compression."""
    grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(grey, (9, 8), interpolation=cv2.INTER_AREA)
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    return int(np.packbits(bits).view(">u8")[0])


def group_near_duplicates(hashes: list[int], videos: list[str | None], max_distance: int) -> list[int]:
    """Union-find over 'same video' and 'hash within max_distance bits'. Returns a group id per item."""
    parent = list(range(len(hashes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra

    first_of_video: dict[str, int] = {}
    for i, video in enumerate(videos):
        if video is not None:
            union(first_of_video.setdefault(video, i), i)

    values = np.array(hashes, dtype=np.uint64)
    for i in range(len(values)):
        xor = np.bitwise_xor(values[i + 1 :], values[i])
        distances = np.unpackbits(xor.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)
        for j in np.nonzero(distances <= max_distance)[0]:
            union(i, i + 1 + int(j))
    return [find(i) for i in range(len(hashes))]


def split_groups(groups: list[int], val_fraction: float, seed: int) -> set[int]:
    """Pick whole groups for val until val holds about val_fraction of the items.

    Groups larger than a twentieth of the data stay in train: one giant group
    in val would make val a test of that one scene.
    """
    sizes: dict[int, int] = {}
    for g in groups:
        sizes[g] = sizes.get(g, 0) + 1
    total = len(groups)
    order = sorted(sizes, key=lambda g: hashlib.sha1(f"{seed}:{g}".encode()).hexdigest())
    val: set[int] = set()
    taken = 0
    for g in order:
        if sizes[g] > total / 20:
            continue
        if taken + sizes[g] > val_fraction * total:
            continue
        val.add(g)
        taken += sizes[g]
    return val


def collect_samples(settings: BuildSettings) -> list[Sample]:
    rng = random.Random(settings.seed)
    afm = settings.shared / "datasets" / "afm-hpwren-smoke"
    samples: list[Sample] = []
    boxed: set[str] = set()
    for xml_path in sorted((afm / "annotations").glob("*.xml")):
        stem, rows = voc_to_yolo(xml_path)
        image = next((afm / "images" / f"{stem}{s}" for s in (".jpeg", ".jpg", ".png") if (afm / "images" / f"{stem}{s}").exists()), None)
        if image is None or not rows:
            continue
        boxed.add(stem)
        samples.append(Sample(image, rows, "afm"))

    unboxed = sorted(p for p in (afm / "images").iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES and p.stem not in boxed)
    for image in rng.sample(unboxed, min(settings.negatives, len(unboxed))):
        samples.append(Sample(image, [], "afm-negative"))

    roboflow = settings.shared / "datasets" / "roboflow-fire-smoke"
    per_video: dict[str, list[Sample]] = {}
    for split in ("train", "valid"):
        for image in sorted((roboflow / split / "images").iterdir()):
            if image.suffix.lower() not in _IMAGE_SUFFIXES:
                continue
            label_file = roboflow / split / "labels" / f"{image.stem}.txt"
            rows = []
            if label_file.exists():
                for line in label_file.read_text().splitlines():
                    parts = line.split()
                    if len(parts) != 5:
                        continue
                    cls = _ROBOFLOW_CLASS_TO_OURS.get(int(parts[0]))
                    if cls is None:
                        continue
                    rows.append((cls, *map(float, parts[1:])))
            video = roboflow_video_name(image.name)
            sample = Sample(image, rows, "roboflow", video)
            if video:
                per_video.setdefault(video, []).append(sample)
            else:
                samples.append(sample)
    # One drone video holds two thirds of the Roboflow set; keep an even subsample.
    for video, frames in per_video.items():
        frames.sort(key=lambda s: s.image.name)
        step = max(1, len(frames) // settings.max_frames_per_video)
        samples.extend(frames[::step][: settings.max_frames_per_video])
    return samples


def build(settings: BuildSettings) -> dict:
    samples = collect_samples(settings)
    hashes = []
    for sample in samples:
        image = cv2.imread(str(sample.image))
        if image is None:
            raise ValueError(f"unreadable image: {sample.image}")
        hashes.append(difference_hash(image))
    groups = group_near_duplicates(hashes, [s.video for s in samples], settings.hash_distance)
    val_groups = split_groups(groups, settings.val_fraction, settings.seed)

    counts: dict[str, dict[str, int]] = {}
    for split in ("train", "val"):
        for sub in ("images", "labels"):
            target = settings.out / split / sub
            target.mkdir(parents=True, exist_ok=True)
            for old in target.iterdir():
                old.unlink()
    for sample, group in zip(samples, groups):
        split = "val" if group in val_groups else "train"
        name = f"{sample.source}__{sample.image.stem}"
        link = settings.out / split / "images" / f"{name}{sample.image.suffix.lower()}"
        link.symlink_to(sample.image.resolve())
        label_text = "".join(f"{c} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n" for c, cx, cy, w, h in sample.labels)
        (settings.out / split / "labels" / f"{name}.txt").write_text(label_text)
        bucket = counts.setdefault(split, {"images": 0, "smoke_boxes": 0, "fire_boxes": 0, "negatives": 0})
        bucket["images"] += 1
        bucket["smoke_boxes"] += sum(1 for r in sample.labels if r[0] == 0)
        bucket["fire_boxes"] += sum(1 for r in sample.labels if r[0] == 1)
        bucket["negatives"] += 0 if sample.labels else 1
        bucket[f"from_{sample.source}"] = bucket.get(f"from_{sample.source}", 0) + 1

    data_yaml = settings.out / "data.yaml"
    data_yaml.write_text(
        f"path: {settings.out.resolve()}\ntrain: train/images\nval: val/images\n"
        + "names:\n"
        + "".join(f"  {i}: {n}\n" for i, n in enumerate(CLASSES))
    )
    return {"data_yaml": str(data_yaml), "groups": len(set(groups)), "val_groups": len(val_groups), "counts": counts}
