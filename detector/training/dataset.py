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
import json
import random
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from detector.training.review import LATE_REVIEW_FILES, Reviewed, read_review
from detector.training.synthetic import random_paste

CLASSES = ("smoke", "fire")
_ROBOFLOW_CLASS_TO_OURS = {0: 1, 1: 0}  # roboflow: 0 fire, 1 smoke -> ours: 0 smoke, 1 fire
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


@dataclass
class Sample:
    image: Path
    labels: list[tuple[int, float, float, float, float]]  # class, cx, cy, w, h (normalised)
    source: str  # afm | afm-negative | afm-reviewed | afm-hard-negative | roboflow | fesb
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
    reviewed: bool = True  # apply afm_unboxed_review.csv (smoke found among negatives, hard negatives)
    review_rounds: int = 1 + len(LATE_REVIEW_FILES)  # 1 = the first review only (runs 3 to 5); later rounds: train only
    fesb: bool = True
    # Train images with pasted small smoke; 0 = none. Off since the ablation (run 6 without them
    # against run 4 with 300): run 6 was higher in 10 of 12 epochs (models/MODEL_CARD.md).
    synthetic: int = 0
    crop_size: int = 640  # native-scale crops around boxes of frames larger than this
    feedback: tuple[Path, ...] = ()  # `pinewatch export-feedback` folders: operators' verdicts on our own cameras


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


def split_groups(groups: list[int], val_fraction: float, seed: int, max_group_fraction: float = 1 / 20) -> set[int]:
    """Pick whole groups for val until val holds about val_fraction of the items.

    Groups larger than max_group_fraction of the data (a twentieth) stay in train: one
    giant group in val would make val a test of that one scene.
    """
    sizes: dict[int, int] = {}
    for g in groups:
        sizes[g] = sizes.get(g, 0) + 1
    total = len(groups)
    order = sorted(sizes, key=lambda g: hashlib.sha1(f"{seed}:{g}".encode()).hexdigest())
    val: set[int] = set()
    taken = 0
    for g in order:
        if sizes[g] > total * max_group_fraction:
            continue
        if taken + sizes[g] > val_fraction * total:
            continue
        val.add(g)
        taken += sizes[g]
    return val


def afm_frames(afm: Path) -> tuple[list[Sample], list[Path]]:
    """AI For Mankind's frames: those with a smoke box (as samples), and the unboxed rest, sorted."""
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
    return samples, unboxed


def random_negatives(unboxed: list[Path], settings: BuildSettings) -> list[Path]:
    """The unboxed AFM frames the recipe takes as negatives (seeded; the first review checked them)."""
    return random.Random(settings.seed).sample(unboxed, min(settings.negatives, len(unboxed)))


def collect_samples(settings: BuildSettings) -> list[Sample]:
    samples, unboxed = afm_frames(settings.shared / "datasets" / "afm-hpwren-smoke")
    samples += [Sample(image, [], "afm-negative") for image in random_negatives(unboxed, settings)]

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


def fesb_samples(shared: Path) -> list[Sample]:
    root = shared / "datasets" / "fesb-smoke"
    samples = []
    for image in sorted((root / "images").iterdir()):
        if image.suffix.lower() not in _IMAGE_SUFFIXES:
            continue
        label_file = root / "labels" / f"{image.stem}.txt"
        rows = []
        if label_file.exists():
            for line in label_file.read_text().splitlines():
                parts = line.split()
                if len(parts) == 5 and int(parts[0]) == 0:
                    rows.append((0, *map(float, parts[1:])))
        samples.append(Sample(image, rows, "fesb", video=f"fesb:{image.stem}"))
    return samples


def _apply_verdict(sample: Sample, verdict: Reviewed) -> None:
    """A reviewed negative: smoke takes the reviewed box as its label, unsure is dropped."""
    if verdict.verdict == "smoke":
        sample.labels = [_xyxy_to_yolo(0, verdict.box)]
        sample.source = "afm-reviewed"
    elif verdict.verdict == "unsure":
        sample.extras["drop"] = True


def _reviewed_sample(images: Path, verdict: Reviewed) -> Sample:
    """A reviewed frame that was not in the data: smoke with its box, or a hard negative."""
    if verdict.verdict == "smoke":
        return Sample(images / verdict.name, [_xyxy_to_yolo(0, verdict.box)], "afm-reviewed")
    return Sample(images / verdict.name, [], "afm-hard-negative")


