"""Run each package with Esri's arcgis.learn and hold its outputs against Rasterlab's.

Runs inside the arcgis-check venv (ARCGIS_CHECK_VENV, see scripts/arcgis_check/run):

    $ARCGIS_CHECK_VENV/bin/python scripts/arcgis_check/compare.py OUT_DIR

For every OUT_DIR/packages/<name>.dlpk: `arcgis.learn.<ModelName>.from_model`, then the chip
OUT_DIR/chips/<name>.tif fed the way arcgis.learn's inference does it (ImageNet or
NormalizationStats normalisation, then the model configuration's transform_input for
ModelExtension models; x/255 or min-max scaling for MaskRCNN), and the network's outputs set
beside Rasterlab's (OUT_DIR/rasterlab/<name>.npz from make_outputs.py): detections matched box
for box (largest coordinate and score difference), class probabilities (largest difference).
One line per package; the exit code is the number of packages that differ or fail. First,
4-band COCO exports are read with imagery_type="ms" (see coco_multispectral).
This file is ours and imports only numpy, rasterio, torch and arcgis.learn.
"""
import contextlib
import io
import json
import sys
import tempfile
import traceback
import warnings
import zipfile
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")
BOX_TOLERANCE = 0.01  # pixels
PROB_TOLERANCE = 1e-4
THRESHOLD, NMS = 0.005, 0.5  # what make_outputs.py asks Rasterlab's predictor for


def offline_backbones():
    """No network here: where arcgis.learn downloads ImageNet (or COCO) weights to build a model,
    save torchvision's untrained network under that name; the package's weights load over it."""
    import os
    import tempfile

    import torch
    import torch.hub
    import torchvision

    os.environ["TORCH_HOME"] = tempfile.mkdtemp(prefix="arcgis-compare-torch-")

    def download(url, dst, *args, **kwargs):
        arch = Path(url).name.split("-")[0].removesuffix("_coco")
        if hasattr(torchvision.models.detection, arch):  # a whole detector
            net = getattr(torchvision.models.detection, arch)(weights=None, weights_backbone=None)
        else:
            net = getattr(torchvision.models, arch)(weights=None)
        torch.save(net.state_dict(), dst)

    torch.hub.download_url_to_file = download


def normalized(x, emd):
    """The block as arcgis.learn's raster functions hand it to the model configuration."""
    from arcgis.learn.models._inferencing.util import normalize_batch

    if "NormalizationStats" in emd:
        return normalize_batch(x, emd).astype(np.float32)
    mean = 255 * np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 3, 1, 1)
    std = 255 * np.array([0.229, 0.224, 0.225], np.float32).reshape(1, 3, 1, 1)
    return ((x - mean) / std).astype(np.float32)


def detections(model, emd, x, chip):
    import torch

    name = emd["ModelName"]
    net = model.learn.model.eval()
    if name == "MaskRCNN":
        from arcgis.learn.models._inferencing.util import scale_batch

        unit = scale_batch(x, emd) if "NormalizationStats" in emd else x / 255.0
        net.roi_heads.score_thresh, net.roi_heads.nms_thresh = THRESHOLD, NMS
        with torch.no_grad():
            out = net(list(torch.tensor(unit, dtype=torch.float32)))[0]
        keep = out["scores"] >= THRESHOLD
        return out["boxes"][keep].numpy(), out["scores"][keep].numpy(), out["labels"][keep].numpy()
    conf = model._model_conf
    xin = torch.tensor(normalized(x, emd))
    if "NormalizationStats" in emd:
        xin = conf.transform_input_multispectral(xin, thresh=THRESHOLD, nms_overlap=NMS)
    else:
        xin = conf.transform_input(xin, thresh=THRESHOLD, nms_overlap=NMS)
    with torch.no_grad():
        pred = net(xin)
    boxes, labels, scores = conf.post_process(pred, NMS, THRESHOLD, chip, "cpu")[0]
    boxes = ((boxes.numpy() + 1) / 2 * chip)[:, [1, 0, 3, 2]]  # -1..1 y1x1y2x2 -> pixels xyxy
    keep = scores.numpy() >= THRESHOLD
    return boxes[keep], scores.numpy()[keep], labels.numpy()[keep]


