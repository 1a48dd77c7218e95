"""Benchmark of Compute Accuracy (detections): score N detections against N ground-truth features.

Builds a synthetic scene in EPSG:4326 degrees like a detections layer over a large raster: N
ground-truth boxes (3 classes) on a grid with jitter, and N detections: 85% jittered copies (5%
with the wrong class), 15% clutter, with confidences. Times, separately:

    parse      GeoJSON text -> shapely (what the job does with the layer's stored geometry)
    engine     detection_accuracy(): STRtree pairs, IoU, matching at 11 IoU thresholds, AP per class
    total      both

and prints the headline numbers so a run can be checked for sanity. --polygons makes every
feature a 12-sided polygon instead of a box (IoU by shapely intersection, not bounds).
Usage (from the repository root):

    .venv/bin/python bench/accuracy.py [--n 100000] [--polygons] [--repeat 1]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.engine.metrics.accuracy import Objects, detection_accuracy  # noqa: E402

CELL = 1e-5  # ~1 m in degrees


def _texts(xy: np.ndarray, size: np.ndarray, polygons: bool) -> list[str]:
    if polygons:
        geoms = shapely.buffer(shapely.points(xy + size[:, None] / 2), size / 2, quad_segs=3)
    else:
        geoms = shapely.box(xy[:, 0], xy[:, 1], xy[:, 0] + size, xy[:, 1] + size)
    return [json.dumps(g) for g in (json.loads(t) for t in shapely.to_geojson(geoms))]


def scene(n: int, polygons: bool, seed: int = 0) -> tuple[dict[str, list], dict[str, list]]:
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2)[:n].astype(float)
    gt_xy = -82.0 + grid * 8 * CELL + rng.uniform(0, 2 * CELL, (n, 2))
    gt_size = rng.uniform(2, 5, n) * CELL
    gt_cls = rng.integers(1, 4, n)
    hits = rng.random(n) < 0.85
    n_hit = int(hits.sum())
    det_xy = np.vstack([gt_xy[hits] + rng.normal(0, 0.3 * CELL, (n_hit, 2)),
                        -82.0 + rng.uniform(0, side * 8 * CELL, (n - n_hit, 2))])
    det_size = np.concatenate([gt_size[hits] * rng.uniform(0.8, 1.2, n_hit), rng.uniform(2, 5, n - n_hit) * CELL])
    det_cls = np.concatenate([np.where(rng.random(n_hit) < 0.95, gt_cls[hits], 1 + gt_cls[hits] % 3),
                              rng.integers(1, 4, n - n_hit)])
    scores = np.concatenate([rng.uniform(0.3, 1, n_hit), rng.uniform(0, 0.7, n - n_hit)])
    truth = {"ids": list(range(1, n + 1)), "geometry": _texts(gt_xy, gt_size, polygons), "classes": gt_cls.tolist()}
    det = {"ids": list(range(n + 1, 2 * n + 1)), "geometry": _texts(det_xy, det_size, polygons),
           "classes": det_cls.tolist(), "scores": scores.tolist()}
    return det, truth


def run(det: dict[str, list], truth: dict[str, list]) -> tuple[float, float, object]:
    t0 = time.perf_counter()
    d = Objects.build(det["ids"], list(shapely.from_geojson(np.asarray(det["geometry"], dtype=object))),
                      det["classes"], det["scores"])
    g = Objects.build(truth["ids"], list(shapely.from_geojson(np.asarray(truth["geometry"], dtype=object))),
                      truth["classes"])
    t1 = time.perf_counter()
    result = detection_accuracy(d, g, min_iou=0.5)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="detections and ground-truth features (each)")
    parser.add_argument("--polygons", action="store_true", help="12-sided polygons instead of boxes")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    det, truth = scene(args.n, args.polygons)
    shape = "polygons" if args.polygons else "boxes"
    for _ in range(args.repeat):
        parse, engine, result = run(det, truth)
        o = result.overall  # type: ignore[attr-defined]
        print(f"{args.n} detections vs {args.n} ground truth ({shape}): parse {parse:.2f} s, engine {engine:.2f} s, "
              f"total {parse + engine:.2f} s | TP {o.true_positives} FP {o.false_positives} FN {o.false_negatives} "
              f"P {o.precision:.3f} R {o.recall:.3f} AP {o.ap:.3f} AP50 {o.ap50:.3f} AP50:95 {o.ap50_95:.3f}")


if __name__ == "__main__":
    main()