def apply_review(samples: list[Sample], shared: Path) -> list[Sample]:
    """Relabel run 1's negatives that show smoke, mark unsure ones to drop, and add the reviewed pool frames."""
    review = read_review()
    images = shared / "datasets" / "afm-hpwren-smoke" / "images"
    for sample in samples:
        verdict = review.get(sample.image.name)
        if sample.source == "afm-negative" and verdict is not None:
            _apply_verdict(sample, verdict)
    return [_reviewed_sample(images, v) for v in review.values() if v.origin == "pool" and v.verdict != "unsure"]


def apply_late_review(
    samples: list[Sample], sides: list[str], hashes: Sequence[int], shared: Path, review_files: Sequence[Path],
    hash_distance: int,
) -> tuple[list[Sample], list[str]]:
    """Apply review rounds after the first to the training split only, so val stays what it was.

    A reviewed frame already in the data changes only on the train side (smoke: relabelled;
    unsure: dropped). A new frame goes to train unless it is a near-duplicate of a val image,
    in which case it is left out rather than moved into val. `hashes` are the samples'
    difference hashes, as the split computed them.
    """
    merged = {name: row for path in review_files for name, row in read_review(path).items()}
    if not merged:
        return [], []
    present = {sample.image.name for sample in samples}
    for sample, side in zip(samples, sides):
        verdict = merged.get(sample.image.name)
        if verdict is not None and side == "train" and sample.source in ("afm-negative", "afm-hard-negative"):
            _apply_verdict(sample, verdict)
    val_hashes = [h for h, side in zip(hashes, sides) if side == "val"]  # hashed once, for the split
    images = shared / "datasets" / "afm-hpwren-smoke" / "images"
    added = []
    for verdict in merged.values():
        if verdict.name in present or verdict.verdict == "unsure":
            continue
        fresh = _hash(images / verdict.name)
        if any(bin(fresh ^ other).count("1") <= hash_distance for other in val_hashes):
            continue
        added.append(_reviewed_sample(images, verdict))
    return added, ["train"] * len(added)


FEEDBACK_FORMAT = "pinewatch-feedback/1"


def feedback_samples(folder: Path, tag: str = "feedback") -> list[Sample]:
    """The frames of a `pinewatch export-feedback` folder, each alert its own group (`video`).

    The labels are read from the label files (an empty one is a negative); the manifest says
    which alert each frame belongs to. `tag` keeps the names of several folders apart.
    """
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"--feedback {folder}: no manifest.json (not a finished `pinewatch export-feedback` folder)") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"--feedback {manifest_path}: not JSON: {exc}") from None
    if manifest.get("format") != FEEDBACK_FORMAT:
        raise ValueError(f"--feedback {manifest_path}: format {manifest.get('format')!r}, this build reads {FEEDBACK_FORMAT}")
    if list(manifest.get("classes", [])) != list(CLASSES):
        raise ValueError(f"--feedback {manifest_path}: classes {manifest.get('classes')} differ from {list(CLASSES)}")
    samples = []
    for row in manifest.get("frames", []):
        missing = {"image", "label", "alert_id"} - set(row)
        if missing:
            raise ValueError(f"--feedback {manifest_path}: a frame lacks {', '.join(sorted(missing))}")
        image, label_file = folder / row["image"], folder / row["label"]
        if not image.is_file() or not label_file.is_file():
            raise ValueError(f"--feedback {folder}: {row['image']} or {row['label']} is missing")
        labels = []
        for number, line in enumerate(label_file.read_text().splitlines(), 1):
            parts = line.split()
            if len(parts) != 5 or parts[0] not in {str(i) for i in range(len(CLASSES))}:
                raise ValueError(f"--feedback {label_file}:{number}: not a YOLO row 'class cx cy w h'")
            labels.append((int(parts[0]), *map(float, parts[1:])))
        sample = Sample(image, labels, "feedback", video=f"{tag}:alert{row['alert_id']}")
        sample.extras["name"] = f"{tag}__{image.stem}"
        samples.append(sample)
    return samples


def split_feedback(samples: list[Sample], settings: BuildSettings) -> list[str]:
    """'train' or 'val' per feedback frame: an alert's frames, and frames that look alike (one camera's
    view across alerts), form one group and go to one side. Split apart from the public sources: other
    cameras, other places."""
    if not samples:
        return []
    groups = group_near_duplicates([_hash(s.image) for s in samples], [s.video for s in samples], settings.hash_distance)
    # A group here is a camera's view or an alert: few and large, and each one is a fair test of the model.
    val = split_groups(groups, settings.val_fraction, settings.seed, max_group_fraction=1.0)
    return ["val" if g in val else "train" for g in groups]


