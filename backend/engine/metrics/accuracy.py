"""Accuracy of detections against ground-truth features (ArcGIS's Compute Accuracy For Object
Detection), Django-free.

The scored area is one COCO "image". Detections, highest confidence first, each take the unmatched
ground-truth feature of their class with the highest IoU >= t (pycocotools' rule, ties to the later
ground truth), so AP at IoU 0.5 and 0.5:0.95 (101-point) equal pycocotools' on the same boxes. The
user's IoU threshold gives TP / FP / FN, precision, recall, F1 and the all-point (VOC 2010+) AP.
Candidate pairs come from a shapely STRtree (never all pairs); IoU of two axis-aligned boxes comes
from their bounds (as pycocotools computes it), of other shapes from shapely's intersection.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.strtree import STRtree

from backend.engine.metrics.detection import IOU_THRESHOLDS

RECALL_POINTS = np.linspace(0.0, 1.0, 101)  # pycocotools' recThrs
CURVE_POINTS = 100  # a precision-recall curve keeps at most this many points (plus its ends)
NO_CLASS = -1  # features without a class value


@dataclass(frozen=True)
class Objects:
    """Features of one side: ids, shapely geometries (one CRS for both sides), classes, scores."""

    ids: NDArray[np.int64]
    geometries: NDArray[np.object_]
    classes: NDArray[np.int64]
    scores: NDArray[np.float64] | None = None  # None: no confidence (AP cannot be computed)

    @classmethod
    def build(cls, ids: Sequence[int], geometries: Sequence[Any], classes: Sequence[int | None],
              scores: Sequence[float | None] | None = None) -> Objects:
        """From Python sequences; a None score anywhere means the set has no usable confidence."""
        geoms = np.empty(len(geometries), dtype=object)
        geoms[:] = list(geometries)
        score_array = None
        if scores is not None and len(scores) and all(s is not None for s in scores):
            score_array = np.asarray(scores, dtype=np.float64)
        elif scores is not None and not len(scores):
            score_array = np.zeros(0, dtype=np.float64)
        return cls(np.asarray(ids, dtype=np.int64).reshape(-1), geoms,
                   np.asarray([NO_CLASS if c is None else c for c in classes], dtype=np.int64).reshape(-1),
                   score_array)

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, index: NDArray[np.intp]) -> Objects:
        return Objects(self.ids[index], self.geometries[index], self.classes[index],
                       None if self.scores is None else self.scores[index])


@dataclass(frozen=True)
class ClassAccuracy:
    """Scores of one class (class_value None: all classes together)."""

    class_value: int | None
    detections: int
    ground_truth: int
    true_positives: int
    false_positives: int
    false_negatives: int
    precision: float | None
    recall: float | None
    f1: float | None
    ap: float | None  # all-point interpolated AP (VOC 2010+) at min_iou
    ap50: float | None  # COCO 101-point AP at IoU 0.5
    ap50_95: float | None  # COCO 101-point AP averaged over IoU 0.5:0.95
    curve_recall: tuple[float, ...] = ()  # precision envelope at min_iou, for a chart
    curve_precision: tuple[float, ...] = ()


@dataclass(frozen=True)
class DetectionAccuracy:
    min_iou: float
    per_class: tuple[ClassAccuracy, ...]
    overall: ClassAccuracy
    true_positive: NDArray[np.bool_]  # per detection (input order) at min_iou
    matched: NDArray[np.bool_]  # per ground-truth feature (input order) at min_iou
    detection_ids: NDArray[np.int64]  # the ids scored (inside the area), aligned with true_positive
    truth_ids: NDArray[np.int64]  # aligned with matched
    notes: tuple[str, ...] = field(default=())


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den > 0 else None


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def select_intersecting(objects: Objects, area: Any) -> Objects:
    """The objects whose geometry meets ``area`` (a shapely geometry)."""
    if len(objects) == 0:
        return objects
    keep = STRtree(objects.geometries).query(area, predicate="intersects")
    return objects.take(np.sort(keep))


def _is_box(geometries: NDArray[np.object_], bounds: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Axis-aligned rectangles: a valid shape whose area fills its bounds is its bounds."""
    box_area = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    result: NDArray[np.bool_] = np.isclose(shapely.area(geometries), box_area, rtol=1e-9, atol=0.0)
    return result


