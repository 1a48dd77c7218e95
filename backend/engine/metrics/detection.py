"""Average precision for boxes and instance masks, COCO-style.

Per class and IoU threshold: detections of all images sorted by score, each greedily matched
to the unmatched ground-truth object it overlaps most (IoU >= threshold); precision made
monotone; AP = mean precision at the 101 recall points 0, 0.01, ..., 1 (pycocotools' rule,
without its 100-detections cap and area ranges). AP50:95 averages IoU 0.50, 0.55, ..., 0.95.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

IOU_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
_RECALL_POINTS = np.linspace(0.0, 1.0, 101)


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


def _ap(scores: np.ndarray, hits: np.ndarray, positives: int) -> float:
    if len(scores) == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(hits[order])
    fp = np.cumsum(~hits[order])
    recall = tp / positives
    precision = tp / np.maximum(tp + fp, 1e-12)
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    idx = np.searchsorted(recall, _RECALL_POINTS, side="left")
    sampled = np.where(idx < len(precision), precision[np.minimum(idx, len(precision) - 1)], 0.0)
    return float(sampled.mean())


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
    per_class: dict[int, ClassDetectionScores] = {}
    for cls in range(1, num_classes + 1):
        scores_all: list[np.ndarray] = []
        hits_all: dict[float, list[np.ndarray]] = {t: [] for t in IOU_THRESHOLDS}
        positives = 0
        tp_at_thr = fp_at_thr = 0
        for pred, true in zip(predictions, targets):
            p = np.asarray(pred.labels) == cls
            t = np.asarray(true.labels) == cls
            positives += int(t.sum())
            scores = np.asarray(pred.scores, dtype=np.float64)[p]
            order = np.argsort(-scores, kind="stable")
            if iou_type == "segm":
                if pred.masks is None or true.masks is None:
                    raise ValueError("segm AP needs masks in predictions and targets")
                iou = mask_iou(np.asarray(pred.masks)[p], np.asarray(true.masks)[t])
            else:
                iou = box_iou(np.asarray(pred.boxes)[p], np.asarray(true.boxes)[t])
            scores_all.append(scores[order])
            for thr in IOU_THRESHOLDS:
                hits_all[thr].append(_match(iou, order, thr))
            confident = scores[order] >= score_threshold
            hits = hits_all[0.5][-1]
            tp_at_thr += int((hits & confident).sum())
            fp_at_thr += int((~hits & confident).sum())
        scores_cat = np.concatenate(scores_all) if scores_all else np.zeros(0)
        aps = [
            _ap(scores_cat, np.concatenate(hits_all[thr]) if hits_all[thr] else np.zeros(0, bool), positives)
            if positives
            else None
            for thr in IOU_THRESHOLDS
        ]
        precision = tp_at_thr / (tp_at_thr + fp_at_thr) if tp_at_thr + fp_at_thr else None
        recall = tp_at_thr / positives if positives else None
        f1 = None
        if precision is not None and recall is not None:
            f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
        per_class[cls] = ClassDetectionScores(
            ap50=aps[0],
            ap50_95=None if aps[0] is None else float(np.mean([a for a in aps if a is not None])),
            precision=precision,
            recall=recall,
            f1=f1,
            support=positives,
        )
    return DetectionScores(per_class)
