"""Reverse check: packages written by arcgis.learn (make_esri_packages.py) run in Rasterlab.

    .venv/bin/python scripts/arcgis_check/esri_reverse.py OUT_DIR

For each OUT_DIR/esri/<name>/*.dlpk: Rasterlab's safe reader (inspect, extract), model_family
(runnable?), load_predictor, and its outputs on OUT_DIR/esri/<name>.tif held against
arcgis.learn's (OUT_DIR/esri/<name>.npz), with compare.py's tolerances. Then the Esri sample
.emd files in ../shared/formats/samples/ through parse_emd and model_family.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import rasterio
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare import PROB_TOLERANCE, compare_detections  # noqa: E402

from backend.engine.dlpk import extract_dlpk, model_family, parse_emd  # noqa: E402
from backend.engine.nets.predictor import load_predictor  # noqa: E402

SAMPLES = ROOT.parent / "shared" / "formats" / "samples"


def run(package: Path, chip: Path, work: Path) -> dict[str, np.ndarray]:
    folder = work / package.stem
    shutil.rmtree(folder, ignore_errors=True)
    info = extract_dlpk(package, folder)
    family = model_family(info.emd)
    if not family.runnable:
        raise RuntimeError(f"not runnable: {family.reason}")
    predictor = load_predictor(folder, info.emd)
    with rasterio.open(chip) as src:
        batch = predictor.prepare(src.read()[None])
    if predictor.family in ("object_detection", "instance_detection"):
        found = predictor.detect(batch, 0.005, 0.5)[0]
        return {"boxes": found.boxes, "scores": found.scores, "labels": found.labels}
    if predictor.family == "pixel_classification":
        return {"probs": predictor.segment(batch)[0]}
    model = getattr(predictor, "model")
    with torch.inference_mode():
        return {"probs": torch.softmax(model(batch).float(), 1)[0].numpy()}


def main() -> None:
    out = Path(sys.argv[1]).resolve()
    problems = 0
    for package in sorted((out / "esri").glob("*/*.dlpk")):
        name = package.parent.name
        try:
            ours = run(package, out / "esri" / f"{name}.tif", out / "esri" / "rasterlab")
            theirs = dict(np.load(out / "esri" / f"{name}.npz"))
            if "boxes" in theirs:
                ok, text = compare_detections(ours, (theirs["boxes"], theirs["scores"], theirs["labels"]))
            else:
                same_shape = theirs["probs"].shape == ours["probs"].shape
                diff = float(np.abs(theirs["probs"] - ours["probs"]).max()) if same_shape else np.inf
                ok, text = diff <= PROB_TOLERANCE, f"class probabilities: max |diff| {diff:.2g}"
        except Exception as exc:  # noqa: BLE001 - report and go on
            ok, text = False, f"{type(exc).__name__}: {exc}"
        problems += not ok
        print(f"  {'SAME' if ok else 'DIFF'}  {name:<14} {package.stat().st_size / 1e6:6.1f} MB  {text}", flush=True)
    for sample in sorted(SAMPLES.glob("*.emd")):
        try:
            info = model_family(parse_emd(sample.read_bytes()))
            text = f"{'runnable' if info.runnable else 'stored, not runnable'}: {info.reason}"
        except Exception as exc:  # noqa: BLE001
            problems += 1
            text = f"FAIL {type(exc).__name__}: {exc}"
        print(f"  read  {sample.name:<58} {text}")
    print(f"{problems} problem(s)")
    sys.exit(min(problems, 125))


if __name__ == "__main__":
    main()
