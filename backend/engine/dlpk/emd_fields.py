"""Per-key converters between .emd JSON values and the typed fields of `Emd`.

Every converter is tolerant in the ways real files need: placeholder strings written by older
Export Training Data tools ("e.g. 256") read as None, numbers given as strings are read as
numbers. Anything else of the wrong type raises EngineInputError naming the key.
"""
from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from typing import Any, Callable, Final

from backend.engine.dlpk.emd_types import (
    NORMALIZATION_STAT_KEYS,
    CellSize,
    EmdClass,
    NormalizationStats,
    Rgb,
)
from backend.engine.errors import EngineInputError


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
"""Stands for "the key was not in the original emd" when dumping a value."""

Parse = Callable[[Any, str], Any]
Dump = Callable[[Any, Any], Any]

_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


def is_placeholder(raw: Any) -> bool:
    """Template text of older export emds, e.g. "e.g. 256" or "e.g. [0, 1, 2]"."""
    return isinstance(raw, str) and raw.strip().lower().startswith("e.g.")


def _bad(key: str, expected: str, raw: Any) -> EngineInputError:
    shown = repr(raw)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return EngineInputError(f"{key} must be {expected}, got {shown}")


def to_json(value: Any) -> Any:
    """Tuples become lists (recursively); other JSON values are copied."""
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


# --- scalars ---------------------------------------------------------------------------------


def parse_text(raw: Any, key: str) -> str | None:
    if raw is None or is_placeholder(raw):
        return None
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return str(raw)
    raise _bad(key, "a string", raw)


def parse_int(raw: Any, key: str) -> int | None:
    if raw is None or is_placeholder(raw):
        return None
    if isinstance(raw, bool):
        raise _bad(key, "a whole number", raw)
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str):
        text = raw.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if number.is_integer():
                return int(number)
    raise _bad(key, "a whole number", raw)


def parse_float(raw: Any, key: str) -> float | None:
    if raw is None or is_placeholder(raw):
        return None
    if isinstance(raw, bool):
        raise _bad(key, "a number", raw)
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str):
        try:
            return float(raw.strip())
        except ValueError:
            pass
    raise _bad(key, "a number", raw)


def parse_flag(raw: Any, key: str) -> bool | None:
    if raw is None or is_placeholder(raw):
        return None
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    raise _bad(key, "true/false (or 1/0)", raw)


def dump_flag(value: bool, raw: Any) -> Any:
    # Esri writes CropSizeFixed/BlackenAroundFeature as 1/0: keep whichever form the file used.
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return int(value)
    return bool(value)


def dump_plain(value: Any, raw: Any) -> Any:  # noqa: ARG001
    return to_json(value)


# --- containers ------------------------------------------------------------------------------


def parse_json(raw: Any, key: str) -> Any:  # noqa: ARG001
    """Any JSON value kept as-is (copied); placeholders read as None."""
    return None if is_placeholder(raw) else copy.deepcopy(raw)


def parse_dict(raw: Any, key: str) -> dict[str, Any] | None:
    if raw is None or is_placeholder(raw):
        return None
    if isinstance(raw, dict):
        return copy.deepcopy(raw)
    raise _bad(key, "an object", raw)


def parse_model_parameters(raw: Any, key: str) -> dict[str, Any]:
    return parse_dict(raw, key) or {}


def parse_model_configuration(raw: Any, key: str) -> str | dict[str, Any] | None:
    if isinstance(raw, dict):
        return copy.deepcopy(raw)
    return parse_text(raw, key)


def _maybe_json_list(raw: Any, key: str, expected: str) -> list[Any] | None:
    if raw is None or is_placeholder(raw):
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise _bad(key, expected, raw) from None
    if not isinstance(raw, list):
        raise _bad(key, expected, raw)
    return raw


def parse_bands(raw: Any, key: str) -> tuple[int | str, ...] | None:
    """ExtractBands: 0-based band indices, or band names (allowed by the Esri docs)."""
    items = _maybe_json_list(raw, key, "a list of band indices or band names")
    if items is None:
        return None
    bands: list[int | str] = []
    for item in items:
        if isinstance(item, str) and not item.strip().lstrip("-").isdigit():
            bands.append(item)
        else:
            number = parse_int(item, key)
            if number is None:
                raise _bad(key, "a list of band indices or band names", raw)
            bands.append(number)
    return tuple(bands)


def parse_int_list(raw: Any, key: str) -> tuple[int, ...] | None:
    items = _maybe_json_list(raw, key, "a list of whole numbers")
    if items is None:
        return None
    out = tuple(parse_int(v, key) for v in items)
    if any(v is None for v in out):
        raise _bad(key, "a list of whole numbers", raw)
    return tuple(v for v in out if v is not None)


def parse_resize_to(raw: Any, key: str) -> int | tuple[int, int] | None:
    if isinstance(raw, list):
        pair = parse_int_list(raw, key)
        if pair is None or len(pair) != 2:
            raise _bad(key, "null, a whole number or [height, width]", raw)
        return (pair[0], pair[1])
    return parse_int(raw, key)


