"""Benchmark of Compute Accuracy (detections): score N detections against N ground-truth features.

Builds a synthetic scene in EPSG:4326 degrees like a detections layer over a large raster: N
ground-truth boxes (3 classes) on a grid with jitter, and N detections: 85% jittered copies (5%
with the wrong class), 15% clutter, with confidences. Times, separately:

    parse      GeoJSON text -> shapely (what the job does with the layer's stored geometry)
    engine     detection_accuracy(): STRtree pairs, IoU, matching at 11 IoU thresholds, AP per class
    total      both

and prints the headline numbers so a run can be checked for sanity. --polygons makes every
feature a 12-sided polygon instead of a box (IoU by shapely intersection, not bounds).

--job also runs the whole compute_accuracy job on the default install (SQLite and an embedded Redis
in a temporary data directory): the two layers are written with features_bulk_create, then it
times the params validation (class and overlap checks) and the job's handler (reading both layers
from the database, scoring, writing the report and the outcomes file).
Usage (from the repository root):

    .venv/bin/python bench/accuracy.py [--n 100000] [--polygons] [--repeat 1] [--job]
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
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


def child_job(n: int, polygons: bool, data_dir: str) -> dict[str, float]:
    """In a Django process: write both layers, then validate and run the job's handler."""
    import django

    django.setup()
    from django.contrib.auth.models import User

    from apps.jobs.registry import JobContext, ValidationContext
    from apps.labeling.layers.geometry import clean_geometry
    from apps.labeling.layers.services import NewFeature, features_bulk_create, layer_create
    from apps.labeling.services import project_create
    from apps.models.accuracy.params import ComputeAccuracyParams
    from apps.models.accuracy.services import compute_accuracy_job

    user = User.objects.create_user("bench", password="bench-pw")
    project = project_create(user=user, name="bench", classes=[{"value": v, "name": f"c{v}", "color": [0, 0, 0]}
                                                               for v in (1, 2, 3)])
    det, truth = scene(n, polygons)
    t0 = time.perf_counter()
    layers = {}
    for name, side in (("truth", truth), ("detections", det)):
        layer = layer_create(user=user, project=project, name=name, kind="labels" if name == "truth" else "detections")
        scores = side.get("scores") or [None] * len(side["ids"])
        features_bulk_create(layer=layer, features=(
            NewFeature(geometry=clean_geometry(g), class_value=c, confidence=s)
            for g, c, s in zip(side["geometry"], side["classes"], scores)))
        layers[name] = layer.pk
    t1 = time.perf_counter()
    params = ComputeAccuracyParams.clean({"in_detected_features": layers["detections"],
                                          "in_ground_truth_features": layers["truth"]},
                                         ValidationContext(user=user, project_id=project.pk))
    t2 = time.perf_counter()
    ctx = JobContext(job_id=1, project_id=project.pk, user_id=user.pk, params=params, progress=lambda *a: None,
                     should_stop=lambda: False, log=lambda m: None, set_metrics=lambda m: None, work_dir=Path(data_dir))
    result = compute_accuracy_job(ctx)
    t3 = time.perf_counter()
    return {"write_layers": t1 - t0, "validate": t2 - t1, "job": t3 - t2,
            "true_positives": result["overall"]["true_positives"]}


def run_job(n: int, polygons: bool) -> None:
    from backend.embedded_redis import start_embedded_redis

    tmp = Path(tempfile.mkdtemp(prefix="rasterlab-bench-accuracy-"))
    env = {**os.environ, "RASTERLAB_DATA_DIR": str(tmp), "DJANGO_SETTINGS_MODULE": "backend.settings.base",
           "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50)}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    redis = start_embedded_redis(tmp / "run" / "redis.sock", persist=False)
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        out = subprocess.run([sys.executable, __file__, "--child", json.dumps([n, polygons, str(tmp)])], cwd=ROOT,
                             env=env, check=True, capture_output=True, text=True).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        shape = "polygons" if polygons else "boxes"
        print(f"compute_accuracy job, {n} vs {n} ({shape}, SQLite): validate {figures['validate']:.2f} s, "
              f"job {figures['job']:.2f} s (TP {figures['true_positives']}); writing the two layers took "
              f"{figures['write_layers']:.1f} s")
    finally:
        if redis is not None:
            redis.terminate()
            redis.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="detections and ground-truth features (each)")
    parser.add_argument("--polygons", action="store_true", help="12-sided polygons instead of boxes")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--job", action="store_true", help="also the whole job on SQLite (writes both layers first)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        n, polygons, data_dir = json.loads(args.child)
        print(json.dumps(child_job(n, polygons, data_dir)))
        return
    det, truth = scene(args.n, args.polygons)
    shape = "polygons" if args.polygons else "boxes"
    for _ in range(args.repeat):
        parse, engine, result = run(det, truth)
        o = result.overall  # type: ignore[attr-defined]
        print(f"{args.n} detections vs {args.n} ground truth ({shape}): parse {parse:.2f} s, engine {engine:.2f} s, "
              f"total {parse + engine:.2f} s | TP {o.true_positives} FP {o.false_positives} FN {o.false_negatives} "
              f"P {o.precision:.3f} R {o.recall:.3f} AP {o.ap:.3f} AP50 {o.ap50:.3f} AP50:95 {o.ap50_95:.3f}")
    if args.job:
        run_job(args.n, args.polygons)


if __name__ == "__main__":
    main()
