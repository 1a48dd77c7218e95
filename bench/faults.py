"""kill -9 of the work horse at random points of each job kind, on the default install (`make run`'s
launcher: SQLite, private Redis, forking workers with their reaper).

For every kind: one clean run (its time sets the window), then N runs whose work horse is SIGKILLed at
a random moment inside that window. Each killed job must end failed, or succeeded after its one retry
(retryable kinds), with no half result visible: result rows (datasets, layers, rasters, models) and
files are counted. Prints one line per kind.

Usage: .venv/bin/python bench/faults.py [--kills 5] [--kinds ingest_raster,train_model,...] [--seed 1]
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._launched import ROOT, LaunchedApp  # noqa: E402

DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared" / "data"
BIG = SHARED / "YELL_crop2.tif" if (SHARED / "YELL_crop2.tif").exists() else DATA / "OSBS_029.tif"


def make_huge_raster(path: Path, size: int = 6000) -> Path:
    """A GeoTIFF whose ingest takes long enough to be killed part-way (written window by window)."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    profile = {"driver": "GTiff", "width": size, "height": size, "count": 3, "dtype": "uint8", "crs": "EPSG:32617",
               "transform": from_origin(400000, 3300000, 0.5, 0.5), "tiled": True}
    rng = np.random.default_rng(0)
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(0, size, 500):
            dst.write(rng.integers(0, 255, (3, min(500, size - row), size), dtype=np.uint8),
                      window=((row, min(row + 500, size)), (0, size)))
    return path


class Setup:
    def __init__(self, app: LaunchedApp) -> None:
        self.app = app
        api = app.api
        self.project = api.get("/api/projects/").json()["results"][0]["id"]
        self.raster = api.get(f"/api/rasters/?project={self.project}").json()["results"][0]["id"]
        layers = api.get(f"/api/layers/?project={self.project}").json()["results"]
        self.labels = next(layer["id"] for layer in layers if layer["name"] == "Labels")
        for labels in (DATA / "OSBS_029.4326.geojson", BIG.with_suffix(".4326.geojson")):
            with open(labels, "rb") as fh:
                api.post(f"/api/layers/{self.labels}/import/", files={"file": fh},
                         data={"class_field": "label"}).raise_for_status()
        self.big = self.upload(BIG)
        self.huge = make_huge_raster(app.data_dir.parent / f"{app.data_dir.name}-huge.tif")
        self.datasets = {fmt: self.export(fmt, size) for fmt, size in
                         (("PASCAL_VOC_rectangles", 128), ("Labeled_Tiles", 64), ("Classified_Tiles", 128))}
        self.models = {
            "detector": self.train("PASCAL_VOC_rectangles", "FasterRCNN", "mobilenet_v3_large"),
            "classifier": self.train("Labeled_Tiles", "FeatureClassifier", "resnet18"),
            "pixels": self.train("Classified_Tiles", "UnetClassifier", "resnet18"),
        }

    def upload(self, path: Path) -> int:
        with open(path, "rb") as fh:
            raster = self.app.api.post("/api/rasters/", files={"file": fh}, data={"project": str(self.project)})
        raster.raise_for_status()
        rid = int(raster.json()["id"])
        deadline = time.monotonic() + 600
        while self.app.api.get(f"/api/rasters/{rid}/").json()["status"] == "processing":
            if time.monotonic() > deadline:
                raise TimeoutError("ingest")
            time.sleep(1)
        return rid

    def export_params(self, fmt: str, size: int) -> dict[str, Any]:
        return {"in_rasters": [self.raster], "in_layer": self.labels, "metadata_format": fmt,
                "tile_size_x": size, "tile_size_y": size, "stride_x": size, "stride_y": size,
                "out_name": f"{fmt} {time.monotonic()}"}

    def export(self, fmt: str, size: int) -> int:
        job = self.app.wait(self.app.job("export_training_data", self.project, self.export_params(fmt, size)))
        assert job["status"] == "succeeded", job
        return int(job["result"]["dataset"])

    def train_params(self, fmt: str, model_type: str, backbone: str) -> dict[str, Any]:
        return {"in_dataset": self.datasets[fmt], "model_type": model_type, "backbone_model": backbone,
                "max_epochs": 1, "batch_size": 4, "learning_rate": 1e-3, "validation_percentage": 20,
                "out_name": f"{model_type} {time.monotonic()}"}

    def train(self, fmt: str, model_type: str, backbone: str) -> int:
        job = self.app.wait(self.app.job("train_model", self.project, self.train_params(fmt, model_type, backbone)))
        assert job["status"] == "succeeded", job
        return int(job["result"]["model"])