def parse_data_range(raw: Any, key: str) -> tuple[float, float] | None:
    items = _maybe_json_list(raw, key, "[min, max]")
    if items is None:
        return None
    values = [parse_float(v, key) for v in items]
    if len(values) != 2 or values[0] is None or values[1] is None:
        raise _bad(key, "[min, max]", raw)
    return (values[0], values[1])


# --- structured values -----------------------------------------------------------------------


def parse_cell_size(raw: Any, key: str) -> CellSize | None:
    """`{"x":..,"y":..,"spatialReference":{"wkid":..,"latestWkid":..}}`, or one number."""
    if raw is None or is_placeholder(raw):
        return None
    if isinstance(raw, int | float | str) and not isinstance(raw, bool):
        size = parse_float(raw, key)
        return None if size is None else CellSize(x=size, y=size)
    if not isinstance(raw, dict):
        raise _bad(key, 'an object {"x", "y", "spatialReference"}', raw)
    x = parse_float(raw.get("x"), f"{key}.x")
    y = parse_float(raw.get("y"), f"{key}.y")
    if x is None or y is None:
        raise _bad(key, 'an object with numbers "x" and "y"', raw)
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
    items = _maybe_json_list(raw, key, "a list of numbers")
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
    return f"{value:.4e}" if isinstance(raw, str | _Missing) else value


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
            raise _bad(key, "a JSON object (or a string holding one)", raw) from None
    return parse_dict(raw, key)


def dump_per_class_metrics(value: dict[str, Any], raw: Any) -> Any:
    return json.dumps(value) if isinstance(raw, str | _Missing) else value


# --- classes ---------------------------------------------------------------------------------

_CLASS_KEYS = frozenset({"Value", "Name", "Color", "ClassValue", "ClassName"})


def parse_color(raw: Any, key: str) -> Rgb | None:
    if raw is None or is_placeholder(raw):
        return None
    if not isinstance(raw, list) or len(raw) < 3:
        raise _bad(key, "[red, green, blue]", raw)
    rgb = [parse_int(v, key) for v in raw[:3]]
    if any(v is None for v in rgb):
        raise _bad(key, "[red, green, blue]", raw)
    r, g, b = (int(v) for v in rgb if v is not None)
    if (r, g, b) == (-1, -1, -1):  # the export tool's "unknown color"
        return None
    if not all(0 <= v <= 255 for v in (r, g, b)):
        raise _bad(key, "[red, green, blue] with values 0..255", raw)
    return (r, g, b)


def parse_class(raw: Any, key: str) -> EmdClass:
    if not isinstance(raw, dict):
        raise _bad(key, 'an object {"Value", "Name", "Color"}', raw)
    value_raw = raw["Value"] if "Value" in raw else raw.get("ClassValue")
    value = parse_int(value_raw, f"{key}.Value")
    if value is None:
        raise EngineInputError(f"{key} needs a whole-number Value (or ClassValue)")
    name_raw = raw["Name"] if "Name" in raw else raw.get("ClassName")
    name = parse_text(name_raw, f"{key}.Name")
    return EmdClass(
        value=value,
        name=str(value) if name is None else name,
        color=parse_color(raw.get("Color"), f"{key}.Color"),
        extras={k: copy.deepcopy(v) for k, v in raw.items() if k not in _CLASS_KEYS},
    )


def parse_classes(raw: Any, key: str) -> tuple[EmdClass, ...]:
    if raw is None or is_placeholder(raw):
        return ()
    if not isinstance(raw, list):
        raise _bad(key, "a list of classes", raw)
    return tuple(parse_class(item, f"{key}[{i}]") for i, item in enumerate(raw))


def class_key_style(raw: Any) -> str:
    """"ClassValue" when the first class uses ClassValue/ClassName keys, else "Value"."""
    if isinstance(raw, list) and raw and isinstance(raw[0], dict):
        if "ClassValue" in raw[0] and "Value" not in raw[0]:
            return "ClassValue"
    return "Value"


def dump_class(cls: EmdClass, style: str, raw: Any) -> dict[str, Any]:
    """One class in the file's key style; the original object when nothing changed."""
    if isinstance(raw, dict):
        try:
            if parse_class(raw, "Classes") == cls:
                return copy.deepcopy(raw)
        except EngineInputError:
            pass
    value_key, name_key = ("ClassValue", "ClassName") if style == "ClassValue" else ("Value", "Name")
    out: dict[str, Any] = {value_key: cls.value, name_key: cls.name}
    if cls.color is not None:
        out["Color"] = list(cls.color)
    elif not isinstance(raw, dict) or "Color" in raw:
        # arcgis.learn reads Color for every class; [-1,-1,-1] is the export tool's "unknown".
        out["Color"] = [-1, -1, -1]
    out.update(to_json(cls.extras))
    return out


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