def _xyxy_to_yolo(cls: int, box: tuple[float, float, float, float]) -> tuple[int, float, float, float, float]:
    x1, y1, x2, y2 = box
    return (cls, (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)


def native_crops(
    image: np.ndarray, labels: list[tuple[int, float, float, float, float]], size: int, rng: random.Random
) -> list[tuple[np.ndarray, list[tuple[int, float, float, float, float]]]]:
    """One size x size crop at native scale around each box of a large frame, so its small smoke stays small.

    The crop is placed at a random offset that keeps the box inside; boxes cut by the
    crop border keep their visible part when at least half of them is inside.
    """
    H, W = image.shape[:2]
    if max(H, W) <= size:
        return []
    crops = []
    for _, cx, cy, w, h in labels:
        bw, bh = w * W, h * H
        if bw > size or bh > size:
            continue
        x1, y1 = cx * W - bw / 2, cy * H - bh / 2
        lo_x, hi_x = max(0, int(x1 + bw) - size), min(int(x1), W - size)
        lo_y, hi_y = max(0, int(y1 + bh) - size), min(int(y1), H - size)
        ox = rng.randint(lo_x, max(lo_x, hi_x)) if W > size else 0
        oy = rng.randint(lo_y, max(lo_y, hi_y)) if H > size else 0
        cw, ch = min(size, W), min(size, H)
        rows = []
        for c2, cx2, cy2, w2, h2 in labels:
            bx1, by1 = cx2 * W - w2 * W / 2 - ox, cy2 * H - h2 * H / 2 - oy
            bx2, by2 = bx1 + w2 * W, by1 + h2 * H
            ix1, iy1, ix2, iy2 = max(0, bx1), max(0, by1), min(cw, bx2), min(ch, by2)
            if ix2 <= ix1 or iy2 <= iy1 or (ix2 - ix1) * (iy2 - iy1) < 0.5 * (bx2 - bx1) * (by2 - by1):
                continue
            rows.append((c2, (ix1 + ix2) / 2 / cw, (iy1 + iy2) / 2 / ch, (ix2 - ix1) / cw, (iy2 - iy1) / ch))
        crops.append((image[oy : oy + ch, ox : ox + cw].copy(), rows))
    return crops


def assign_splits(
    groups: list[int], legacy_count: int, legacy_val: set[int], val_fraction: float, seed: int
) -> list[str]:
    """'train' or 'val' per item. The first legacy_count items keep run 1's split (so run 1's model
    and later ones are measured on the same val); groups of new items only are split on their own."""
    legacy_side: dict[int, list[str]] = {}
    for i in range(legacy_count):
        legacy_side.setdefault(groups[i], []).append("val" if groups[i] in legacy_val else "train")
    new_groups = [g for g in groups[legacy_count:] if g not in legacy_side]
    new_val = split_groups(new_groups, val_fraction, seed)
    sides = []
    for i, g in enumerate(groups):
        if g in legacy_side:
            votes = legacy_side[g]
            sides.append("val" if votes.count("val") > len(votes) / 2 else "train")
        else:
            sides.append("val" if g in new_val else "train")
    return sides


def build(settings: BuildSettings) -> dict:
    if not 1 <= settings.review_rounds <= 1 + len(LATE_REVIEW_FILES):
        raise ValueError(f"review_rounds must be 1 to {1 + len(LATE_REVIEW_FILES)}, not {settings.review_rounds}")
    rng = random.Random(settings.seed)
    # First: a folder that is not a finished export fails before minutes of hashing.
    feedback = [s for k, folder in enumerate(settings.feedback) for s in feedback_samples(folder, f"feedback{k}")]
    legacy = collect_samples(settings)
    legacy_groups = group_near_duplicates([_hash(s.image) for s in legacy], [s.video for s in legacy], settings.hash_distance)
    legacy_val = split_groups(legacy_groups, settings.val_fraction, settings.seed)
    added: list[Sample] = []
    if settings.reviewed:
        added += apply_review(legacy, settings.shared)
    if settings.fesb:
        added += fesb_samples(settings.shared)
    samples = legacy + added
    hashes = [_hash(s.image) for s in samples]
    groups = group_near_duplicates(hashes, [s.video for s in samples], settings.hash_distance)
    # Legacy items keep their run-1 group ids so legacy_val still names them.
    groups = legacy_groups + [groups[i] + len(samples) for i in range(len(legacy), len(samples))]
    joined = group_near_duplicates(hashes, [s.video for s in samples], settings.hash_distance)
    for i in range(len(legacy), len(samples)):  # a new item that duplicates a legacy one joins that legacy group
        twin = next((j for j in range(len(legacy)) if joined[j] == joined[i]), None)
        if twin is not None:
            groups[i] = legacy_groups[twin]
    sides = assign_splits(groups, len(legacy), legacy_val, settings.val_fraction, settings.seed)
    if settings.reviewed:
        late, late_sides = apply_late_review(
            samples, sides, hashes, settings.shared, LATE_REVIEW_FILES[: settings.review_rounds - 1],
            settings.hash_distance,
        )
        samples, sides = samples + late, sides + late_sides

    for split in ("train", "val"):
        for sub in ("images", "labels"):
            target = settings.out / split / sub
            target.mkdir(parents=True, exist_ok=True)
            for old in target.iterdir():
                old.unlink()
    counts: dict[str, dict[str, int]] = {}

    def record(split: str, source: str, labels) -> None:
        bucket = counts.setdefault(split, {"images": 0, "smoke_boxes": 0, "fire_boxes": 0, "negatives": 0})
        bucket["images"] += 1
        bucket["smoke_boxes"] += sum(1 for r in labels if r[0] == 0)
        bucket["fire_boxes"] += sum(1 for r in labels if r[0] == 1)
        bucket["negatives"] += 0 if labels else 1
        bucket[f"from_{source}"] = bucket.get(f"from_{source}", 0) + 1

    def write(split: str, name: str, labels, image_path: Path | None = None, pixels: np.ndarray | None = None) -> None:
        if pixels is None:
            (settings.out / split / "images" / f"{name}{image_path.suffix.lower()}").symlink_to(image_path.resolve())
        else:
            cv2.imwrite(str(settings.out / split / "images" / f"{name}.jpg"), pixels, [cv2.IMWRITE_JPEG_QUALITY, 95])
        text = "".join(f"{c} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n" for c, cx, cy, w, h in labels)
        (settings.out / split / "labels" / f"{name}.txt").write_text(text)

    for sample, split in zip(samples, sides):
        if sample.extras.get("drop"):
            continue
        name = f"{sample.source}__{sample.image.stem}"
        write(split, name, sample.labels, image_path=sample.image)
        record(split, sample.source, sample.labels)
        if sample.source == "fesb":
            pixels = cv2.imread(str(sample.image))
            for k, (crop, rows) in enumerate(native_crops(pixels, sample.labels, settings.crop_size, rng)):
                write(split, f"{name}__crop{k}", rows, pixels=crop)
                record(split, "fesb-crop", rows)

    for sample, split in zip(feedback, split_feedback(feedback, settings)):
        write(split, sample.extras["name"], sample.labels, image_path=sample.image)
        record(split, sample.source, sample.labels)

    if settings.synthetic:
        backgrounds = [s for s, side in zip(samples, sides) if side == "train" and not s.labels and s.source.startswith("afm") and not s.extras.get("drop")]
        donors = [s for s, side in zip(samples, sides) if side == "train" and s.source == "afm"]
        made = tries = 0
        while made < settings.synthetic and tries < settings.synthetic * 20:
            tries += 1
            background = cv2.imread(str(rng.choice(backgrounds).image))
            donor = rng.choice(donors)
            pixels = cv2.imread(str(donor.image))
            H, W = pixels.shape[:2]
            _, cx, cy, w, h = donor.labels[0]
            smoke = pixels[int((cy - h / 2) * H) : int((cy + h / 2) * H), int((cx - w / 2) * W) : int((cx + w / 2) * W)]
            if smoke.shape[0] < 4 or smoke.shape[1] < 4:
                continue
            rows = []
            for _ in range(rng.choice((1, 1, 2))):
                pasted = random_paste(background, smoke, rng)
                if pasted is None:
                    continue
                background, (x1, y1, x2, y2) = pasted
                bh, bw = background.shape[:2]
                rows.append(_xyxy_to_yolo(0, (x1 / bw, y1 / bh, x2 / bw, y2 / bh)))
            if rows:
                write("train", f"synthetic__{made:04d}", rows, pixels=background)
                record("train", "synthetic", rows)
                made += 1

    data_yaml = settings.out / "data.yaml"
    data_yaml.write_text(
        f"path: {settings.out.resolve()}\ntrain: train/images\nval: val/images\n"
        + "names:\n"
        + "".join(f"  {i}: {n}\n" for i, n in enumerate(CLASSES))
    )
    return {"data_yaml": str(data_yaml), "groups": len(set(groups)), "val_groups": sum(1 for g in set(groups) if sides[groups.index(g)] == "val"), "counts": counts}


def _hash(image_path: Path) -> int:
    image = cv2.imread(str(image_path))
    if image is None:
        raise ValueError(f"unreadable image: {image_path}")
    return difference_hash(image)
