"""The table that maps .emd keys to `Emd` fields, and converters for structured values
(cell sizes, normalization statistics, metrics). Scalars: `emd_values`; classes: `emd_classes`.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from backend.engine.dlpk.emd_classes import parse_classes
from backend.engine.dlpk.emd_types import NORMALIZATION_STAT_KEYS, CellSize, NormalizationStats
from backend.engine.dlpk.emd_values import (
    MISSING,
    Dump,
    Missing,
    Parse,
    bad,
    dump_flag,
    dump_plain,
    is_placeholder,
    maybe_json_list,
    parse_bands,
    parse_data_range,
    parse_dict,
    parse_flag,
    parse_float,
    parse_int,
    parse_int_list,
    parse_json,
    parse_model_configuration,
    parse_model_parameters,
    parse_resize_to,
    parse_text,
    to_json,
)

__all__ = ["FIELDS", "FIELDS_BY_KEY", "MISSING", "FieldSpec"]

# --- structured values -----------------------------------------------------------------------


def parse_cell_size(raw: Any, key: str) -> CellSize | None:
    """`{"x":..,"y":..,"spatialReference":{"wkid":..,"latestWkid":..}}`, or one number."""
    if raw is None or is_placeholder(raw):
        return None
    if isinstance(raw, int | float | str) and not isinstance(raw, bool):
        size = parse_float(raw, key)
        return None if size is None else CellSize(x=size, y=size)
    if not isinstance(raw, dict):
        raise bad(key, 'an object {"x", "y", "spatialReference"}', raw)
    x = parse_float(raw.get("x"), f"{key}.x")
    y = parse_float(raw.get("y"), f"{key}.y")
    if x is None or y is None:
        raise bad(key, 'an object with numbers "x" and "y"', raw)
    srs = raw.get("spatialReference")
    srs = srs if isinstance(srs, dict) else {}
    return CellSize(
        x=x,
        y=y,
        wkid=parse_int(srs.get("wkid"), f"{key}.spatialReference.wkid"),
        latest_wkid=parse_int(srs.get("latestWkid"), f"{key}.spatialReference.latestWkid"),
    )


def dump_cell_size(value: CellSize, raw: Any) -> Any:  # noqa: ARG001
    out: dict[str, Any] = {"x": value.x, "y": value.y}
    if value.wkid is not None or value.latest_wkid is not None:
        srs: dict[str, Any] = {}
        if value.wkid is not None:
            srs["wkid"] = value.wkid
        if value.latest_wkid is not None:
            srs["latestWkid"] = value.latest_wkid
        out["spatialReference"] = srs
    return out


def _float_list(raw: Any, key: str) -> tuple[float, ...] | None:
    items = maybe_json_list(raw, key, "a list of numbers")
    if items is None:
        return None
    values = [parse_float(v, key) for v in items]
    return tuple(math.nan if v is None else v for v in values)


def parse_normalization_stats(raw: Any, key: str) -> NormalizationStats | None:
    data = parse_dict(raw, key)
    if data is None:
        return None
    lists = {name: _float_list(data.get(name), f"{key}.{name}") for name in NORMALIZATION_STAT_KEYS}
    extras = {k: v for k, v in data.items() if k not in NORMALIZATION_STAT_KEYS}
    return NormalizationStats(**lists, extras=extras)


def dump_normalization_stats(value: NormalizationStats, raw: Any) -> Any:  # noqa: ARG001
    out: dict[str, Any] = {}
    for name in NORMALIZATION_STAT_KEYS:
        values = getattr(value, name)
        if values is not None:
            out[name] = list(values)
    out.update(to_json(value.extras))
    return out


def parse_accuracy(raw: Any, key: str) -> float | None:
    return parse_float(raw, key)


def dump_accuracy(value: float, raw: Any) -> Any:
    # arcgis.learn writes the accuracy as a string such as "9.5355e-01".
    return f"{value:.4e}" if isinstance(raw, str | Missing) else value


def parse_average_precision(raw: Any, key: str) -> dict[str, float | None] | None:
    data = parse_dict(raw, key)
    if data is None:
        return None
    return {str(name): parse_float(ap, f"{key}.{name}") for name, ap in data.items()}


def parse_per_class_metrics(raw: Any, key: str) -> dict[str, Any] | None:
    """arcgis.learn stores this table as a JSON *string*; a plain object is accepted too."""
    if isinstance(raw, str) and not is_placeholder(raw):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise bad(key, "a JSON object (or a string holding one)", raw) from None
    return parse_dict(raw, key)


def dump_per_class_metrics(value: dict[str, Any], raw: Any) -> Any:
    return json.dumps(value) if isinstance(raw, str | Missing) else value


# --- the table -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    attr: str
    key: str
    parse: Parse
    dump: Dump = dump_plain


# Canonical order, used for keys that the original file did not have.
FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("framework", "Framework", parse_text),
    FieldSpec("model_configuration", "ModelConfiguration", parse_model_configuration),
    FieldSpec("model_type", "ModelType", parse_text),
    FieldSpec("inference_function", "InferenceFunction", parse_text),
    FieldSpec("model_file", "ModelFile", parse_text),
    FieldSpec("model_name", "ModelName", parse_text),
    FieldSpec("model_format", "ModelFormat", parse_text),
    FieldSpec("arcgis_learn_version", "ArcGISLearnVersion", parse_text),
    FieldSpec("image_height", "ImageHeight", parse_int),
    FieldSpec("image_width", "ImageWidth", parse_int),
    FieldSpec("extract_bands", "ExtractBands", parse_bands),
    FieldSpec("data_range", "DataRange", parse_data_range),
    FieldSpec("classes", "Classes", parse_classes),  # dumped by emd.py (key style)
    FieldSpec("model_parameters", "ModelParameters", parse_model_parameters),
    FieldSpec("backbone", "backbone", parse_text),
    FieldSpec("backend", "backend", parse_text),
    FieldSpec("learning_rate", "LearningRate", parse_text),
    FieldSpec("image_space_used", "ImageSpaceUsed", parse_text),
    FieldSpec("min_cell_size", "MinCellSize", parse_cell_size, dump_cell_size),
    FieldSpec("max_cell_size", "MaxCellSize", parse_cell_size, dump_cell_size),
    FieldSpec("supports_variable_tile_size", "SupportsVariableTileSize", parse_flag, dump_flag),
    FieldSpec("resize_to", "resize_to", parse_resize_to),
    FieldSpec("is_multispectral", "IsMultispectral", parse_flag, dump_flag),
    FieldSpec("is_imagenet_normalization", "IsImageNetNormalization", parse_flag, dump_flag),
    FieldSpec("bands", "Bands", parse_json),
    FieldSpec("imagery_type", "ImageryType", parse_text),
    FieldSpec(
        "normalization_stats",
        "NormalizationStats",
        parse_normalization_stats,
        dump_normalization_stats,
    ),
    FieldSpec("do_normalize", "DoNormalize", parse_flag, dump_flag),
    FieldSpec("preprocessing", "Preprocessing", parse_text),
    FieldSpec("meta_data_mode", "MetaDataMode", parse_text),
    FieldSpec("crop_size_fixed", "CropSizeFixed", parse_flag, dump_flag),
    FieldSpec("blacken_around_feature", "BlackenAroundFeature", parse_flag, dump_flag),
    FieldSpec("exp_map", "ExpMap", parse_flag, dump_flag),
    FieldSpec("ignore_mapped_class", "ignore_mapped_class", parse_int_list),
    FieldSpec("grids", "Grids", parse_json),
    FieldSpec("zooms", "Zooms", parse_json),
    FieldSpec("ratios", "Ratios", parse_json),
    FieldSpec("ssd_version", "SSDVersion", parse_int),
    FieldSpec("model_configuration_file", "ModelConfigurationFile", parse_text),
    FieldSpec("model_file_configuration_class", "ModelFileConfigurationClass", parse_text),
    FieldSpec("dataset_type", "DatasetType", parse_text),
    FieldSpec("kwargs", "Kwargs", parse_dict),
    FieldSpec("maskrcnn_kwargs", "MaskRCNNkwargs", parse_dict),
    FieldSpec("batch_size", "BatchSize", parse_int),
    FieldSpec("model_padding", "ModelPadding", parse_int),
    FieldSpec("padding", "Padding", parse_int),
    FieldSpec("threshold", "Threshold", parse_float),
    FieldSpec("test_time_augmentation", "test_time_augmentation", parse_flag, dump_flag),
    FieldSpec("tta_scales", "tta_scales", parse_text),
    FieldSpec("argument_defaults", "ArgumentDefaults", parse_dict),
    FieldSpec("accuracy", "accuracy", parse_accuracy, dump_accuracy),
    FieldSpec("average_precision_score", "average_precision_score", parse_average_precision),
    FieldSpec(
        "per_class_metrics", "per_class_metrics", parse_per_class_metrics, dump_per_class_metrics
    ),
    FieldSpec("version", "Version", parse_text),
    FieldSpec("model_version", "ModelVersion", parse_text),
    FieldSpec("description", "Description", parse_text),
)

FIELDS_BY_KEY: dict[str, FieldSpec] = {spec.key: spec for spec in FIELDS}