def candidate_pairs(det: Objects, truth: Objects) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """(detection, ground truth, IoU) for every same-class pair that overlaps, found by an STRtree."""
    empty = np.zeros(0, dtype=np.intp)
    if len(det) == 0 or len(truth) == 0:
        return empty, empty, np.zeros(0, dtype=np.float64)
    d, g = STRtree(truth.geometries).query(det.geometries, predicate="intersects")
    same = det.classes[d] == truth.classes[g]
    d, g = d[same].astype(np.intp), g[same].astype(np.intp)
    db, gb = shapely.bounds(det.geometries), shapely.bounds(truth.geometries)
    boxes = _is_box(det.geometries, db)[d] & _is_box(truth.geometries, gb)[g]
    iou = np.zeros(len(d), dtype=np.float64)
    if boxes.any():  # pycocotools' bbIou, from x, y, w, h
        a, b = db[d[boxes]], gb[g[boxes]]
        w = np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
        h = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
        inter = np.where((w > 0) & (h > 0), w * h, 0.0)
        union = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
        iou[boxes] = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    shapes = ~boxes
    if shapes.any():
        a_geo, b_geo = det.geometries[d[shapes]], truth.geometries[g[shapes]]
        inter = shapely.area(shapely.intersection(a_geo, b_geo))
        union = shapely.area(a_geo) + shapely.area(b_geo) - inter
        iou[shapes] = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    keep = iou > 0
    return d[keep], g[keep], iou[keep]


def greedy_match(order: NDArray[np.intp], pairs: tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]],
                 n_det: int, n_truth: int, thresholds: Sequence[float]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """[T, n_det] true positives and [T, n_truth] matched ground truth, one row per threshold.

    Detections are taken in ``order``; each takes the unmatched candidate with the highest IoU
    >= t, a later candidate winning a tie (pycocotools' evaluateImg).
    """
    d, g, iou = pairs
    hits = np.zeros((len(thresholds), n_det), dtype=bool)
    used = np.zeros((len(thresholds), n_truth), dtype=bool)
    if len(d) == 0:
        return hits, used
    by_det = np.lexsort((g, d))
    d, g_list, iou_list = d[by_det], g[by_det].tolist(), iou[by_det].tolist()
    starts = np.searchsorted(d, np.arange(n_det), side="left").tolist()
    ends = np.searchsorted(d, np.arange(n_det), side="right").tolist()
    ranked = [int(i) for i in order if ends[i] > starts[i]]  # detections with no candidate miss at every t
    for t_index, t in enumerate(thresholds):
        floor = min(t, 1 - 1e-10)
        taken = bytearray(n_truth)
        row = bytearray(n_det)
        for det in ranked:
            best, best_iou = -1, floor
            for k in range(starts[det], ends[det]):
                gt = g_list[k]
                if taken[gt] or iou_list[k] < best_iou:
                    continue
                best, best_iou = gt, iou_list[k]
            if best >= 0:
                taken[best] = 1
                row[det] = 1
        hits[t_index] = np.frombuffer(bytes(row), dtype=np.uint8).astype(bool)
        used[t_index] = np.frombuffer(bytes(taken), dtype=np.uint8).astype(bool)
    return hits, used


def _coco_ap(tp: NDArray[np.bool_], positives: int) -> float:
    """pycocotools' accumulate() for one class and threshold: 101-point interpolated precision."""
    tps = np.cumsum(tp, dtype=np.float64)
    fps = np.cumsum(~tp, dtype=np.float64)
    rc = tps / positives
    pr = (tps / (fps + tps + np.spacing(1))).tolist()
    for i in range(len(pr) - 1, 0, -1):
        if pr[i] > pr[i - 1]:
            pr[i - 1] = pr[i]
    q = np.zeros(len(RECALL_POINTS))
    inds = np.searchsorted(rc, RECALL_POINTS, side="left")
    valid = inds < len(pr)
    q[valid] = np.asarray(pr, dtype=np.float64)[inds[valid]] if len(pr) else 0.0
    return float(q.mean())


def _all_point(tp: NDArray[np.bool_], positives: int) -> tuple[float, NDArray[np.float64], NDArray[np.float64]]:
    """All-point interpolated AP (area under the precision envelope) and the envelope's points."""
    tps = np.cumsum(tp, dtype=np.float64)
    rc = tps / positives
    pr = tps / np.arange(1, len(tp) + 1, dtype=np.float64)
    envelope = np.maximum.accumulate(pr[::-1])[::-1] if len(pr) else pr
    steps = np.flatnonzero(np.diff(np.concatenate([[0.0], rc])) > 0)
    ap = float(np.sum(np.diff(np.concatenate([[0.0], rc[steps]])) * envelope[steps]))
    return ap, rc, envelope


