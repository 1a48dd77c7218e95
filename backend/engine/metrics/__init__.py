"""Model quality metrics, Django-free (detection AP by pycocotools through torchmetrics).

Public API:

detection.py
    detection_scores(predictions, targets: Sequence[TrueObjects], num_classes,
                     iou_type="bbox" | "segm", score_threshold=0.5) -> DetectionScores
        COCO AP50 and AP50:95 per class (pycocotools via torchmetrics), plus precision /
        recall / F1 at IoU 0.5 for scores >= score_threshold. predictions: objects with
        boxes [N,4] xyxy, scores [N], labels [N] (1..C), masks [N,H,W] | None (e.g.
        nets.predictor.Detections). DetectionScores.per_class[c] -> ClassDetectionScores(ap50,
        ap50_95, precision, recall, f1, support); .map50, .map50_95
    TrueObjects(boxes, labels, masks=None); box_iou(a, b); mask_iou(a, b); IOU_THRESHOLDS
confusion.py
    confusion_matrix(predicted, actual, num_classes, ignore_index=None) -> [C,C] (rows actual)
    scores_from_confusion(confusion) -> ConfusionScores(accuracy, per_class: ClassScores(
        precision, recall, f1, iou, support), confusion; .mean_iou)
        Used for pixel classification (mIoU, accuracy, per-class P/R/F1) and object
        classification (accuracy, confusion matrix).
accuracy.py
    detection_accuracy(detections: Objects, truth: Objects, min_iou=0.5, area=None) -> DetectionAccuracy
        A result layer against ground-truth features (Compute Accuracy For Object Detection):
        STRtree candidate pairs, pycocotools' greedy matching; per class and overall TP/FP/FN,
        P/R/F1, all-point AP at min_iou, COCO AP50 and AP50:95; TP per detection, matched per truth.
pixel_accuracy.py
    pixel_accuracy(classified, truth=[(geojson, value)] | reference=path, extent=None) -> PixelAccuracy
        Confusion matrix (rows reference), user's/producer's accuracy, overall accuracy, kappa, IoU,
        read window by window.
"""
from __future__ import annotations

from backend.engine.metrics.confusion import (
    ClassScores,
    ConfusionScores,
    confusion_matrix,
    scores_from_confusion,
)
from backend.engine.metrics.detection import (
    ClassDetectionScores,
    DetectionScores,
    TrueObjects,
    box_iou,
    detection_scores,
    mask_iou,
)

__all__ = [
    "ClassDetectionScores",
    "ClassScores",
    "ConfusionScores",
    "DetectionScores",
    "TrueObjects",
    "box_iou",
    "confusion_matrix",
    "detection_scores",
    "mask_iou",
    "scores_from_confusion",
]
