"""Packages written by Esri's arcgis.learn, for the reverse check (Rasterlab runs them).

Runs inside the arcgis-check venv, on the exports make_outputs.py wrote:

    $ARCGIS_CHECK_VENV/bin/python scripts/arcgis_check/make_esri_packages.py OUT_DIR

For FasterRCNN, MaskRCNN, UnetClassifier and FeatureClassifier (3-band, and a 4-band
UnetClassifier): prepare_data on the export, the arcgis.learn model (untrained: ImageNet
backbones cannot be downloaded here, so torchvision's untrained networks stand in), save() to
OUT_DIR/esri/<name>/<name>.dlpk, and arcgis.learn's outputs on the first chip of the export in
OUT_DIR/esri/<name>.npz (fed as compare.py feeds them). Rasterlab's side: esri_reverse.py.
Our own code; imports only numpy, rasterio, torch and arcgis.learn.
"""
import contextlib
import io
import json
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import detections, offline_backbones, probabilities  # noqa: E402

MODELS = (  # name, class, export, backbone
    ("esri_frcnn", "FasterRCNN", "voc", "resnet50"),
    ("esri_maskrcnn", "MaskRCNN", "masks", "resnet50"),
    ("esri_unet", "UnetClassifier", "classified_soap", "resnet34"),
    ("esri_unet_ms", "UnetClassifier", "classified_ms", "resnet18"),
    ("esri_featcls", "FeatureClassifier", "labeled_soap", "resnet18"),
)


def randomise_batchnorm(net):
    import torch

    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d) and module.running_mean is not None:
                module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
                module.running_var.copy_(1 + torch.rand(module.num_features, generator=generator))


def main():
    out = Path(sys.argv[1]).resolve()
    only = sys.argv[2:]
    import torch

    with contextlib.redirect_stdout(io.StringIO()):
        import arcgis.learn as L
        import rasterio
    offline_backbones()
    (out / "esri").mkdir(exist_ok=True)
    for name, cls, export, backbone in MODELS:
        if only and name not in only:
            continue
        folder = out / "exports" / export
        torch.manual_seed(0)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            data = L.prepare_data(str(folder), batch_size=2, chip_size=128 if "labeled" not in export else 64,
                                  val_split_pct=0.2, working_dir=str(out / "esri" / "work"))
            model = getattr(L, cls)(data, backbone=backbone)
            randomise_batchnorm(model.learn.model)
            target = out / "esri" / name
            shutil.rmtree(target, ignore_errors=True)
            model.save(str(target), publish=False, compute_metrics=False, save_inference_file=False)
        package = next(target.glob("*.dlpk"))
        emd = json.loads(next(target.glob("*.emd")).read_text())
        image = sorted((folder / "images").glob("*.tif"))[0]
        shutil.copyfile(image, out / "esri" / f"{name}.tif")
        with rasterio.open(image) as src:
            x = src.read().astype(np.float32)[None]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            loaded = getattr(L, cls).from_model(str(next(target.glob("*.emd"))), data=None)
        if emd["ModelType"] in ("ObjectDetection", "InstanceDetection"):
            boxes, scores, labels = detections(loaded, emd, x, int(emd["ImageHeight"]))
            np.savez(out / "esri" / f"{name}.npz", boxes=boxes, scores=scores, labels=labels)
        else:
            np.savez(out / "esri" / f"{name}.npz", probs=probabilities(loaded, emd, x))
        print(f"{name:<14} {cls:<18} {package.stat().st_size / 1e6:6.1f} MB  {package}", flush=True)


if __name__ == "__main__":
    main()
