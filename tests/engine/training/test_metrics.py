"""metrics: COCO AP from pycocotools (through torchmetrics) with hand-checked cases, and confusion scores."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torchmetrics.detection import MeanAveragePrecision

from backend.engine.metrics import (
    TrueObjects,
    box_iou,
    confusion_matrix,
    detection_scores,
    mask_iou,
    scores_from_confusion,
)
from backend.engine.nets.predictor import Detections


def _random_scene(rng: np.random.Generator, n_images: int = 6, classes: int = 2):  # type: ignore[no-untyped-def]
    preds, truths = [], []
    for _ in range(n_images):
        n = int(rng.integers(1, 8))
        xy = rng.uniform(0, 200, (n, 2))
        wh = rng.uniform(10, 60, (n, 2))
        boxes = np.concatenate([xy, xy + wh], 1).astype(np.float32)
        labels = rng.integers(1, classes + 1, n)
        truths.append(TrueObjects(boxes, labels))
        keep = rng.random(n) < 0.8
        jitter = rng.normal(0, 6, (n, 4)).astype(np.float32)
        p_boxes = boxes + jitter
        p_boxes[:, 2:] = np.maximum(p_boxes[:, 2:], p_boxes[:, :2] + 2)  # no degenerate boxes
        p_boxes = p_boxes[keep]
        p_labels = labels[keep].copy()
        flip = rng.random(len(p_labels)) < 0.15
        p_labels[flip] = classes + 1 - p_labels[flip]
        extra = int(rng.integers(0, 4))
        exy = rng.uniform(0, 200, (extra, 2))
        p_boxes = np.concatenate([p_boxes, np.concatenate([exy, exy + 30], 1)]).astype(np.float32)
        p_labels = np.concatenate([p_labels, rng.integers(1, classes + 1, extra)])
        scores = rng.uniform(0.05, 1.0, len(p_labels)).astype(np.float32)
        preds.append(Detections(p_boxes, scores, p_labels.astype(np.int64), None))
    return preds, truths


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ap_matches_pycocotools(seed: int) -> None:
    preds, truths = _random_scene(np.random.default_rng(seed))
    ours = detection_scores(preds, truths, num_classes=2)
    reference = MeanAveragePrecision(iou_type="bbox", class_metrics=True, backend="pycocotools")
    reference.update(
        [{"boxes": torch.from_numpy(p.boxes), "scores": torch.from_numpy(p.scores),
          "labels": torch.from_numpy(p.labels)} for p in preds],
        [{"boxes": torch.from_numpy(t.boxes), "labels": torch.from_numpy(t.labels)} for t in truths],
    )
    ref = reference.compute()
    assert ours.map50 == pytest.approx(float(ref["map_50"]), abs=1e-4)
    assert ours.map50_95 == pytest.approx(float(ref["map"]), abs=1e-4)
    per_class = dict(zip(ref["classes"].tolist(), ref["map_per_class"].tolist()))
    for cls, scores in ours.per_class.items():
        assert scores.ap50_95 == pytest.approx(per_class[cls], abs=1e-4)


def test_perfect_and_empty_predictions() -> None:
    boxes = np.array([[0, 0, 10, 10], [20, 20, 40, 40]], dtype=np.float32)
    truth = [TrueObjects(boxes, np.array([1, 1]))]
    perfect = detection_scores([Detections(boxes, np.array([0.9, 0.8], np.float32), np.array([1, 1]), None)], truth, 2)
    assert perfect.per_class[1].ap50 == pytest.approx(1.0) and perfect.per_class[1].ap50_95 == pytest.approx(1.0)
    assert perfect.per_class[1].precision == 1.0 and perfect.per_class[1].recall == 1.0
    assert perfect.per_class[2].ap50 is None and perfect.map50 == pytest.approx(1.0)
    empty = Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64), None)
    nothing = detection_scores([empty], truth, 1)
    assert nothing.per_class[1].ap50 == 0.0 and nothing.per_class[1].recall == 0.0


def test_confident_false_positive_costs_precision() -> None:
    truth = [TrueObjects(np.array([[0, 0, 10, 10]], np.float32), np.array([1]))]
    pred = Detections(np.array([[50, 50, 60, 60], [0, 0, 10, 10]], np.float32),
                      np.array([0.9, 0.6], np.float32), np.array([1, 1]), None)
    scores = detection_scores([pred], truth, 1)
    assert scores.per_class[1].ap50 == pytest.approx(0.5, abs=0.01)
    assert scores.per_class[1].precision == 0.5 and scores.per_class[1].f1 == pytest.approx(2 / 3)


def test_mask_ap_uses_mask_overlap() -> None:
    masks = np.zeros((1, 20, 20), bool)
    masks[0, 2:12, 2:12] = True
    half = np.zeros((1, 20, 20), bool)
    half[0, 2:12, 2:6] = True  # IoU 0.4 with the truth
    box = np.array([[2, 2, 12, 12]], np.float32)
    truth = [TrueObjects(box, np.array([1]), masks)]
    pred = Detections(box, np.array([0.9], np.float32), np.array([1]), half)
    assert detection_scores([pred], truth, 1, iou_type="bbox").per_class[1].ap50 == pytest.approx(1.0)
    assert detection_scores([pred], truth, 1, iou_type="segm").per_class[1].ap50 == 0.0
    assert mask_iou(half, masks)[0, 0] == pytest.approx(0.4)
    assert box_iou(box, np.array([[2, 2, 7, 12]]))[0, 0] == pytest.approx(0.5)


def test_confusion_scores() -> None:
    actual = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2])
    predicted = np.array([0, 1, 1, 1, 0, 2, 2, 2, 1])
    cm = confusion_matrix(predicted, actual, 3)
    assert cm.tolist() == [[1, 1, 0], [1, 2, 0], [0, 1, 3]]
    scores = scores_from_confusion(cm)
    assert scores.accuracy == pytest.approx(6 / 9)
    assert scores.per_class[1].precision == pytest.approx(0.5) and scores.per_class[1].recall == pytest.approx(2 / 3)
    assert scores.per_class[2].iou == pytest.approx(3 / 4) and scores.per_class[0].iou == pytest.approx(1 / 3)
    assert scores.mean_iou == pytest.approx((1 / 3 + 2 / 5 + 3 / 4) / 3)
    assert confusion_matrix(np.array([5, 1]), np.array([1, 1]), 3).sum() == 1  # out of range ignored
    assert confusion_matrix(predicted, actual, 3, ignore_index=0).sum() == 7
