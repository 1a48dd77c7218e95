"""The trained model's .emd follows arcgis.learn's shape per model type (esri-dlpk.md §2-3)."""
from __future__ import annotations

import json
from typing import Any

import pytest

from backend.engine.dlpk.emd import parse_emd
from backend.engine.dlpk.families import model_family
from backend.engine.nets import arch_spec
from backend.engine.nets.normalization import IMAGENET, scaling_from_band_stats
from backend.engine.training.emd_writer import ClassInfo, model_emd

CLASSES = [ClassInfo(1, "Dead", (200, 120, 0)), ClassInfo(2, "Alive", None)]
DETECTION = {"per_class": {"Dead": {"ap50": 0.5}, "Alive": {"ap50": 0.25}}}
PIXELS = {
    "accuracy": 0.9,
    "per_class": {name: {"precision": 0.8, "recall": 0.7, "f1": 0.75, "iou": 0.6} for name in ("NoData", "Dead", "Alive")},
}


def _emd(model: str, backbone: str, details: dict[str, Any], scaling: Any = IMAGENET, bands: int = 3) -> dict[str, Any]:
    return model_emd(
        spec=arch_spec(model), backbone=backbone, out_name="m", chip_size=256, bands=bands,
        classes=CLASSES, scaling=scaling, metadata_format="PASCAL_VOC_rectangles", learning_rate=2e-4,
        details=details, monitored_valid_loss=0.123456789,
        export={"ImageSpaceUsed": "MAP_SPACE", "MinCellSize": None, "MaxCellSize": None}, source_chip_size=256,
    )


@pytest.mark.parametrize(
    ("model", "backbone", "configuration"),
    [("FasterRCNN", "resnet50", "_model_extension_inferencing"), ("MaskRCNN", "resnet50", "_maskrcnn_inferencing")],
)
def test_arcgis_native_detectors(model: str, backbone: str, configuration: str) -> None:
    emd = _emd(model, backbone, DETECTION)
    assert emd["Framework"] == "arcgis.learn.models._inferencing"
    assert emd["ModelConfiguration"] == configuration
    assert emd["ModelName"] == model and emd["ArcGISLearnVersion"] == "2.4.4"
    assert emd["ModelFile"] == "m.pth" and emd["ModelFormat"] == "NCHW"
    assert emd["average_precision_score"] == {"Dead": 0.5, "Alive": 0.25}
    assert emd["Classes"][0] == {"Value": 1, "Name": "Dead", "Color": [200, 120, 0]}
    assert len(emd["Classes"][1]["Color"]) == 3  # a color is made up for classes without one
    assert emd["LearningRate"] == "2.0000e-04" and emd["monitored_valid_loss"] == pytest.approx(0.123457)
    assert emd["InferenceFunction"].endswith("ArcGISInstanceDetector.py" if model == "MaskRCNN" else "ArcGISObjectDetector.py")
    if model == "FasterRCNN":
        assert emd["DatasetType"] == "PASCAL_VOC_rectangles" and emd["Kwargs"] == {}
    else:
        assert emd["MaskRCNNkwargs"] == {} and emd["SupportsVariableTileSize"] is True
    parsed = parse_emd(json.dumps(emd))
    info = model_family(parsed)
    assert info.runnable, info.reason


def test_networks_arcgis_learn_lacks_are_model_extensions() -> None:
    """ArcGIS runs them through ModelExtension with our ModelConfiguration.py (issue 15)."""
    emd = _emd("FasterRCNN", "mobilenet_v3_large", DETECTION)
    assert emd["Framework"] == "arcgis.learn.models._inferencing"
    assert emd["ModelConfiguration"] == "_model_extension_inferencing"
    assert emd["ModelName"] == "ModelExtension" and emd["ModelParameters"]["rasterlab_arch"] == "FasterRCNN"
    assert emd["ModelConfigurationFile"] == "ModelConfiguration.py"
    assert emd["ModelFileConfigurationClass"] == "RasterlabModelConfiguration"
    info = model_family(parse_emd(emd))
    assert info.runnable and info.architecture == "FasterRCNN"


def test_pixel_classifier_metrics_and_multispectral_stats() -> None:
    scaling = scaling_from_band_stats([0, 0, 0, 0], [255, 255, 255, 1000], [100, 100, 100, 500], [10, 10, 10, 100], False)
    emd = _emd("UnetClassifier", "resnet34", PIXELS, scaling, bands=4)
    assert emd["accuracy"] == "9.0000e-01"
    table = json.loads(emd["per_class_metrics"])
    assert list(table) == ["NoData", "Dead", "Alive"] and table["Dead"] == {"precision": 0.8, "recall": 0.7, "f1": 0.75}
    assert emd["IsMultispectral"] is True and emd["IsImageNetNormalization"] is False
    stats = emd["NormalizationStats"]
    assert stats["band_max_values"] == [255.0, 255.0, 255.0, 1000.0]
    assert stats["scaled_mean_values"][3] == pytest.approx(0.5) and stats["scaled_std_values"][3] == pytest.approx(0.1)
    assert emd["ExtractBands"] == [0, 1, 2, 3] and emd["ignore_mapped_class"] == []
    parsed = parse_emd(emd)
    assert parsed.normalization_stats is not None and parsed.accuracy == pytest.approx(0.9)


def test_feature_classifier_keys() -> None:
    emd = _emd("FeatureClassifier", "resnet34", {**PIXELS, "per_class": {"Dead": PIXELS["per_class"]["Dead"], "Alive": PIXELS["per_class"]["Alive"]}})
    assert emd["ModelConfiguration"] == "_FeatureClassifier" and emd["MetaDataMode"] == "Labeled_Tiles"
    assert emd["CropSizeFixed"] == 1 and emd["BlackenAroundFeature"] == 0
    assert list(json.loads(emd["per_class_metrics"])) == ["Dead", "Alive"]  # no background


def test_no_validation_means_no_metric_keys() -> None:
    emd = _emd("UnetClassifier", "resnet34", {})
    assert "accuracy" not in emd and "per_class_metrics" not in emd
