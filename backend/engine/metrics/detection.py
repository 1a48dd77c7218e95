"""Average precision for boxes and instance masks, COCO-style, by pycocotools through torchmetrics.

AP per class and IoU threshold is pycocotools' (101-point interpolation, area "all"), read from
torchmetrics' MeanAveragePrecision extended summary so one evaluation gives AP50 and AP50:95 per
class. The per-image detection cap is raised to the largest prediction count: a validation chip
with more than 100 detections must not lose its low-score tail. Precision / recall / F1 at a score
threshold (ArcGIS's per_class_metrics) are counted here with greedy matching at IoU 0.5.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

IOU_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))


class PredictedObjects(Protocol):
    boxes: np.ndarray  # [N,4] xyxy
    scores: np.ndarray  # [N]
    labels: np.ndarray  # [N] class index (1..C)
    masks: np.ndarray | None  # [N,H,W] bool or None


@dataclass(frozen=True)
class TrueObjects:
    """Ground truth of one image."""

    boxes: np.ndarray  # [M,4] xyxy
    labels: np.ndarray  # [M] class index (1..C)
    masks: np.ndarray | None = None  # [M,H,W] bool


@dataclass(frozen=True)
class ClassDetectionScores:
    ap50: float | None  # None when the class has no ground truth
    ap50_95: float | None
    precision: float | None  # at IoU 0.5 and the score threshold
    recall: float | None
    f1: float | None
    support: int  # ground-truth objects


@dataclass(frozen=True)
class DetectionScores:
    per_class: dict[int, ClassDetectionScores]  # by class index 1..C

    def _mean(self, attr: str) -> float | None:
        values = [getattr(s, attr) for s in self.per_class.values() if getattr(s, attr) is not None]
        return float(np.mean(values)) if values else None

    @property
    def map50(self) -> float | None:
        return self._mean("ap50")

    @property
    def map50_95(self) -> float | None:
        return self._mean("ap50_95")


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[N,M] IoU of xyxy boxes."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    area_a = (a[:, 2] - a[:, 0]).clip(0) * (a[:, 3] - a[:, 1]).clip(0)
    area_b = (b[:, 2] - b[:, 0]).clip(0) * (b[:, 3] - b[:, 1]).clip(0)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clip(0).prod(2)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def mask_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[N,M] IoU of boolean masks [N,H,W] and [M,H,W]."""
    if len(a) == 0 or len(b) == 0:  # reshape(0, -1) cannot infer the pixel count
        return np.zeros((len(a), len(b)), dtype=np.float64)
    fa = np.asarray(a, dtype=bool).reshape(len(a), -1).astype(np.float32)
    fb = np.asarray(b, dtype=bool).reshape(len(b), -1).astype(np.float32)
    inter = fa @ fb.T
    union = fa.sum(1)[:, None] + fb.sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0).astype(np.float64)


def _match(iou: np.ndarray, order: np.ndarray, threshold: float) -> np.ndarray:
    """True per detection (in `order`) when it matches an unused ground-truth object."""
    used = np.zeros(iou.shape[1], dtype=bool)
    hits = np.zeros(len(order), dtype=bool)
    for rank, det in enumerate(order):
        if iou.shape[1] == 0:
            break
        candidates = np.where(used, -1.0, iou[det])
        best = int(candidates.argmax())
        if candidates[best] >= threshold:
            used[best] = True
            hits[rank] = True
    return hits


