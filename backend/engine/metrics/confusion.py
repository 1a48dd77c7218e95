"""Confusion matrices and the scores derived from them (pixels and object classes alike)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def confusion_matrix(
    predicted: np.ndarray, actual: np.ndarray, num_classes: int, ignore_index: int | None = None
) -> np.ndarray:
    """[num_classes, num_classes] int64 counts; rows = actual class, columns = predicted."""
    pred = np.asarray(predicted).ravel().astype(np.int64)
    true = np.asarray(actual).ravel().astype(np.int64)
    if pred.shape != true.shape:
        raise ValueError("predicted and actual must have the same number of elements")
    keep = (true >= 0) & (true < num_classes) & (pred >= 0) & (pred < num_classes)
    if ignore_index is not None:
        keep &= true != ignore_index
    counts = np.bincount(true[keep] * num_classes + pred[keep], minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes)


@dataclass(frozen=True)
class ClassScores:
    """Scores of one class. None where undefined (no such pixels / predictions)."""

    precision: float | None
    recall: float | None
    f1: float | None
    iou: float | None
    support: int  # actual count


@dataclass(frozen=True)
class ConfusionScores:
    accuracy: float | None
    per_class: tuple[ClassScores, ...]  # indexed like the matrix
    confusion: np.ndarray

    @property
    def mean_iou(self) -> float | None:
        """Mean IoU over classes that occur (in the data or the predictions)."""
        values = [c.iou for c in self.per_class if c.iou is not None]
        return float(np.mean(values)) if values else None

    def mean_iou_without(self, index: int) -> float | None:
        values = [c.iou for i, c in enumerate(self.per_class) if c.iou is not None and i != index]
        return float(np.mean(values)) if values else None


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den > 0 else None


def scores_from_confusion(confusion: np.ndarray) -> ConfusionScores:
    cm = np.asarray(confusion, dtype=np.float64)
    tp = np.diag(cm)
    actual = cm.sum(1)
    predicted = cm.sum(0)
    per_class = []
    for i in range(cm.shape[0]):
        precision = _ratio(tp[i], predicted[i])
        recall = _ratio(tp[i], actual[i])
        f1 = None
        if precision is not None and recall is not None:
            f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
        iou = _ratio(tp[i], actual[i] + predicted[i] - tp[i])
        per_class.append(ClassScores(precision, recall, f1, iou, int(actual[i])))
    return ConfusionScores(_ratio(tp.sum(), cm.sum()), tuple(per_class), confusion.astype(np.int64))
