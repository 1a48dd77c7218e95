"""Write fresh Rasterlab exports and packages for scripts/arcgis_check/run (Esri's arcgis.learn).

    .venv/bin/python scripts/arcgis_check/make_outputs.py OUT_DIR [--only NAME ...]

OUT_DIR/exports/<name>/   every export format, 3-band (OSBS, SOAP) and 4-band (rgbn.tif)
OUT_DIR/packages/<name>.dlpk   every model type Rasterlab writes, 3-band and 4-band, with the
    same emd and package code as training (emd_writer.model_emd, write_package); weights are
    the untrained networks with a fixed seed (enough to compare outputs, not to detect trees)
OUT_DIR/chips/<name>.tif  the chip each package is compared on
OUT_DIR/rasterlab/<name>.npz  Rasterlab's own outputs on that chip (see compare.py)
"""
from __future__ import annotations

import argparse
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import rasterio
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from backend.engine.chips import ClassDef, ExportParams, RasterSource, export_training_data, read_chip  # noqa: E402
from backend.engine.chips.reader import read_training_folder  # noqa: E402
from backend.engine.dlpk import extract_dlpk  # noqa: E402
from backend.engine.nets import arch_spec, build_model  # noqa: E402
from backend.engine.nets.predictor import load_predictor  # noqa: E402
from backend.engine.training import emd_writer  # noqa: E402
from backend.engine.training.package import write_package  # noqa: E402
from backend.engine.training.setup import folder_scaling  # noqa: E402
from tests.engine.chips.helpers import (  # noqa: E402
    OSBS, RGBN, SOAP, SOAP_CLASSES, TREE, box_feature, osbs_features, soap_features,
)

FORMATS = ("PASCAL_VOC_rectangles", "KITTI_rectangles", "RCNN_Masks", "Classified_Tiles",
           "Labeled_Tiles", "COCO")
SHORT = {"PASCAL_VOC_rectangles": "voc", "KITTI_rectangles": "kitti", "RCNN_Masks": "masks",
         "Classified_Tiles": "classified", "Labeled_Tiles": "labeled", "COCO": "coco"}
# (package name, model type, backbone); each also written 4-band as <name>_ms.
MODELS = (
    ("frcnn", "FasterRCNN", "resnet50"),
    ("frcnn_mnv3", "FasterRCNN", "mobilenet_v3_large"),
    ("frcnn_lite0", "FasterRCNN", "efficientnet_lite0"),
    ("retinanet", "RetinaNet", "resnet50"),
    ("ssd", "SingleShotDetector", "mobilenet_v3_large"),
    ("maskrcnn", "MaskRCNN", "resnet50"),
    ("unet", "UnetClassifier", "resnet34"),
    ("deeplab", "DeepLab", "resnet50"),
    ("featcls", "FeatureClassifier", "resnet18"),
)
FORMAT_OF = {"ObjectDetection": "PASCAL_VOC_rectangles", "InstanceDetection": "RCNN_Masks",
             "ImageClassification": "Classified_Tiles", "ObjectClassification": "Labeled_Tiles"}


RGBN_CLASSES = (ClassDef(1, "Tree", (0, 200, 0)), ClassDef(2, "Field", (200, 200, 0)))