def probabilities(model, emd, x):
    import torch

    net = model.learn.model.eval()
    xin = torch.tensor(normalized(x, emd))
    if getattr(model, "_is_model_extension", False):
        conf = model._model_conf
        xin = conf.transform_input_multispectral(xin) if "NormalizationStats" in emd else conf.transform_input(xin)
    with torch.no_grad():
        out = net(xin)
    out = out["out"] if isinstance(out, dict) else out
    if out.ndim == 4 and out.shape[-2:] != xin.shape[-2:]:
        out = torch.nn.functional.interpolate(out, size=xin.shape[-2:], mode="bilinear", align_corners=False)
    return torch.softmax(out.float(), 1)[0].numpy()


def compare_detections(ours, theirs):
    boxes, scores, labels = theirs
    note = ""
    if len(boxes) == 100 < len(ours["boxes"]):  # arcgis.learn's FasterRCNN keeps torchvision's 100
        top = np.argsort(-ours["scores"], kind="stable")[:100]
        ours = {k: v[top] for k, v in ours.items()}
        note = " (Rasterlab's 100 best: arcgis.learn keeps 100 per chip, Rasterlab 300)"
    if len(boxes) != len(ours["boxes"]):
        return False, f"{len(ours['boxes'])} detections in Rasterlab, {len(boxes)} in arcgis.learn"
    if not len(boxes):
        return True, "0 detections in both"
    # Untrained networks give many near-equal scores: match each box to its nearest twin.
    distance = np.abs(ours["boxes"][:, None, :] - boxes[None, :, :]).max(-1)
    distance[ours["labels"][:, None] != labels[None, :]] = np.inf
    twin = distance.argmin(1)
    box_diff = float(distance[np.arange(len(twin)), twin].max())
    score_diff = float(np.abs(ours["scores"] - scores[twin]).max())
    same_labels = len(set(twin.tolist())) == len(twin) and np.isfinite(box_diff)
    ok = box_diff <= BOX_TOLERANCE and score_diff <= PROB_TOLERANCE and same_labels
    return ok, (f"{len(boxes)} detections; max |box diff| {box_diff:.2g} px, max |score diff| "
                f"{score_diff:.2g}, labels {'equal' if same_labels else 'DIFFER'}, one to one{note}")


def pro_classify_pixels(emd_path, emd, chip_path):
    """Pro's Classify Pixels path through arcgis.learn's ArcGISImageClassifier template, with
    the pixelType that Pro puts in `props` (the shared check tool passes props={}, which every
    arcgis.learn pixel classifier, Esri's own packages included, fails on)."""
    import types

    import rasterio
    from arcgis.learn.models import _codetemplate as templates

    name = "ArcGISImageClassifier"
    standins = str(Path(sys.prefix) / "arcgis-check-standins")  # the tool's arcpy stand-in
    if standins not in sys.path:
        sys.path.insert(0, standins)
    src = next(v for v in vars(templates).values() if isinstance(v, str) and f"class {name}:" in v)
    module = types.ModuleType(name)
    exec(compile(src, f"<{name}.py>", "exec"), module.__dict__)  # noqa: S102 - Esri's template, in its venv
    prf = getattr(module, name)()
    prf.initialize(model=str(emd_path), device=-1)
    params = prf.getParameterInfo()
    scalars = {p["name"]: str(p["value"]) for p in params
               if p.get("value") is not None and p["name"] not in ("raster", "model", "device")}
    conf = prf.getConfiguration(**scalars)
    pad = conf.get("padding", 0)
    h, w = conf["ty"] + 2 * pad, conf["tx"] + 2 * pad
    with rasterio.open(chip_path) as src_:
        a = src_.read()
    block = np.zeros((a.shape[0], h, w), a.dtype)
    block[:, : min(h, a.shape[1]), : min(w, a.shape[2])] = a[:, :h, :w]
    info = {"bandCount": 1, "pixelType": "u1", "statistics": (), "histogram": ()}
    prf.updateRasterInfo(output_info=info)
    out = prf.updatePixels((0, 0), (h, w), {"pixelType": info["pixelType"]}, raster_pixels=block,
                           raster_mask=np.ones_like(block))["output_pixels"]
    return f"Pro's {name} template (props with pixelType) -> {out.shape} values {np.unique(out)[:6].tolist()}"


