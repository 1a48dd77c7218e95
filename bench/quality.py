"""Quality benchmark: train on YELL_crop2 through train(), score AP50 on a held-out strip.

    .venv/bin/python bench/quality.py [--minutes 15] [--variants pretrained,random]
        [--backbone efficientnet_lite0] [--threads 0] [--seed 42] [--data ../shared/data]

Fixed split: the bottom STRIP_SHARE of YELL_crop2.tif (every row below STRIP_TOP) is never seen
in training. The rest is written as its own GeoTIFF, exported with the real export engine as
PASCAL VOC 256 px chips, stride 192 (what a user exports), and trained by the same `train()`
the train_model job calls, with the Train panel's defaults (learning rate from the LR test,
the architecture's recipe) inside a wall-time budget. The resulting package is loaded like any
package and run over the strip with Detect Objects (threshold 0.05, in-chip NMS 0.1 as the tool's
default, then NMS across chips; in brackets the same with NMS 0.5, which leaves a neighbouring
box that may fit a crown better); AP50 is scored
against the strip's hand-drawn crowns (clipped to the strip; crowns mostly outside it are left
out). One line per variant: pretrained start (the registry-installable ImageNet weights) and
random start. "first"/"best" are the validation mAP50 of epoch 1 and of the kept epoch.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
from rasterio.windows import Window
from shapely.geometry import shape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.engine.chips import ClassDef, ExportParams, LabelFeature, RasterSource  # noqa: E402
from backend.engine.chips import export_training_data, read_training_folder  # noqa: E402
from backend.engine.dlpk.emd import parse_emd  # noqa: E402
from backend.engine.inference.detect import DetectArgs  # noqa: E402
from backend.engine.inference.features import read_features  # noqa: E402
from backend.engine.inference.run import detect_objects  # noqa: E402
from backend.engine.metrics.detection import TrueObjects, detection_scores  # noqa: E402
from backend.engine.nets.predictor import load_predictor  # noqa: E402
from backend.engine.training import EpochReport, TrainConfig, train  # noqa: E402
from backend.engine.training.data import split_indices  # noqa: E402

OUT = ROOT / "bench" / "out" / "quality"
STRIP_SHARE = 0.2
CHIP, STRIDE = 256, 192


class Pred:
    def __init__(self, boxes: np.ndarray, scores: np.ndarray) -> None:
        self.boxes, self.scores = boxes, scores
        self.labels = np.ones(len(scores), dtype=np.int64)
        self.masks = None


def split(data: Path) -> tuple[Path, Path, int]:
    """Write train.tif (top) and strip.tif (bottom) once; returns their paths and STRIP_TOP."""
    OUT.mkdir(parents=True, exist_ok=True)
    with rasterio.open(data / "YELL_crop2.tif") as src:
        top = int(round(src.height * (1 - STRIP_SHARE)))
        for name, window in (("train", Window(0, 0, src.width, top)), ("strip", Window(0, top, src.width, src.height - top))):
            path = OUT / f"{name}.tif"
            if path.is_file():
                continue
            profile = src.profile | {"height": window.height, "width": window.width,
                                     "transform": src.window_transform(window), "tiled": False}
            profile.pop("blockxsize", None)
            profile.pop("blockysize", None)
            with rasterio.open(path, "w", **profile) as dst:
                dst.write(src.read(window=window))
    return OUT / "train.tif", OUT / "strip.tif", top


def export(data: Path, train_tif: Path) -> Any:
    folder = OUT / "export"
    if not (folder / "esri_model_definition.emd").is_file() and not (folder / "map.txt").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        gj = json.loads((data / "YELL_crop2.4326.geojson").read_text())
        features = [LabelFeature(i, shape(f["geometry"]), 1) for i, f in enumerate(gj["features"])]
        params = ExportParams("PASCAL_VOC_rectangles", CHIP, CHIP, STRIDE, STRIDE)
        export_training_data([RasterSource(train_tif, 1)], features, [ClassDef(1, "Tree", (0, 160, 0))], params, folder)
    return read_training_folder(folder)


def strip_truth(data: Path, top: int, height: int) -> TrueObjects:
    gj = json.loads((data / "YELL_crop2.geojson").read_text())
    boxes = []
    for f in gj["features"]:
        p = f["properties"]
        x0, y0, x1, y1 = p["xmin"], p["ymin"] - top, p["xmax"], p["ymax"] - top
        cy0, cy1 = max(y0, 0.0), min(y1, float(height))
        if cy1 - cy0 >= 0.5 * (y1 - y0):  # most of the crown is in the strip
            boxes.append((x0, cy0, x1, cy1))
    arr = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return TrueObjects(arr, np.ones(len(arr), dtype=np.int64), None)


def score_strip(model_dir: Path, strip: Path, truth: TrueObjects, nms: float = 0.1) -> tuple[float, int]:
    """AP50 of Detect Objects over the strip at in-chip NMS `nms` (0.1: the tool's default)."""
    emd_path = next(model_dir.glob("*.emd"))
    predictor = load_predictor(model_dir, parse_emd(emd_path.read_bytes()))
    out = model_dir.parent / f"strip-nms{nms}.ndjson"
    detect_objects(strip, predictor, DetectArgs(threshold=0.05, nms_overlap=nms), out, run_nms=True,
                   max_overlap_ratio=max(nms, 0.3))
    with rasterio.open(strip) as src:
        inverse = ~src.transform
    boxes, scores = [], []
    for feature in read_features(out):
        x0, y0, x1, y1 = feature["bbox_native"]
        (ax, ay), (bx, by) = inverse * (x0, y0), inverse * (x1, y1)
        boxes.append((min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)))
        scores.append(float(feature["properties"]["confidence"]))
    conf = np.asarray(scores, dtype=np.float64)
    pred = Pred(np.asarray(boxes, dtype=np.float64).reshape(-1, 4), conf)
    result = detection_scores([pred], [truth], 1)
    return float(result.per_class[1].ap50 or 0.0), len(boxes)


