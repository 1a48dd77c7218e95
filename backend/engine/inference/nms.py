"""Cross-tile Non Maximum Suppression (the tool-level NMS of Detect Objects and the NMS job).

``max_overlap_ratio`` is intersection-over-union, as in ArcGIS: of two boxes overlapping by more
than it, the less confident is removed (so 0 removes any overlap with positive area).

Greedy NMS only ever compares boxes whose IoU exceeds the ratio, so the result is the same when it
runs separately on each connected group of such boxes. We find those pairs with an STR-tree, label
groups with a vectorised union-find, and run torchvision's NMS on small chunks of groups. The cost
grows with the number of overlapping pairs, not with the square of all boxes, and the result equals
one global ``torchvision.ops.nms`` (or ``batched_nms`` per class).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
import torch
from torchvision.ops import nms

from backend.engine.errors import Cancelled, EngineInputError
from backend.engine.inference.features import FeatureFileWriter, iter_feature_lines, read_nms_fields
from backend.engine.types import Progress, ShouldStop, never_stop, no_progress

_STRIP = 50_000  # boxes per sweep strip (bounds the STR-tree held in memory)
_NMS_CHUNK = 1_000  # boxes per torchvision nms call (its CPU kernel is quadratic)


def _overlap_pairs(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j), each once, of boxes whose rectangles intersect.

    Boxes are swept in strips of ``_STRIP`` by increasing ymin; a strip is queried against itself
    and the later boxes that start before its lowest box ends, so only one strip's tree is in
    memory at a time.
    """
    order = np.argsort(boxes[:, 1], kind="stable")
    ymin_sorted = boxes[order, 1]
    firsts: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
    seconds: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
    for start in range(0, len(order), _STRIP):
        stop = min(len(order), start + _STRIP)
        reach = boxes[order[start:stop], 3].max()
        end = max(stop, int(np.searchsorted(ymin_sorted, reach, side="right")))
        cand = order[start:end]
        b = boxes[cand]
        geoms = shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3])
        q, t = shapely.STRtree(geoms).query(geoms[: stop - start], predicate="intersects")
        keep = q < t  # strip members come first in cand: cross-strip pairs always pass
        firsts.append(cand[q[keep]])
        seconds.append(cand[t[keep]])
    return np.concatenate(firsts), np.concatenate(seconds)