def rgbn_features() -> list:  # type: ignore[type-arg]
    """Boxes of two classes drawn on the 4-band raster (it comes without labels)."""
    boxes = [(40 + 60 * (i % 7), 30 + 70 * (i // 7), 70 + 60 * (i % 7), 62 + 70 * (i // 7))
             for i in range(35)]
    return [box_feature(RGBN, box, class_value=1 + i % 2, feature_id=f"b{i}") for i, box in enumerate(boxes)]


def export(out: Path, fmt: str, raster: Path, labels: list, classes: tuple) -> Path:  # type: ignore[type-arg]
    shutil.rmtree(out, ignore_errors=True)
    tile = 64 if fmt == "Labeled_Tiles" else 128
    params = ExportParams(fmt, tile_size_x=tile, tile_size_y=tile, stride_x=tile // 2,
                          stride_y=tile // 2)
    export_training_data([RasterSource(raster, 1)], labels, classes, params, out)
    return out


def write_exports(root: Path) -> dict[str, Path]:
    made = {}
    for fmt in FORMATS:
        made[SHORT[fmt]] = export(root / SHORT[fmt], fmt, OSBS, osbs_features(), TREE)
        made[f"{SHORT[fmt]}_soap"] = export(root / f"{SHORT[fmt]}_soap", fmt, SOAP,
                                            soap_features(), SOAP_CLASSES)
        made[f"{SHORT[fmt]}_ms"] = export(root / f"{SHORT[fmt]}_ms", fmt, RGBN, rgbn_features(), RGBN_CLASSES)
    return made


def write_package_for(name: str, model_type: str, backbone: str, folder_path: Path,
                      out: Path) -> Path:
    spec = arch_spec(model_type)
    folder = read_training_folder(folder_path)
    scaling = folder_scaling(folder)
    chip = max(folder.chip_size)
    torch.manual_seed(0)
    mean, std = scaling.detector_mean_std()
    model = build_model(spec.name, backbone, len(folder.classes), folder.band_count, chip,
                        image_mean=mean, image_std=std, pretrained_backbone=False).eval()
    _randomise_batchnorm(model)
    export_emd = emd_writer.export_definition(folder.root)
    emd = emd_writer.model_emd(
        spec=spec, backbone=backbone, out_name=name, chip_size=chip, bands=folder.band_count,
        classes=[emd_writer.ClassInfo(c.value, c.name, c.color) for c in folder.classes],
        scaling=scaling, metadata_format=folder.metadata_format, learning_rate=1e-3, details={},
        monitored_valid_loss=None, export=export_emd, source_chip_size=chip,
    )
    model_dir = out / "work" / name
    shutil.rmtree(model_dir, ignore_errors=True)
    (model_dir / "ModelCharacteristics").mkdir(parents=True)
    package = write_package(model_dir, name, model, emd, [], [], spec.family,
                            [c.name for c in folder.classes], [c.color for c in folder.classes])
    target = out / f"{name}.dlpk"
    shutil.copyfile(package, target)
    return target


def _randomise_batchnorm(model: torch.nn.Module) -> None:
    """Untrained BatchNorm statistics are 0/1; give them values so a layout mix-up shows."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d) and module.running_mean is not None:
                module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
                assert module.running_var is not None
                module.running_var.copy_(1 + torch.rand(module.num_features, generator=generator))


def rasterlab_outputs(package: Path, chip: Path, work: Path) -> dict[str, np.ndarray]:
    """Rasterlab's predictor on the chip: what compare.py holds arcgis.learn's outputs against."""
    folder = work / f"x-{package.stem}"
    shutil.rmtree(folder, ignore_errors=True)
    info = extract_dlpk(package, folder)
    predictor = load_predictor(folder, info.emd)
    with rasterio.open(chip) as src:
        data = src.read()[None]
    batch = predictor.prepare(data)
    if predictor.family in ("object_detection", "instance_detection"):
        det = predictor.detect(batch, 0.005, 0.5)[0]  # low: untrained networks score low
        return {"boxes": det.boxes, "scores": det.scores, "labels": det.labels}
    if predictor.family == "pixel_classification":
        return {"probs": predictor.segment(batch)[0]}
    assert hasattr(predictor, "model")
    with torch.inference_mode():
        probs = torch.softmax(predictor.model(batch).float(), 1)[0].numpy()
    return {"probs": probs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--only", nargs="*", help="package names (default: all)")
    args = parser.parse_args()
    out = args.out.resolve()
    exports = write_exports(out / "exports")
    (out / "packages").mkdir(parents=True, exist_ok=True)
    (out / "chips").mkdir(exist_ok=True)
    (out / "rasterlab").mkdir(exist_ok=True)
    for base, model_type, backbone in MODELS:
        for suffix in ("", "_ms"):
            name = base + suffix
            if args.only and name not in args.only:
                continue
            fmt = SHORT[FORMAT_OF[arch_spec(model_type).model_type]]
            folder = exports[fmt + (suffix or "_soap")]  # two classes, so probabilities tell
            package = write_package_for(name, model_type, backbone, folder, out / "packages")
            sample = read_training_folder(folder).samples[0]
            chip = out / "chips" / f"{name}.tif"
            with rasterio.open(sample.image_path) as src:
                profile = src.profile
            with rasterio.open(chip, "w", **{**profile, "driver": "GTiff"}) as dst:
                dst.write(read_chip(sample))
            np.savez(out / "rasterlab" / f"{name}.npz", **rasterlab_outputs(package, chip, out / "work"))
            with zipfile.ZipFile(package) as archive:
                print(f"{name:<14} {package.stat().st_size / 1e6:7.1f} MB  {', '.join(archive.namelist())}")


if __name__ == "__main__":
    main()
