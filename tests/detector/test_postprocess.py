import numpy as np
import pytest

from detector.postprocess import MAX_DETECTIONS, decode_batch_output, decode_image_output, to_frame_boxes
from detector.preprocess import Letterbox

NAMES = ("smoke", "fire", "cloud")


def reference_decode(prediction, letterbox, names, threshold, iou_threshold):
    """Decode every anchor, then threshold, then per-class greedy NMS in plain numpy."""
    boxes = prediction[:4].T.astype(np.float64)
    scores_all = prediction[4:].T
    class_ids = scores_all.argmax(1)
    scores = scores_all.max(1)
    xyxy = np.stack([boxes[:, 0] - boxes[:, 2] / 2, boxes[:, 1] - boxes[:, 3] / 2,
                     boxes[:, 0] + boxes[:, 2] / 2, boxes[:, 1] + boxes[:, 3] / 2], 1)
    candidates = [i for i in np.argsort(-scores, kind="stable") if scores[i] > threshold]
    kept: list[int] = []
    area = np.prod(xyxy[:, 2:] - xyxy[:, :2], axis=1)
    for i in candidates:
        same = np.array([j for j in kept if class_ids[j] == class_ids[i]], dtype=np.int64)
        if same.size:
            ix = np.clip(np.minimum(xyxy[i, 2], xyxy[same, 2]) - np.maximum(xyxy[i, 0], xyxy[same, 0]), 0, None)
            iy = np.clip(np.minimum(xyxy[i, 3], xyxy[same, 3]) - np.maximum(xyxy[i, 1], xyxy[same, 1]), 0, None)
            inter = ix * iy
            if np.any(inter / (area[i] + area[same] - inter) > iou_threshold):
                continue
        kept.append(i)
    out = []
    for i in kept[:MAX_DETECTIONS]:
        x1, y1, x2, y2 = xyxy[i]
        fx = lambda v: min(max((v - letterbox.pad_x) / letterbox.scale / letterbox.width, 0.0), 1.0)
        fy = lambda v: min(max((v - letterbox.pad_y) / letterbox.scale / letterbox.height, 0.0), 1.0)
        out.append((names[class_ids[i]], float(scores[i]), (fx(x1), fy(y1), fx(x2), fy(y2))))
    return out


def random_prediction(anchors: int, seed: int, clusters: int = 6) -> np.ndarray:
    """Boxes clustered around a few centres (so NMS has work), mostly low scores."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(50, 590, (clusters, 2))
    pick = rng.integers(0, clusters, anchors)
    pred = np.empty((4 + len(NAMES), anchors), np.float32)
    pred[:2] = (centres[pick] + rng.normal(0, 8, (anchors, 2))).T
    pred[2:4] = rng.uniform(10, 120, (2, anchors))
    pred[4:] = rng.uniform(0, 1, (len(NAMES), anchors)) ** 6
    return pred


LETTERBOX = Letterbox(scale=0.5, pad_x=0, pad_y=12, width=1280, height=720)


@pytest.mark.parametrize("seed", range(5))
def test_matches_reference(seed):
    pred = random_prediction(700, seed)
    got = decode_image_output(pred, LETTERBOX, NAMES, 0.3, 0.5)
    want = reference_decode(pred, LETTERBOX, NAMES, 0.3, 0.5)
    assert len(got) == len(want) > 3
    for detection, (label, score, box) in zip(got, want):
        assert detection.label == label
        assert detection.score == pytest.approx(score, abs=1e-6)
        assert detection.box == pytest.approx(box, abs=1e-6)


def test_detections_are_capped_after_nms():
    pred = random_prediction(6000, 11, clusters=400)
    got = decode_image_output(pred, LETTERBOX, NAMES, 0.2, 0.5)
    want = reference_decode(pred, LETTERBOX, NAMES, 0.2, 0.5)
    assert len(got) == len(want) == MAX_DETECTIONS
    assert [d.score for d in got] == pytest.approx([w[1] for w in want])


def test_filter_first_ignores_boxes_of_low_scores():
    pred = random_prediction(500, 9)
    clean = decode_image_output(pred, LETTERBOX, NAMES, 0.3, 0.5)
    low = pred[4:].max(0) <= 0.3
    pred[:4, low] = np.nan  # garbage boxes where the score is below threshold must not matter
    assert decode_image_output(pred, LETTERBOX, NAMES, 0.3, 0.5) == clean


def test_nms_is_class_wise():
    # Two identical boxes of different classes both survive; a same-class duplicate does not.
    pred = np.zeros((4 + len(NAMES), 3), np.float32)
    pred[:4] = np.array([[320, 200, 100, 80]] * 3).T
    pred[4, 0], pred[5, 1], pred[4, 2] = 0.9, 0.8, 0.7
    got = decode_image_output(pred, LETTERBOX, NAMES, 0.25, 0.5)
    assert [(d.label, round(d.score, 2)) for d in got] == [("smoke", 0.9), ("fire", 0.8)]


def test_boxes_map_to_normalised_frame_and_clip():
    # A box covering exactly the resized frame area maps to 0..1; one spilling over is clipped.
    boxes = np.array([[320, 192, 640, 360], [630, 192, 100, 500]], np.float64)
    mapped = to_frame_boxes(boxes, LETTERBOX)
    np.testing.assert_allclose(mapped[0], [0, 0, 1, 1], atol=1e-9)
    assert mapped[1].min() >= 0 and mapped[1].max() <= 1 and mapped[1][2] == 1.0


def test_no_candidates_and_bad_shapes():
    pred = np.zeros((4 + len(NAMES), 100), np.float32)
    assert decode_image_output(pred, LETTERBOX, NAMES, 0.25, 0.5) == []
    with pytest.raises(ValueError, match="expected"):
        decode_image_output(np.zeros((5, 100), np.float32), LETTERBOX, NAMES, 0.25, 0.5)
    with pytest.raises(ValueError, match="results for"):
        decode_batch_output(np.zeros((1, 7, 10), np.float32), [LETTERBOX, LETTERBOX], NAMES, 0.25, 0.5)
