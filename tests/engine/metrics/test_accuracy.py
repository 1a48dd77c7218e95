"""Detection accuracy: the same AP as pycocotools on the same boxes, hand-checked counts and VOC AP,
polygons, no confidence, extents."""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import shapely

from backend.engine.metrics.accuracy import Objects, candidate_pairs, detection_accuracy


def _boxes(rng: np.random.Generator, n: int, spread: float = 400.0) -> np.ndarray:
    xy = rng.uniform(0, spread, (n, 2))
    wh = rng.uniform(8, 40, (n, 2))
    return np.hstack([xy, wh])  # x, y, w, h


def _objects(xywh: np.ndarray, classes: np.ndarray, scores: np.ndarray | None = None) -> Objects:
    geoms = [shapely.box(x, y, x + w, y + h) for x, y, w, h in xywh.tolist()]
    return Objects.build(list(range(1, len(geoms) + 1)), geoms, classes.tolist(),
                         None if scores is None else scores.tolist())


def _pycocotools(gt: np.ndarray, gt_cls: np.ndarray, dt: np.ndarray, dt_cls: np.ndarray, scores: np.ndarray):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    coco = COCO()
    coco.dataset = {
        "images": [{"id": 1, "width": 1000, "height": 1000}],
        "categories": [{"id": c} for c in sorted(set(gt_cls.tolist()) | set(dt_cls.tolist()))],
        "annotations": [{"id": i + 1, "image_id": 1, "category_id": int(c), "bbox": [float(v) for v in b],
                         "area": float(b[2] * b[3]), "iscrowd": 0} for i, (b, c) in enumerate(zip(gt, gt_cls))],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
        results = coco.loadRes([{"image_id": 1, "category_id": int(c), "bbox": [float(v) for v in b],
                                 "score": float(s)} for b, c, s in zip(dt, dt_cls, scores)])
        ev = COCOeval(coco, results, "bbox")
        ev.params.maxDets = [1, 10, len(dt) + 1]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ap_equals_pycocotools_on_the_same_boxes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    gt = _boxes(rng, 150)
    gt_cls = rng.integers(1, 4, len(gt))
    # Detections: jittered copies of most ground truth (some classes wrong), plus clutter.
    keep = rng.random(len(gt)) < 0.8
    jitter = gt[keep] + rng.normal(0, 3, (int(keep.sum()), 4)) * [1, 1, 0.5, 0.5]
    dt = np.vstack([jitter, _boxes(rng, 60)])
    dt[:, 2:] = np.abs(dt[:, 2:]) + 1
    dt_cls = np.concatenate([np.where(rng.random(int(keep.sum())) < 0.9, gt_cls[keep], 3), rng.integers(1, 5, 60)])
    scores = rng.uniform(0, 1, len(dt)).round(2)  # rounded: ties in confidence happen, the order must too
    ev = _pycocotools(gt, gt_cls, dt, dt_cls, scores)
    mine = detection_accuracy(_objects(dt, dt_cls, scores), _objects(gt, gt_cls), min_iou=0.5,
                              area=shapely.box(-1e6, -1e6, 1e6, 1e6))

    # summarize()'s AP50:95 line is fixed at 100 detections; its AP50 line reads our cap.
    precision = ev.eval["precision"]  # [T, R, K, A, M]
    all_dets = precision[:, :, :, 0, -1]
    assert mine.overall.ap50_95 == pytest.approx(all_dets[all_dets > -1].mean(), abs=1e-12)
    assert mine.overall.ap50 == pytest.approx(ev.stats[1], abs=1e-12)
    for k, cat in enumerate(ev.params.catIds):
        per_t = precision[:, :, k, 0, -1]
        row = next(c for c in mine.per_class if c.class_value == cat)
        if (per_t < 0).all():  # no ground truth of this class (class 4): COCO skips it
            assert row.ap50 is None and row.ground_truth == 0 and row.true_positives == 0
            continue
        assert row.ap50 == pytest.approx(per_t[0].mean(), abs=1e-12)
        assert row.ap50_95 == pytest.approx(per_t.mean(), abs=1e-12)
    # TP count at IoU 0.5: pycocotools' dtMatches of the same evaluation.
    coco_tp = sum(int((e["dtMatches"][0] > 0).sum()) for e in ev.evalImgs if e is not None and e["aRng"] == [0, 1e10])
    assert mine.overall.true_positives == coco_tp
    assert mine.overall.false_negatives == len(gt) - coco_tp


def test_counts_precision_recall_and_all_point_ap_by_hand() -> None:
    # Ground truth: three class-1 boxes. Detections (score): hit A (0.9), clutter (0.8), hit B (0.7),
    # a duplicate of A (0.6, false positive: A is taken). C is missed.
    gt = np.array([[0, 0, 10, 10], [100, 0, 10, 10], [200, 0, 10, 10]], dtype=float)
    dt = np.array([[1, 0, 10, 10], [50, 50, 10, 10], [100, 1, 10, 10], [0, 1, 10, 10]], dtype=float)
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    result = detection_accuracy(_objects(dt, np.ones(4, int), scores), _objects(gt, np.ones(3, int)), min_iou=0.5,
                                area=shapely.box(-10, -10, 300, 300))
    row = result.per_class[0]
    assert (row.true_positives, row.false_positives, row.false_negatives) == (2, 2, 1)
    assert row.precision == 0.5 and row.recall == pytest.approx(2 / 3)
    assert row.f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    # Envelope: recall 1/3 at precision 1, recall 2/3 at precision 2/3 -> AP = 1/3 + 1/3 * 2/3.
    assert row.ap == pytest.approx(1 / 3 + (1 / 3) * (2 / 3))
    assert result.true_positive.tolist() == [True, False, True, False]
    assert result.matched.tolist() == [True, True, False]
    # A stricter IoU turns the 1-pixel shifts (IoU 0.818) into misses.
    strict = detection_accuracy(_objects(dt, np.ones(4, int), scores), _objects(gt, np.ones(3, int)), min_iou=0.9,
                                area=shapely.box(-10, -10, 300, 300))
    assert strict.overall.true_positives == 0 and strict.overall.false_negatives == 3


def test_classes_are_matched_separately_and_without_confidence_ap_is_skipped() -> None:
    gt = np.array([[0, 0, 10, 10], [100, 0, 10, 10]], dtype=float)
    dt = np.array([[0, 0, 10, 10], [100, 0, 10, 10]], dtype=float)
    result = detection_accuracy(_objects(dt, np.array([1, 2])), _objects(gt, np.array([1, 1])))
    one, two = result.per_class
    assert (one.true_positives, one.false_negatives, two.false_positives) == (1, 1, 1)
    assert result.overall.ap is None and one.ap50_95 is None
    assert any("AP skipped" in n for n in result.notes)
    assert any("absent from the ground truth" in n for n in result.notes)


def test_polygons_use_their_true_overlap() -> None:
    triangle = shapely.Polygon([(0, 0), (10, 0), (0, 10)])
    square = shapely.box(0, 0, 10, 10)
    det = Objects.build([1], [triangle], [1], [0.9])
    truth = Objects.build([7], [square], [1])
    d, g, iou = candidate_pairs(det, truth)
    assert d.tolist() == [0] and g.tolist() == [0] and iou[0] == pytest.approx(0.5)
    assert detection_accuracy(det, truth, min_iou=0.5).overall.true_positives == 1
    assert detection_accuracy(det, truth, min_iou=0.51).overall.true_positives == 0


def test_default_area_is_where_the_ground_truth_is() -> None:
    gt = np.array([[0, 0, 10, 10]], dtype=float)
    dt = np.array([[0, 0, 10, 10], [500, 500, 10, 10]], dtype=float)
    result = detection_accuracy(_objects(dt, np.ones(2, int), np.array([0.9, 0.8])), _objects(gt, np.ones(1, int)))
    assert result.overall.detections == 1 and result.overall.false_positives == 0
    everywhere = detection_accuracy(_objects(dt, np.ones(2, int), np.array([0.9, 0.8])), _objects(gt, np.ones(1, int)),
                                    area=shapely.box(-1, -1, 1000, 1000))
    assert everywhere.overall.false_positives == 1