def coco_multispectral(out, L):
    """4-band COCO exports through prepare_data with imagery_type="ms", the one argument
    arcgis.learn 2.4.4 asks for. Nothing in the folder can replace it: prepare_data infers the
    imagery type only from Esri files (esri_model_definition.emd + esri_accumulated_stats.json +
    map.txt), and with those present it takes dataset_type from MetaDataMode and never reads
    labels.json, so a COCO folder must go without them ("Could not infer Imagery Type")."""
    failures = 0
    for folder in sorted((out / "exports").iterdir()):
        labels = folder / "labels.json"
        stats = folder / "esri_accumulated_stats.json"
        if not labels.exists() or not stats.exists() or json.loads(stats.read_text()).get("NumBands", 3) == 3:
            continue
        try:
            with tempfile.TemporaryDirectory() as work, contextlib.redirect_stdout(io.StringIO()), \
                    contextlib.redirect_stderr(io.StringIO()):
                data = L.prepare_data(str(folder), dataset_type="COCO_rectangles", imagery_type="ms",
                                      batch_size=2, chip_size=128, val_split_pct=0.2, working_dir=work)
                xb, _ = next(iter(data.train_dl))
            ok, text = True, f"classes={list(data.classes)} batch x={tuple(xb.shape)}"
        except Exception as exc:  # noqa: BLE001 - report and go on
            ok, text = False, f"{type(exc).__name__}: {exc}"
        failures += not ok
        print(f"  {'OK  ' if ok else 'FAIL'}  {folder.name:<14} prepare_data(imagery_type='ms') {text}", flush=True)
    return failures


def main():
    out = Path(sys.argv[1]).resolve()
    with contextlib.redirect_stdout(io.StringIO()):
        import arcgis.learn as L
        import rasterio
    offline_backbones()
    failures = coco_multispectral(out, L)
    for package in sorted((out / "packages").glob("*.dlpk")):
        name = package.stem
        with tempfile.TemporaryDirectory() as tmp:
            try:
                zipfile.ZipFile(package).extractall(tmp)
                emd_path = next(Path(tmp).glob("*.emd"))
                emd = json.loads(emd_path.read_text())
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    model = getattr(L, emd["ModelName"]).from_model(str(emd_path), data=None)
                with rasterio.open(out / "chips" / f"{name}.tif") as src:
                    x = src.read().astype(np.float32)[None]
                ours = dict(np.load(out / "rasterlab" / f"{name}.npz"))
                if "boxes" in ours:
                    ok, text = compare_detections(ours, detections(model, emd, x, int(emd["ImageHeight"])))
                else:
                    theirs = probabilities(model, emd, x)
                    diff = float(np.abs(theirs - ours["probs"]).max()) if theirs.shape == ours["probs"].shape else np.inf
                    ok = diff <= PROB_TOLERANCE
                    text = f"class probabilities {tuple(theirs.shape)}: max |diff| {diff:.2g}"
                    if emd.get("InferenceFunction", "").endswith("\\ArcGISImageClassifier.py"):
                        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                            text += "; " + pro_classify_pixels(emd_path, emd, out / "chips" / f"{name}.tif")
            except Exception as exc:  # noqa: BLE001 - report and go on with the next package
                ok, text = False, f"{type(exc).__name__}: {exc}"
                if "-v" in sys.argv:
                    traceback.print_exc()
        failures += not ok
        print(f"  {'SAME' if ok else 'DIFF'}  {name:<14} {emd.get('ModelName', '?'):<18} {text}", flush=True)
    print(f"{failures} package(s) or 4-band COCO folder(s) failed")
    sys.exit(min(failures, 125))


if __name__ == "__main__":
    main()
