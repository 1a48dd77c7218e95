"""ONNX vs PyTorch: the same detector package run over the same raster by the same engine.

    nice .venv/bin/python bench/onnx.py [--arch FasterRCNN] [--backbone resnet50] [--chip 256]
        [--threads 2] [--repeat 2] [--raster tests/data/OSBS_029.tif]

Builds a Rasterlab package (random weights, fixed seed; ImageNet scaling), exports it with
engine.runtimes.export (torch.onnx.export, ONNX Runtime on CPU), then runs Detect Objects
(engine.inference.run.detect_objects: padding chip/4, batch 4, threshold 0.05, cross-tile NMS)
with each predictor, best of --repeat runs. Prints the times, the features found, and the largest
difference of scores and box corners between the two packages on random test chips and on the
raster's own detections (features matched by class and nearest box).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
# This file is named onnx.py: keep its folder off the path so `import onnx` finds the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from backend.engine.dlpk.emd import parse_emd  # noqa: E402
from backend.engine.inference.detect import DetectArgs  # noqa: E402
from backend.engine.inference.features import read_features  # noqa: E402
from backend.engine.inference.run import detect_objects  # noqa: E402
from backend.engine.nets import build_model  # noqa: E402
from backend.engine.nets.predictor import load_predictor  # noqa: E402
from backend.engine.runtimes.export import compare_predictors, export_onnx_package, sample_chips  # noqa: E402
from backend.engine.runtimes.loader import load_any_predictor  # noqa: E402


def package(folder: Path, arch: str, backbone: str, chip: int) -> None:
    torch.manual_seed(0)
    model = build_model(arch, backbone, 1, 3, chip, pretrained_backbone=False)
    head = model.roi_heads.box_predictor if hasattr(model, "roi_heads") else None
    if head is not None:  # random heads score every box alike; spread them (as the tests do)
        with torch.no_grad():
            head.cls_score.weight.normal_(0.0, 0.05)
            head.cls_score.bias.normal_(0.0, 1.0)
            head.cls_score.bias[0] -= 3.0
    folder.mkdir(parents=True)
    torch.save(model.state_dict(), folder / "model.pth")
    emd = {"Framework": "PyTorch", "ModelType": "ObjectDetection", "ModelFile": "model.pth", "ModelName": arch,
           "ImageHeight": chip, "ImageWidth": chip, "ExtractBands": [0, 1, 2],
           "Classes": [{"Value": 1, "Name": "Tree", "Color": [0, 200, 0]}],
           "ModelParameters": {"backbone": backbone, "rasterlab_arch": arch}}
    (folder / "model.emd").write_text(json.dumps(emd))


def boxes_of(path: Path) -> tuple[np.ndarray, np.ndarray]:
    feats = list(read_features(path))
    boxes = np.array([f["bbox"] if "bbox" in f else _bbox(f) for f in feats], dtype=np.float64).reshape(-1, 4)
    scores = np.array([f["properties"]["confidence"] for f in feats], dtype=np.float64)
    return boxes, scores


def _bbox(feature: dict) -> list[float]:
    ring = np.array(feature["geometry"]["coordinates"][0], dtype=np.float64)
    return [ring[:, 0].min(), ring[:, 1].min(), ring[:, 0].max(), ring[:, 1].max()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", default="FasterRCNN")
    parser.add_argument("--backbone", default="resnet50")
    parser.add_argument("--chip", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--raster", default=str(ROOT / "tests" / "data" / "OSBS_029.tif"))
    a = parser.parse_args()
    torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        package(root / "torch", a.arch, a.backbone, a.chip)
        emd = parse_emd((root / "torch" / "model.emd").read_text())
        started = time.perf_counter()
        export_onnx_package(root / "torch", emd, root / "onnx", "model")
        export_s = time.perf_counter() - started
        torch_p = load_predictor(root / "torch", emd)
        onnx_p = load_any_predictor(root / "onnx", parse_emd((root / "onnx" / "model.emd").read_text()))
        try:
            onnx_p.session.set_providers(["CPUExecutionProvider"])  # type: ignore[attr-defined]
        except AttributeError:
            pass
        args = DetectArgs(batch_size=4, threshold=0.05)
        times: dict[str, float] = {}
        outs: dict[str, Path] = {}
        for label, predictor in (("pytorch", torch_p), ("onnx", onnx_p)):
            best = float("inf")
            for i in range(a.repeat):
                out = root / f"{label}-{i}.ndjson"
                t0 = time.perf_counter()
                detect_objects(a.raster, predictor, args, out, run_nms=True, max_overlap_ratio=0.3)
                best = min(best, time.perf_counter() - t0)
                outs[label] = out
            times[label] = best
        prob, box = compare_predictors(torch_p, onnx_p, sample_chips(torch_p, 4, seed=3))
        (bt, st), (bo, so) = boxes_of(outs["pytorch"]), boxes_of(outs["onnx"])
        raster_score = raster_box = 0.0
        for i in range(len(bt)):
            if len(bo):
                d = np.abs(bo - bt[i]).max(1)
                j = int(d.argmin())
                raster_box = max(raster_box, float(d[j]))
                raster_score = max(raster_score, abs(float(st[i]) - float(so[j])))
        print(f"{a.arch} {a.backbone} chip {a.chip} on {Path(a.raster).name}, {a.threads} threads, "
              f"best of {a.repeat}; export {export_s:.1f} s")
        print(f"  pytorch: {times['pytorch']:.2f} s, {len(st)} features")
        print(f"  onnx:    {times['onnx']:.2f} s, {len(so)} features "
              f"({times['pytorch'] / times['onnx']:.2f}x the PyTorch speed)")
        print(f"  largest difference on 4 random chips: score {prob:.2e}, box {box:.2e} px")
        print(f"  largest difference over the raster's features: score {raster_score:.2e}, "
              f"box {raster_box:.2e} (map units)")


if __name__ == "__main__":
    main()