def _iou(boxes: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ba, bb = boxes[a], boxes[b]
    iw = np.minimum(ba[:, 2], bb[:, 2]) - np.maximum(ba[:, 0], bb[:, 0])
    ih = np.minimum(ba[:, 3], bb[:, 3]) - np.maximum(ba[:, 1], bb[:, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area[a] + area[b] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label (smallest member index) of each of ``n`` nodes."""
    labels = np.arange(n)
    if len(a) == 0:
        return labels
    while True:
        low = np.minimum(labels[a], labels[b])
        new = labels.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        new = new[new]  # pointer jumping: follow the chain to the current root
        if np.array_equal(new, labels):
            return labels
        labels = new


def non_max_suppression(
    boxes: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray | None,
    max_overlap_ratio: float,
    class_agnostic: bool = False,
) -> np.ndarray:
    """Indices of the boxes kept, most confident first (like ``torchvision.ops.nms``).

    ``boxes`` are ``[N, 4]`` xyxy in any planar units; with ``class_agnostic=False`` only boxes of
    the same class (``classes``) suppress each other.
    """
    if not 0.0 <= max_overlap_ratio <= 1.0:
        raise EngineInputError(f"max_overlap_ratio must be between 0 and 1 (got {max_overlap_ratio})")
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    n = len(boxes)
    if len(scores) != n or (classes is not None and len(classes) != n):
        raise EngineInputError("boxes, scores and classes must have the same length")
    if n == 0:
        return np.empty(0, dtype=np.int64)
    a, b = _overlap_pairs(boxes)
    iou = _iou(boxes, a, b)
    edge = iou > max_overlap_ratio
    if not class_agnostic and classes is not None:
        cls = np.asarray(classes)
        edge &= cls[a] == cls[b]
    labels = _components(n, a[edge], b[edge])
    kept = _nms_by_group(boxes, scores, labels, max_overlap_ratio)
    order = np.argsort(-scores[kept], kind="stable")
    return kept[order]


def _nms_by_group(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, thr: float) -> np.ndarray:
    sizes = np.bincount(labels, minlength=len(labels))
    alone = sizes[labels] == 1
    kept = [np.flatnonzero(alone)]
    grouped = np.flatnonzero(~alone)
    grouped = grouped[np.argsort(labels[grouped], kind="stable")]  # members of a group adjacent
    start = 0
    while start < len(grouped):
        stop = min(len(grouped), start + _NMS_CHUNK)
        # extend to the end of the group cut by the chunk boundary
        while stop < len(grouped) and labels[grouped[stop]] == labels[grouped[stop - 1]]:
            stop += 1
        idx = grouped[start:stop]
        local = boxes[idx].copy()
        # translate each group to the origin: IoU is unchanged and float offsets stay small
        group = labels[idx]
        _, inverse = np.unique(group, return_inverse=True)
        mins_x = np.full(inverse.max() + 1, np.inf)
        mins_y = np.full(inverse.max() + 1, np.inf)
        np.minimum.at(mins_x, inverse, local[:, 0])
        np.minimum.at(mins_y, inverse, local[:, 1])
        local[:, [0, 2]] -= mins_x[inverse][:, None]
        local[:, [1, 3]] -= mins_y[inverse][:, None]
        # then lay the groups side by side so they cannot overlap: one nms call per chunk
        local[:, [0, 2]] += (inverse * (float(local[:, 2:].max()) + 1.0))[:, None]
        keep = nms(torch.from_numpy(local), torch.from_numpy(scores[idx]), thr)
        kept.append(idx[keep.numpy()])
        start = stop
    return np.concatenate(kept).astype(np.int64)


def _read_boxes(files: list[Path]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes, confidences and class values of all part files (48 bytes a feature)."""
    box_parts: list[np.ndarray] = [np.empty((0, 4))]
    score_parts: list[np.ndarray] = [np.empty(0)]
    class_parts: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
    for f in files:
        boxes: list[list[float]] = []
        scores: list[float] = []
        classes: list[int] = []
        for line in iter_feature_lines(f):
            bbox, confidence, class_value = read_nms_fields(line)
            boxes.append(bbox)
            scores.append(confidence)
            classes.append(class_value)
        box_parts.append(np.array(boxes, dtype=np.float64).reshape(-1, 4))
        score_parts.append(np.array(scores, dtype=np.float64))
        class_parts.append(np.array(classes, dtype=np.int64))
    return np.concatenate(box_parts), np.concatenate(score_parts), np.concatenate(class_parts)


@dataclass(frozen=True)
class MergeResult:
    path: Path
    features_in: int
    features_out: int


def merge_detection_parts(
    part_files: Iterable[Path | str],
    run_nms: bool,
    max_overlap_ratio: float,
    class_agnostic: bool,
    out: Path | str,
    progress: Progress = no_progress,
    should_stop: ShouldStop = never_stop,
) -> MergeResult:
    """Concatenate part files into ``out`` (NDJSON), with cross-tile NMS when ``run_nms``.

    Streams: only boxes, scores and classes are held in memory, never geometries. Missing part
    files are an error (a part did not finish).
    """
    files = [Path(p) for p in part_files]
    for f in files:
        if not f.exists():
            raise EngineInputError(f"part file {f.name} is missing: a part of the job did not finish")
    keep: np.ndarray | None = None
    total = 0
    if run_nms:
        boxes, scores, classes = _read_boxes(files)
        total = len(scores)
        progress(0, 2, f"non maximum suppression on {total} features")
        if should_stop():
            raise Cancelled("merge cancelled")
        kept = non_max_suppression(boxes, scores, classes, max_overlap_ratio, class_agnostic)
        keep = np.zeros(total, dtype=bool)
        keep[kept] = True
        del boxes, scores, classes
    progress(1, 2, "writing merged features")
    i = 0
    with FeatureFileWriter(out) as writer:
        for f in files:
            for line in iter_feature_lines(f):
                if keep is None or keep[i]:
                    writer.write_line(line)
                i += 1
            if should_stop():
                raise Cancelled("merge cancelled")
    progress(2, 2, f"{writer.count} features")
    return MergeResult(Path(out), i, writer.count)
