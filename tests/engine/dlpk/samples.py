"""Builders of emd dicts and .dlpk archives for the dlpk tests.

The arcgis.learn-shaped emds follow esri-dlpk.md §2/§3 (no public real files exist for these
models); the real Esri files live in tests/data/esri/.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

ESRI_DIR = Path(__file__).resolve().parents[2] / "data" / "esri"
REAL_EMDS = sorted(ESRI_DIR.glob("*.emd"))

_CELL = {"x": 0.3, "y": 0.3, "spatialReference": {"wkid": 102100, "latestWkid": 3857}}


def _common(name: str, model_file: str) -> dict[str, Any]:
    return {
        "Framework": "arcgis.learn.models._inferencing",
        "ModelFile": model_file,
        "ModelName": name,
        "ModelFormat": "NCHW",
        "ImageHeight": 512,
        "ImageWidth": 512,
        "ExtractBands": [0, 1, 2],
        "LearningRate": "slice('1.0000e-04', '1.0000e-03', None)",
        "ImageSpaceUsed": "MAP_SPACE",
        "MinCellSize": dict(_CELL),
        "MaxCellSize": dict(_CELL),
        "resize_to": None,
        "IsMultispectral": False,
        "IsImageNetNormalization": True,
        "ArcGISLearnVersion": "2.4.4",
        "backend": "pytorch",
        "monitored_valid_loss": 0.4213,
    }


def maskrcnn_emd(**changes: Any) -> dict[str, Any]:
    emd = {
        **_common("MaskRCNN", "buildings.pth"),
        "ModelConfiguration": "_maskrcnn_inferencing",
        "InferenceFunction": "ArcGISInstanceDetector.py",
        "ModelType": "InstanceDetection",
        "ModelParameters": {"backbone": "resnet50", "backend": "pytorch", "pointrend": False},
        "MaskRCNNkwargs": {},
        "SupportsVariableTileSize": True,
        "average_precision_score": {"Building": 0.7312},
        "Classes": [{"Value": 1, "Name": "Building", "Color": [255, 0, 0]}],
    }
    emd.update(changes)
    return emd


def fasterrcnn_emd(**changes: Any) -> dict[str, Any]:
    emd = {
        **_common("FasterRCNN", "trees.pth"),
        "ModelConfiguration": "_model_extension_inferencing",
        "InferenceFunction": "ArcGISObjectDetector.py",
        "ModelType": "ObjectDetection",
        "ModelConfigurationFile": "ModelConfiguration.py",
        "ModelFileConfigurationClass": "MyFasterRCNN",
        "DatasetType": "PASCAL_VOC_rectangles",
        "Kwargs": {},
        "ModelParameters": {"backbone": "resnet50", "backend": "pytorch"},
        "SupportsVariableTileSize": False,
        "average_precision_score": {"Tree": 0.61, "Palm": "0.55"},
        "Classes": [
            {"Value": 1, "Name": "Tree", "Color": [0, 200, 0]},
            {"Value": 2, "Name": "Palm", "Color": [200, 200, 0]},
        ],
    }
    emd.update(changes)
    return emd


def unet_emd(**changes: Any) -> dict[str, Any]:
    emd = {
        **_common("UnetClassifier", "landcover.pth"),
        "ModelConfiguration": "_unet",
        "InferenceFunction": "ArcGISImageClassifier.py",
        "ModelType": "ImageClassification",
        "ModelParameters": {"backbone": "resnet34", "backend": "pytorch"},
        "ignore_mapped_class": [],
        "SupportsVariableTileSize": True,
        "accuracy": "9.5355e-01",
        "per_class_metrics": json.dumps(
            {"NoData": {"precision": 0.9, "recall": 0.8, "f1": 0.85},
             "Water": {"precision": 0.7, "recall": 0.6, "f1": 0.65}}
        ),
        "Classes": [
            {"Value": 1, "Name": "Water", "Color": [0, 0, 255]},
            {"Value": 2, "Name": "Forest", "Color": [0, 128, 0]},
        ],
    }
    emd.update(changes)
    return emd


def feature_classifier_emd(**changes: Any) -> dict[str, Any]:
    emd = {
        **_common("FeatureClassifier", "damage.pth"),
        "ModelConfiguration": "_FeatureClassifier",
        "InferenceFunction": "ArcGISObjectClassifier.py",
        "ModelType": "ObjectClassification",
        "ModelParameters": {"backbone": "resnet34", "backend": "pytorch"},
        "MetaDataMode": "Labeled_Tiles",
        "CropSizeFixed": 1,
        "BlackenAroundFeature": 0,
        "SupportsVariableTileSize": False,
        "Classes": [
            {"Value": 1, "Name": "Damaged", "Color": [255, 0, 0]},
            {"Value": 2, "Name": "Intact", "Color": [0, 255, 0]},
        ],
    }
    emd.update(changes)
    return emd


def ssd_emd(**changes: Any) -> dict[str, Any]:
    emd = {
        **_common("SingleShotDetector", "cars.pth"),
        "ModelConfiguration": "_DynamicSSD",
        "InferenceFunction": "ArcGISObjectDetector.py",
        "ModelType": "ObjectDetection",
        "ModelParameters": {"backbone": "resnet34", "backend": "pytorch"},
        "backbone": "resnet34",
        "Grids": [4, 2, 1],
        "Zooms": [1.0],
        "Ratios": [[1.0, 1.0]],
        "SSDVersion": 2,
        "SupportsVariableTileSize": False,
        "Classes": [{"Value": 1, "Name": "Car", "Color": [10, 20, 30]}],
    }
    emd.update(changes)
    return emd


def multispectral_emd(**changes: Any) -> dict[str, Any]:
    stats = {
        name: [1.0, 2.0, 3.0, 4.0]
        for name in ("band_min_values", "band_max_values", "band_mean_values",
                     "band_std_values", "scaled_min_values", "scaled_max_values",
                     "scaled_mean_values", "scaled_std_values")
    }
    return unet_emd(
        IsMultispectral=True,
        IsImageNetNormalization=False,
        ExtractBands=[3, 0, 1],
        Bands=["Red", "Green", "Blue", "NearInfrared"],
        ImageryType="ms",
        NormalizationStats=stats,
        DoNormalize=True,
        **changes,
    )


ARCGIS_EMDS = {
    "MaskRCNN": maskrcnn_emd,
    "FasterRCNN": fasterrcnn_emd,
    "UnetClassifier": unet_emd,
    "FeatureClassifier": feature_classifier_emd,
    "SingleShotDetector": ssd_emd,
    "multispectral": multispectral_emd,
}


def make_zip(path: Path, members: dict[str, bytes | str], **zip_kwargs: Any) -> Path:
    """A zip with the given members (str content is UTF-8 encoded), deflated."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, **zip_kwargs) as archive:
        for name, content in members.items():
            data = content.encode() if isinstance(content, str) else content
            archive.writestr(zipfile.ZipInfo(name, (2024, 1, 2, 3, 4, 6)), data,
                             compress_type=zipfile.ZIP_DEFLATED)
    return path


def make_dlpk(path: Path, emd: dict[str, Any] | None = None, name: str = "model",
              extra: dict[str, bytes | str] | None = None) -> Path:
    """A valid-looking package: <name>.emd, the ModelFile it names, a script and a chart."""
    emd = emd if emd is not None else maskrcnn_emd(ModelFile=f"{name}.pth")
    members: dict[str, bytes | str] = {f"{name}.emd": json.dumps(emd, indent=4)}
    model_file = emd.get("ModelFile")
    if isinstance(model_file, str):
        members[model_file.replace(".\\", "")] = b"\x80weights" * 100
    members["ArcGISInstanceDetector.py"] = "raise SystemExit('never imported')\n"
    members["ModelCharacteristics/loss_graph.png"] = b"\x89PNG fake"
    members.update(extra or {})
    return make_zip(path, members)
