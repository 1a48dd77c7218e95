"""Test-time augmentation for detectors: the chip and its flips, merged per object.

With ``test_time_augmentation`` each chip is also predicted flipped left-right, top-bottom and
both (arcgis.learn's flips; rotations would need square chips and add little for overhead
imagery seen from above). Boxes (and masks) are mapped back, and the detections of the
variants are grouped per object: same class and IoU >= CLUSTER_IOU with the group's most
confident box. The group's box is the score-weighted mean of its boxes (weighted box fusion:
the flips' errors partly cancel, where keeping one box keeps its error); its mask is the most
confident one's. Its score merges the variants' scores by
``merge_policy``: "mean" (a variant that missed the object counts 0, so spurious detections
fade), "max" or "min" (0 unless every variant found it). Groups are then suppressed with the
usual in-chip NMS at ``nms_overlap``; the threshold applies to the merged score.

Pixel and object classifiers average class probabilities over the same flips (pixel maps flipped
back first), as arcgis.learn's tta_predict does.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torchvision.ops import batched_nms, box_iou

from backend.engine.errors import EngineInputError
from backend.engine.inference.protocols import DetectionsLike, PredictorLike, ProbabilityPredictor

CLUSTER_IOU = 0.5
FLIPS: tuple[tuple[int, ...], ...] = ((), (-1,), (-2,), (-2, -1))  # none, left-right, top-bottom, both
MERGE_POLICIES = ("mean", "max", "min")


@dataclass(frozen=True)
class MergedDetections:
    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    masks: np.ndarray | None


def detect_with_tta(
    predictor: PredictorLike, batch: torch.Tensor, threshold: float, nms_overlap: float, merge_policy: str,
) -> list[MergedDetections]:
    """Detections of every chip of `batch`, merged over the chip and its flips."""
    policy = merge_policy.lower()
    if policy not in MERGE_POLICIES:
        raise EngineInputError(f"merge_policy must be one of {', '.join(MERGE_POLICIES)} (got {merge_policy!r})")
    height, width = int(batch.shape[-2]), int(batch.shape[-1])
    # each variant keeps weaker boxes than the threshold: the merged score decides
    runs = [predictor.detect(torch.flip(batch, dims) if dims else batch, threshold / 2, nms_overlap) for dims in FLIPS]
    return [
        _merge([_unflip(run[k], dims, width, height) for run, dims in zip(runs, FLIPS)], nms_overlap, policy)
        for k in range(int(batch.shape[0]))
    ]


def _unflip(det: DetectionsLike, dims: tuple[int, ...], width: int, height: int) -> MergedDetections:
    boxes = np.asarray(det.boxes, dtype=np.float32).reshape(-1, 4).copy()
    masks = getattr(det, "masks", None)
    if -1 in dims:
        boxes[:, [0, 2]] = width - boxes[:, [2, 0]]
    if -2 in dims:
        boxes[:, [1, 3]] = height - boxes[:, [3, 1]]
    if masks is not None:
        axes = tuple(a for a, d in ((2, -1), (1, -2)) if d in dims)
        masks = np.flip(np.asarray(masks), axes) if axes else np.asarray(masks)
    return MergedDetections(boxes, np.asarray(det.scores, dtype=np.float32).reshape(-1),
                            np.asarray(det.labels).reshape(-1), masks)


def _merge(variants: Sequence[MergedDetections], nms_overlap: float, policy: str) -> MergedDetections:
    boxes = torch.from_numpy(np.concatenate([v.boxes for v in variants]))
    scores = np.concatenate([v.scores for v in variants])
    labels = np.concatenate([v.labels for v in variants])
    source = np.concatenate([np.full(len(v.scores), i) for i, v in enumerate(variants)])
    with_masks = all(v.masks is not None for v in variants) and len(scores) > 0
    masks = np.concatenate([np.asarray(v.masks) for v in variants]) if with_masks else None
    if len(scores) == 0:
        return variants[0]
    iou = box_iou(boxes, boxes).numpy()
    free = np.ones(len(scores), dtype=bool)
    keep: list[int] = []
    merged: list[float] = []
    fused = boxes.numpy().copy()
    for i in np.argsort(-scores, kind="stable"):
        if not free[i]:
            continue
        group = free & (labels == labels[i]) & (iou[i] >= CLUSTER_IOU)
        free &= ~group
        weights = scores[group].astype(np.float64)
        fused[i] = (weights[:, None] * fused[group]).sum(0) / max(weights.sum(), 1e-12)
        per_variant = np.zeros(len(variants), dtype=np.float64)
        for j in np.flatnonzero(group):  # one score per variant: its best for this object
            per_variant[source[j]] = max(per_variant[source[j]], scores[j])
        value = {"mean": per_variant.mean(), "max": per_variant.max(), "min": per_variant.min()}[policy]
        keep.append(int(i))
        merged.append(float(value))
    index = torch.tensor(keep, dtype=torch.int64)
    merged_scores = torch.tensor(merged, dtype=torch.float32)
    classes = torch.from_numpy(labels[index.numpy()].astype(np.int64))
    fused_boxes = torch.from_numpy(fused)
    survivors = index[batched_nms(fused_boxes[index], merged_scores, classes, nms_overlap)]
    order = [keep.index(int(i)) for i in survivors]
    return MergedDetections(
        fused[survivors.numpy()],
        np.asarray([merged[k] for k in order], dtype=np.float32),
        labels[survivors.numpy()],
        masks[survivors.numpy()] if masks is not None else None,
    )


def segment_with_tta(predictor: PredictorLike, batch: torch.Tensor) -> np.ndarray:
    """[B, classes, H, W] probabilities averaged over the chip and its flips, mapped back."""
    total: np.ndarray | None = None
    for dims in FLIPS:
        probs = np.asarray(predictor.segment(torch.flip(batch, dims) if dims else batch), dtype=np.float32)
        probs = np.flip(probs, dims) if dims else probs  # -1/-2 are W/H of [B, C, H, W] too
        total = probs.copy() if total is None else total + probs
    assert total is not None
    return total / len(FLIPS)


def class_probabilities_with_tta(predictor: ProbabilityPredictor, batch: torch.Tensor) -> np.ndarray:
    """[B, classes] probabilities averaged over the chip and its flips."""
    runs = [np.asarray(predictor.class_probabilities(torch.flip(batch, dims) if dims else batch)) for dims in FLIPS]
    return np.asarray(np.mean(runs, axis=0), dtype=np.float32)