def run_variant(name: str, folder: Any, args: argparse.Namespace, strip: Path, truth: TrueObjects) -> str:
    out = OUT / f"run-{name}{args.tag}"
    shutil.rmtree(out, ignore_errors=True)
    reports: list[EpochReport] = []
    config = TrainConfig(
        model_type="FasterRCNN", backbone=args.backbone, out_name=name, max_epochs=args.max_epochs,
        batch_size=args.batch_size, learning_rate=args.lr, time_budget_s=args.minutes * 60,
        pretrained_backbone=name != "random",
        stop_training=not args.no_early_stop, seed=args.seed,
        # everything else: the Train panel's defaults
    )
    started = time.monotonic()
    cpu = time.process_time()
    load_before = os.getloadavg()[0]
    messages: list[str] = []
    threads = torch.get_num_threads()
    clock = (lambda: time.process_time() / threads) if args.clock == "cpu" else time.monotonic

    def on_epoch(r: EpochReport) -> None:
        reports.append(r)
        print(f"  [{name}] epoch {r.epoch}: train {r.train_loss:.3f} valid {r.valid_loss} {r.metrics} "
              f"lr {r.lr:.1e} {r.seconds:.0f}s {' '.join(r.events)}", flush=True)

    result = train(config, folder, out, on_epoch=on_epoch, clock=clock,
                   progress=lambda d, t, m: messages.append(m) if m and not m.startswith(("epoch", "finding")) else None)
    minutes = (time.monotonic() - started) / 60
    cpu_share = (time.process_time() - cpu) / 60 / minutes
    train_images = len(split_indices(len(folder.samples), config.validation_percentage, config.seed)[0])
    train_s = sum(r.seconds for r in reports)
    ap50, count = score_strip(result.model_dir or out / name, strip, truth)
    ap50_loose, _ = score_strip(result.model_dir or out / name, strip, truth, nms=0.5)
    first = reports[0].metrics.get("mAP50", 0.0)
    best = next(r for r in reports if r.epoch == result.best_epoch).metrics.get("mAP50", 0.0)
    events = sum(len(r.events) for r in reports)
    for m in messages[:3]:
        print(f"  [{name}] {m}")
    return (f"{name:10s} {args.backbone:18s} AP50(strip) {ap50:.3f} (NMS 0.5: {ap50_loose:.3f})  epochs {len(reports):3d} (best {result.best_epoch})  "
            f"valid mAP50 first {first:.3f} best {best:.3f}  minutes {minutes:5.1f}  "
            f"images/s {train_images * len(reports) / max(train_s, 1e-9):5.2f}  lr {result.lr:.1e}  "
            f"rollbacks {events}  detections {count}  cpu-cores-used {cpu_share:.2f}  load {load_before:.1f}->{os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=15.0, help="wall-time budget per variant")
    parser.add_argument("--variants", default="pretrained,random")
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-epochs", type=int, default=200)
    parser.add_argument("--lr", type=float, default=None, help="default: the LR test, as in the Train panel")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--no-early-stop", action="store_true", help="train the whole budget (stop_training=False)")
    parser.add_argument("--seed", type=int, default=TrainConfig.seed,
                        help="validation split and augmentation; average over seeds to tell small gains from noise")
    parser.add_argument("--tag", default="", help="suffix of the run folders (concurrent runs)")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="budget clock: wall time, or CPU time / threads (what an idle machine "
                             "would take; for a machine shared with other work)")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    train_tif, strip, top = split(args.data)
    with rasterio.open(strip) as src:
        truth = strip_truth(args.data, top, src.height)
    folder = export(args.data, train_tif)
    print(f"YELL_crop2: {len(folder.samples)} training chips of {CHIP} px (stride {STRIDE}) above row {top}; "
          f"held-out strip rows {top}.. with {len(truth.boxes)} crowns; budget {args.minutes} min ({args.clock} clock) per variant; "
          f"{torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs")
    for name in args.variants.split(","):
        print(run_variant(name, folder, args, strip, truth), flush=True)


if __name__ == "__main__":
    main()