def _class_aps(
    predictions: Sequence[PredictedObjects],
    targets: Sequence[TrueObjects],
    num_classes: int,
    iou_type: Literal["bbox", "segm"],
) -> dict[int, list[float]]:
    """AP at each of IOU_THRESHOLDS for classes 1..C that have ground truth (pycocotools)."""
    import torch
    from torchmetrics.detection import MeanAveragePrecision

    max_dets = max([100, *(len(p.scores) for p in predictions)])
    metric = MeanAveragePrecision(
        iou_type=iou_type, iou_thresholds=list(IOU_THRESHOLDS), class_metrics=True, extended_summary=True,
        max_detection_thresholds=[1, 10, max_dets], backend="pycocotools",
    )

    def entry(obj: PredictedObjects | TrueObjects, scores: bool) -> dict[str, torch.Tensor]:
        out = {"labels": torch.as_tensor(np.asarray(obj.labels, dtype=np.int64).reshape(-1))}
        if iou_type == "segm":
            out["masks"] = torch.as_tensor(np.asarray(obj.masks, dtype=bool))
        else:
            out["boxes"] = torch.as_tensor(np.asarray(obj.boxes, dtype=np.float32).reshape(-1, 4))
        if scores:
            out["scores"] = torch.as_tensor(np.asarray(obj.scores, dtype=np.float32).reshape(-1))  # type: ignore[union-attr]
        return out

    metric.update([entry(p, True) for p in predictions], [entry(t, False) for t in targets])
    result = metric.compute()
    if "precision" not in result:  # nothing predicted in any image: no curves at all
        return {}
    # precision: [T, R, K, A, M]; K follows result["classes"], A=0 is area "all", M=-1 the largest cap.
    precision = result["precision"].numpy()
    observed = [int(c) for c in result["classes"].reshape(-1).tolist()]
    aps: dict[int, list[float]] = {}
    for k, cls in enumerate(observed):
        if not 1 <= cls <= num_classes:
            continue
        curves = precision[:, :, k, 0, -1]  # [T, R]; -1 where the class has no ground truth
        if (curves < 0).all():
            continue
        aps[cls] = [float(np.clip(curve, 0, None).mean()) for curve in curves]
    return aps


def detection_scores(
    predictions: Sequence[PredictedObjects],
    targets: Sequence[TrueObjects],
    num_classes: int,
    iou_type: Literal["bbox", "segm"] = "bbox",
    score_threshold: float = 0.5,
) -> DetectionScores:
    """AP50, AP50:95 and precision/recall/F1 (IoU 0.5, scores >= threshold) per class 1..C."""
    if len(predictions) != len(targets):
        raise ValueError("one prediction per target image is needed")
    if iou_type == "segm" and any(o.masks is None for group in (predictions, targets) for o in group):
        raise ValueError("segm AP needs masks in predictions and targets")
    aps = _class_aps(predictions, targets, num_classes, iou_type)
    per_class: dict[int, ClassDetectionScores] = {}
    for cls in range(1, num_classes + 1):
        positives = tp = fp = 0
        for pred, true in zip(predictions, targets):
            p = np.asarray(pred.labels) == cls
            t = np.asarray(true.labels) == cls
            positives += int(t.sum())
            scores = np.asarray(pred.scores, dtype=np.float64)[p]
            confident = np.flatnonzero(scores >= score_threshold)
            order = confident[np.argsort(-scores[confident], kind="stable")]
            if iou_type == "segm":
                iou = mask_iou(np.asarray(pred.masks)[p], np.asarray(true.masks)[t])
            else:
                iou = box_iou(np.asarray(pred.boxes)[p], np.asarray(true.boxes)[t])
            hits = _match(iou, order, 0.5)
            tp += int(hits.sum())
            fp += int((~hits).sum())
        class_aps = aps.get(cls) if positives else None
        if positives and class_aps is None:
            class_aps = [0.0] * len(IOU_THRESHOLDS)  # ground truth but nothing predicted
        precision = tp / (tp + fp) if tp + fp else None
        recall = tp / positives if positives else None
        f1 = None
        if precision is not None and recall is not None:
            f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
        per_class[cls] = ClassDetectionScores(
            ap50=class_aps[0] if class_aps else None,
            ap50_95=float(np.mean(class_aps)) if class_aps else None,
            precision=precision,
            recall=recall,
            f1=f1,
            support=positives,
        )
    return DetectionScores(per_class)