def cases(s: Setup) -> dict[str, Callable[[], int]]:
    """Each starts one job of its kind and returns the job id."""
    app, project = s.app, s.project

    def ingest() -> int:
        with open(s.huge, "rb") as fh:
            raster = app.api.post("/api/rasters/", files={"file": fh}, data={"project": str(project)}).json()
        return int(app.sql("select ingest_job_id from labeling_raster where id = ?", raster["id"])[0][0])

    infer = {"in_raster": s.raster, "arguments": {"batch_size": 4}, "out_name": "faults"}
    return {
        "ingest_raster": ingest,
        "export_training_data": lambda: app.job("export_training_data", project, {
            **s.export_params("PASCAL_VOC_rectangles", 64), "in_rasters": [s.big], "stride_x": 32, "stride_y": 32}),
        "train_model": lambda: app.job("train_model", project,
                                       s.train_params("PASCAL_VOC_rectangles", "FasterRCNN", "mobilenet_v3_large")),
        "detect_objects": lambda: app.job("detect_objects", project, {
            **infer, "arguments": {"batch_size": 4, "threshold": 0.1}, "in_model": s.models["detector"]}),
        "classify_pixels": lambda: app.job("classify_pixels", project, {**infer, "in_model": s.models["pixels"]}),
        "classify_objects": lambda: app.job("classify_objects", project, {
            "in_raster": s.raster, "in_layer": s.labels, "in_model": s.models["classifier"], "arguments": {},
            "out_name": "faults"}),
        "non_max_suppression": lambda: app.job("non_max_suppression", project, {
            "in_layer": s.labels, "max_overlap_ratio": 0.3, "out_name": "faults"}),
    }


def half_results(app: LaunchedApp, job_id: int, models_before: int) -> list[str]:
    """What a failed job left that a user could see or that takes space: rows and files."""
    found = []
    for table, column in (("labeling_dataset", "job_id"), ("labeling_layer", "source_job_id"),
                          ("labeling_raster", "source_job_id")):
        count = app.sql(f"select count(*) from {table} where {column} = ?", job_id)[0][0]  # noqa: S608
        if count:
            found.append(f"{count} {table} row(s)")
    if app.sql("select count(*) from dlmodels_modelpackage")[0][0] != models_before:
        found.append("a model package")
    scratch = app.data_dir / "jobs" / str(job_id)
    deadline = time.monotonic() + 5  # the reaper removes it just after it marks the job failed
    while scratch.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    if scratch.exists():
        found.append(f"jobs/{job_id}/")
    kind = app.sql("select kind, params from jobs_job where id = ?", job_id)[0]
    if kind[0] == "ingest_raster":
        import json

        rid = json.loads(kind[1])["raster"]
        status = app.sql("select status from labeling_raster where id = ?", rid)[0][0]
        cog = app.data_dir / "rasters" / str(rid) / "cog.tif"
        if status != "failed" or cog.exists():
            found.append(f"raster {rid} {status}, COG {'present' if cog.exists() else 'absent'}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--kinds", default="")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    data_dir = Path(tempfile.mkdtemp(prefix="rl-faults-", dir="/tmp"))
    print(f"data: {data_dir}", flush=True)
    try:
        with LaunchedApp(data_dir, RASTERLAB_JOB_STALE_AFTER_SECONDS="6", RASTERLAB_JOB_HEARTBEAT_SECONDS="1") as app:
            setup = Setup(app)
            print("kind | clean run s | kills | failed | retried ok | done before kill | half results", flush=True)
            for kind, start in cases(setup).items():
                if args.kinds and kind not in args.kinds.split(","):
                    continue
                began = time.monotonic()
                clean = app.wait(start())
                window = time.monotonic() - began
                assert clean["status"] == "succeeded", clean
                tally = {"failed": 0, "retried": 0, "early": 0}
                leftovers: list[str] = []
                for _ in range(args.kills):
                    models_before = app.sql("select count(*) from dlmodels_modelpackage")[0][0]
                    job_id = start()
                    app.wait(job_id, done=("running", "succeeded", "failed"), poll=0.1)
                    time.sleep(rng.uniform(0, window * 0.8))
                    horses = app.work_horses()
                    for pid in horses:
                        os.kill(pid, signal.SIGKILL)
                    job = app.wait(job_id, timeout=900)
                    if not horses or job["attempts"] == 1 and job["status"] == "succeeded":
                        tally["early"] += 1
                    elif job["status"] == "succeeded":
                        tally["retried"] += 1
                        models_before += kind == "train_model"
                    else:
                        tally["failed"] += 1
                    if job["status"] != "succeeded":
                        leftovers += [f"job {job_id}: {x}" for x in half_results(app, job_id, models_before)]
                print(f"{kind} | {window:.1f} | {args.kills} | {tally['failed']} | {tally['retried']} | "
                      f"{tally['early']} | {len(leftovers)} {leftovers[:3]}", flush=True)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        (data_dir.parent / f"{data_dir.name}-huge.tif").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