def _curve(recall: NDArray[np.float64], precision: NDArray[np.float64]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    if len(recall) == 0:
        return (), ()
    keep = np.unique(np.linspace(0, len(recall) - 1, min(len(recall), CURVE_POINTS)).round().astype(np.intp))
    return (tuple(round(float(v), 6) for v in recall[keep]), tuple(round(float(v), 6) for v in precision[keep]))


def _class_scores(cls: int | None, mask: NDArray[np.bool_], ranked: NDArray[np.intp], hits: NDArray[np.bool_],
                  positives: int, thresholds: Sequence[float], user_index: int, with_ap: bool) -> ClassAccuracy:
    mine = ranked[mask[ranked]]  # this class's detections, best first
    tp_at = hits[:, mine]
    tp = int(tp_at[user_index].sum())
    fp = len(mine) - tp
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, positives)
    ap = ap50 = ap50_95 = None
    curve: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())
    if with_ap and positives:
        ap, rc, envelope = _all_point(tp_at[user_index], positives)
        curve = _curve(rc, envelope)
        coco = [_coco_ap(tp_at[thresholds.index(t)], positives) for t in IOU_THRESHOLDS]
        ap50, ap50_95 = coco[0], float(np.mean(coco))
    return ClassAccuracy(cls, len(mine), positives, tp, fp, positives - tp, precision, recall, _f1(precision, recall),
                         ap, ap50, ap50_95, curve[0], curve[1])


def detection_accuracy(detections: Objects, truth: Objects, min_iou: float = 0.5, area: Any = None) -> DetectionAccuracy:
    """Score ``detections`` against ``truth`` per class and overall.

    ``area`` (a shapely geometry in the objects' CRS) limits both sides to what meets it; None:
    the envelope of the ground truth (detections far from any labelling are not counted).
    """
    if not 0 < min_iou <= 1:
        raise ValueError("min_iou must be in (0, 1]")
    notes: list[str] = []
    if area is None and len(truth):
        area = shapely.box(*shapely.total_bounds(truth.geometries))
    if area is not None:
        detections, truth = select_intersecting(detections, area), select_intersecting(truth, area)
    with_ap = detections.scores is not None
    if not with_ap:
        notes.append("AP skipped: some detections have no confidence; TP/FP were matched in feature order.")
        ranked = np.arange(len(detections), dtype=np.intp)
    else:
        assert detections.scores is not None
        ranked = np.argsort(-detections.scores, kind="stable").astype(np.intp)
    thresholds = sorted({*IOU_THRESHOLDS, round(float(min_iou), 6)})
    user_index = thresholds.index(round(float(min_iou), 6))
    pairs = candidate_pairs(detections, truth)
    hits, used = greedy_match(ranked, pairs, len(detections), len(truth), thresholds)
    classes = sorted({*detections.classes.tolist(), *truth.classes.tolist()})
    per_class = tuple(
        _class_scores(c, detections.classes == c, ranked, hits, int((truth.classes == c).sum()), thresholds,
                      user_index, with_ap) for c in classes)
    overall = _overall(per_class, len(detections), len(truth), with_ap)
    lonely = [c.class_value for c in per_class if c.ground_truth == 0]
    if lonely:
        notes.append(f"Classes detected but absent from the ground truth (all false positives): {lonely}.")
    return DetectionAccuracy(float(min_iou), per_class, overall, hits[user_index], used[user_index], detections.ids,
                             truth.ids, tuple(notes))


def _overall(per_class: Sequence[ClassAccuracy], n_det: int, n_truth: int, with_ap: bool) -> ClassAccuracy:
    """Counts summed over classes (micro precision/recall/F1); AP as COCO's mean over classes with
    ground truth."""
    tp = sum(c.true_positives for c in per_class)
    fp = n_det - tp
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, n_truth)

    def mean(name: str) -> float | None:
        values = [getattr(c, name) for c in per_class if c.ground_truth and getattr(c, name) is not None]
        return float(np.mean(values)) if with_ap and values else None

    return ClassAccuracy(None, n_det, n_truth, tp, fp, n_truth - tp, precision, recall, _f1(precision, recall),
                         mean("ap"), mean("ap50"), mean("ap50_95"))


__all__ = ["ClassAccuracy", "DetectionAccuracy", "Objects", "candidate_pairs", "detection_accuracy",
           "greedy_match", "select_intersecting"]
