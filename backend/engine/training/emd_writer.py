"""The trained model's .emd, in arcgis.learn's shape for its model type (esri-dlpk.md §2, §3).

How ArcGIS runs the package (arcgis.learn's own class, or a ModelExtension whose
ModelConfiguration.py write_dlpk adds) is decided by `backend.engine.dlpk.interchange`.
Every package carries `ModelParameters.rasterlab_arch`.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.engine.dlpk.emd import RASTERLAB_ARCH_KEY, RESIZED_FROM_KEY
from backend.engine.dlpk.interchange import arcgis_fields
from backend.engine.nets.catalog import OBJECT_CLASSIFICATION, PIXEL_CLASSIFICATION, ArchSpec
from backend.engine.nets.normalization import InputScaling

ARCGIS_FRAMEWORK = "arcgis.learn.models._inferencing"
ARCGIS_LEARN_VERSION = "2.4.4"  # the arcgis.learn release whose layouts we reproduce
EXPORT_EMD = "esri_model_definition.emd"

# Distinct colors for classes that come without one (detectors get random ones in arcgis.learn).
_PALETTE = (
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
)


@dataclass(frozen=True)
class ClassInfo:
    value: int
    name: str
    color: tuple[int, int, int] | None


def export_definition(root: Path) -> dict[str, Any]:
    """The export folder's esri_model_definition.emd as raw JSON ({} when absent/unreadable)."""
    path = Path(root) / EXPORT_EMD
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _flag(value: Any) -> int:
    if isinstance(value, str):
        return 1 if value.strip().lower() in ("true", "1", "yes", "fixed_size") else 0
    return 1 if value else 0


def _classes(classes: Sequence[ClassInfo]) -> list[dict[str, Any]]:
    out = []
    for i, c in enumerate(classes):
        color = c.color if c.color is not None and min(c.color) >= 0 else _PALETTE[i % len(_PALETTE)]
        out.append({"Value": int(c.value), "Name": str(c.name), "Color": [int(v) for v in color]})
    return out


def _sci(value: float | None) -> str:
    return f"{(value or 0.0):.4e}"


def _metric_keys(spec: ArchSpec, details: dict[str, Any]) -> dict[str, Any]:
    per_class = details.get("per_class")
    if not per_class:  # trained without a validation set
        return {}
    if spec.family in (PIXEL_CLASSIFICATION, OBJECT_CLASSIFICATION):
        table = {
            name: {k: (v if v is not None else 0.0) for k, v in m.items() if k in ("precision", "recall", "f1")}
            for name, m in per_class.items()
        }
        # arcgis.learn writes no metrics for FeatureClassifier; accuracy is ours, harmless to Pro.
        return {"accuracy": _sci(details.get("accuracy")), "per_class_metrics": json.dumps(table)}
    return {"average_precision_score": {name: m.get("ap50") for name, m in per_class.items()}}


def model_emd(
    *,
    spec: ArchSpec,
    backbone: str,
    out_name: str,
    chip_size: int,
    bands: int,
    classes: Sequence[ClassInfo],
    scaling: InputScaling,
    metadata_format: str,
    learning_rate: float,
    details: dict[str, Any],
    monitored_valid_loss: float | None,
    export: dict[str, Any],
    source_chip_size: int,
) -> dict[str, Any]:
    props = export.get("InputRastersProps")
    arcgis = arcgis_fields(
        arch=spec.name, backbone=backbone, model_type=spec.model_type, bands=bands,
        imagenet=scaling.imagenet, export_band_names=props.get("BandNames") if isinstance(props, dict) else None,
    )
    emd: dict[str, Any] = {
        "Framework": arcgis.pop("Framework"),
        "ModelConfiguration": arcgis.pop("ModelConfiguration"),
        "InferenceFunction": arcgis.pop("InferenceFunction"),
        "ModelType": spec.model_type,
        "ModelFile": f"{out_name}.pth",
        "ModelName": arcgis.pop("ModelName"),
        "ModelFormat": "NCHW",
    }
    if "ArcGISLearnVersion" in arcgis:
        emd["ArcGISLearnVersion"] = arcgis.pop("ArcGISLearnVersion")
    params: dict[str, Any] = {"backbone": backbone, "backend": "pytorch", RASTERLAB_ARCH_KEY: spec.name}
    resized = source_chip_size != chip_size
    if resized:  # inference reads the raster that much coarser, so objects keep their training size
        params[RESIZED_FROM_KEY] = source_chip_size
    if spec.name in ("MaskRCNN", "DeepLab"):
        params["pointrend"] = False
    emd.update(
        {
            "ImageHeight": chip_size,
            "ImageWidth": chip_size,
            "ExtractBands": list(range(bands)),
            "Classes": _classes(classes),
            "ModelParameters": params,
            "LearningRate": f"{learning_rate:.4e}",
            "backend": "pytorch",
            "ImageSpaceUsed": export.get("ImageSpaceUsed") or "MAP_SPACE",
            "MinCellSize": export.get("MinCellSize"),
            "MaxCellSize": export.get("MaxCellSize"),
            "SupportsVariableTileSize": spec.supports_variable_tile_size,
            "resize_to": chip_size if resized else None,
            "IsMultispectral": not (scaling.imagenet and bands == 3),
            "IsImageNetNormalization": scaling.imagenet,
        }
    )
    stats = scaling.normalization_stats()
    if stats is not None:
        emd["NormalizationStats"] = stats
        emd["DoNormalize"] = True
    if spec.name == "MaskRCNN":
        emd["MaskRCNNkwargs"] = {}
    emd.update(arcgis)  # ModelConfigurationFile, DatasetType, Kwargs, Bands, ImageryType
    if spec.family == PIXEL_CLASSIFICATION:
        emd["ignore_mapped_class"] = []
    if spec.family == OBJECT_CLASSIFICATION:
        emd["MetaDataMode"] = "Labeled_Tiles"
        emd["CropSizeFixed"] = _flag(export.get("CropTileMode", "Fixed_Size"))
        emd["BlackenAroundFeature"] = _flag(export.get("BlackenAroundFeature", False))
    emd.update(_metric_keys(spec, details))
    if monitored_valid_loss is not None:
        emd["monitored_valid_loss"] = round(float(monitored_valid_loss), 6)
    return emd
