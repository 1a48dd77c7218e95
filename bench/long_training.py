"""A training job of about N minutes on the default install (`make run`'s launcher: SQLite, private
Redis, forking workers with a 60 s stale timeout): does it finish, and do short jobs still run?

Imports the 574 tree crowns of YELL_crop2 (../shared/data), exports PASCAL VOC chips, times one
epoch of FasterRCNN, then trains for as many epochs as fit in --minutes. While it trains, an ingest
is started every few minutes and its wait is measured. Prints the training's wall time, epochs,
status and the ingests' queue waits.

Usage: .venv/bin/python bench/long_training.py [--minutes 20]
"""
from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._launched import ROOT, LaunchedApp  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
SMALL = ROOT / "tests" / "data" / "OSBS_029.tif"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=20)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="rl-long-", dir="/tmp"))
    try:
        with LaunchedApp(data_dir) as app:
            api = app.api
            project = api.post("/api/projects/", json={"name": "Long", "classes": [
                {"value": 1, "name": "Tree", "color": [255, 200, 0]}]}).json()["id"]
            with open(SHARED / "YELL_crop2.tif", "rb") as fh:
                raster = api.post("/api/rasters/", files={"file": fh}, data={"project": str(project)}).json()["id"]
            while api.get(f"/api/rasters/{raster}/").json()["status"] == "processing":
                time.sleep(1)
            layer = next(x["id"] for x in api.get(f"/api/layers/?project={project}").json()["results"])
            with open(SHARED / "YELL_crop2.4326.geojson", "rb") as fh:
                api.post(f"/api/layers/{layer}/import/", files={"file": fh}, data={"class_field": "label"})
            export = app.wait(app.job("export_training_data", project, {
                "in_rasters": [raster], "in_layer": layer, "metadata_format": "PASCAL_VOC_rectangles",
                "tile_size_x": 256, "tile_size_y": 256, "stride_x": 192, "stride_y": 192, "out_name": "YELL"}))
            dataset = export["result"]["dataset"]
            params = {"in_dataset": dataset, "model_type": "FasterRCNN", "backbone_model": "mobilenet_v3_large",
                      "batch_size": 4, "learning_rate": 1e-3, "validation_percentage": 10, "stop_training": False}
            began = time.monotonic()
            one = app.wait(app.job("train_model", project, {**params, "max_epochs": 1, "out_name": "calibrate"}))
            epoch_s = time.monotonic() - began
            epochs = max(2, math.ceil(args.minutes * 60 / epoch_s))
            print(f"one epoch: {epoch_s:.0f} s ({one['status']}); training {epochs} epochs", flush=True)
            began = time.monotonic()
            job_id = app.job("train_model", project, {**params, "max_epochs": epochs, "out_name": "long"})
            waits = []
            while (job := api.get(f"/api/jobs/{job_id}/").json())["status"] in ("queued", "running"):
                asked = time.monotonic()
                with open(SMALL, "rb") as fh:
                    rid = api.post("/api/rasters/", files={"file": fh}, data={"project": str(project)}).json()["id"]
                while api.get(f"/api/rasters/{rid}/").json()["status"] == "processing":
                    time.sleep(0.5)
                waits.append(time.monotonic() - asked)
                time.sleep(180)
            took = time.monotonic() - began
            history = (job.get("result") or {}).get("history") or []
            print(f"training: {job['status']} after {took / 60:.1f} min, {len(history)} of {epochs} epochs "
                  f"{job.get('error') or ''}")
            print(f"ingests during training: {len(waits)}, done within {max(waits or [0]):.1f} s "
                  f"(median {sorted(waits)[len(waits) // 2] if waits else 0:.1f} s)")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
